/*
 * src/segment_layout.h: the segment allocator's metadata layout, shared by src/segment.c and the
 * unit test that damages chosen fields to prove carve_segment_check notices (o1heap's mirror,
 * but the real thing). Not installed.
 *
 * The caller's metadata: [carve_segment handle (its last member nil_head) | seg_head heads[n] |
 * pad to 64 | masks[n][64]]. The heads (24 bytes each) are packed together, so the list walks and
 * the status changes stay in a few cache lines (256 blocks: 6 KiB); a block's masks are a separate
 * 512-byte, line-aligned array, its words rotated (seg_mask). 24 + 512 = 536 bytes per block, as
 * the seed says.
 */
#ifndef CARVE_SEGMENT_LAYOUT_H
#define CARVE_SEGMENT_LAYOUT_H

#include "carve/segment.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SEG_NIL UINT32_MAX    /* the end of a list of block indices */
#define SEG_GROUPS 64         /* at most 4096 / 1 segments, 64 per group */

enum { SEG_FREE = 0, SEG_PARTIAL = 1, SEG_FULL = 2 };

/*
 * One block's head, 24 bytes:
 *   group_mask  bit g set: group g is real and has a free segment. 0 <=> full (or free).
 *   prev, next  block indices in the free list or the partial list of `size`; SEG_NIL ends.
 *               Trap: a full block's links are stale: it is in no list.
 *   size        the run size served, 0 while free.  segments  floor(length / size), 0 while free.
 *   used        live segments.  status  SEG_FREE / SEG_PARTIAL / SEG_FULL.
 * Its masks (seg_masks): 64 words, 1 = segment used. Trap: bits of the last group past the last
 * segment are SET while the block is sized, so they never look free; masks of groups past the
 * last are 0 and never read (their group_mask bit is 0). A block that becomes free clears its
 * last group, so a free block's masks are all 0.
 */
typedef struct seg_head {
    uint64_t group_mask;
    uint32_t prev, next;
    uint16_t size, segments, used;
    uint8_t status;
} seg_head;

#define SEG_BLOCK_META (sizeof(seg_head) + SEG_GROUPS * sizeof(uint64_t))
_Static_assert(SEG_BLOCK_META == 536, "seed 004: per-block metadata is 536 bytes");

/* Per Size: the head of its partial list and the reciprocal free() divides by (see below). */
typedef struct seg_size {
    uint32_t partial_head;
    uint32_t recip;
} seg_size;

/*
 * The handle, at the start of the caller's metadata. No pointers (masks_at is an offset), so the
 * metadata can be copied or mapped elsewhere as a whole (elsewhere, the masks may lose their
 * line alignment, never their 8-byte alignment). Its first 64 bytes hold every scalar that the
 * fast paths of alloc and free read or write; by_size[Size] holds the rest. nil_head, its last
 * member, is heads[-1] (seg_link).
 * Traps (both exact divisions, tested): by_size[d].recip = ceil(2^18 / d) gives
 * (x * recip) >> 18 == x / d for every x < 4096 and d <= 64 (the rounding error is below
 * x / 2^18 < 1/64 <= the gap to the next integer); offsets inside a block are < 4096 and the
 * product stays below 2^30. block_recip = ceil(2^32 / q) with q = block_size / 64 gives
 * ((offset / 64) * block_recip) >> 32 == offset / block_size for every 32-bit offset (offset / 64
 * < 2^26, error below 2^26 / 2^32 = 1/64 <= 1/q).
 */
struct carve_segment {
    uint32_t flags, max_size, begin, total;   /* total = end - begin */
    uint32_t block_size, masks_at;            /* masks_at: byte offset of masks[0] from the handle */
    uint64_t block_recip;
    uint64_t live_cells, peak_cells, allocs, frees;   /* the first line ends here */
    uint64_t failed;
    uint32_t free_head;
    atomic_uint lock;                         /* CARVE_SEGMENT_THREADSAFE only */
    uint32_t end, block_count, last_length;
    seg_size by_size[65];                     /* [0] unused */
    seg_head nil_head;                        /* heads[-1]: where seg_link(s, SEG_NIL) points */
    seg_head heads[];
};

_Static_assert(offsetof(carve_segment, heads) - offsetof(carve_segment, nil_head) == sizeof(seg_head),
               "nil_head is heads[-1]");
_Static_assert(offsetof(carve_segment, frees) + sizeof(uint64_t) == 64, "the fast paths' scalars fill one line");

#define SEG_RECIP_SHIFT 18

/* offset / block_size, for any 32-bit offset (the trap above). */
static inline uint32_t seg_block_of(const carve_segment *s, uint32_t offset)
{
    return (uint32_t)(((uint64_t)(offset >> 6) * s->block_recip) >> 32);
}

/* inside / size, for inside < 4096 and size in 1..64 (the trap above). */
static inline uint32_t seg_index_of(const carve_segment *s, uint32_t inside, uint32_t size)
{
    return (inside * s->by_size[size].recip) >> SEG_RECIP_SHIFT;
}

/* The head of block i, or nil_head for i == SEG_NIL: SEG_NIL read as a signed index is -1. The
 * fast paths store through it without testing for SEG_NIL (a store to nil_head is dropped on the
 * floor: nothing reads it). */
static inline seg_head *seg_link(const carve_segment *s, uint32_t i)
{
    return (seg_head *)((uintptr_t)s->heads + (uintptr_t)(intptr_t)(int32_t)i * sizeof(seg_head));
}

/* The 64 masks of block i (all of them, in some order: for memset). */
static inline uint64_t *seg_masks(const carve_segment *s, uint32_t i)
{
    return (uint64_t *)((char *)(uintptr_t)s + s->masks_at) + (size_t)i * SEG_GROUPS;
}

/* The mask of group g of block i. Trap: the words of a block are rotated by a whole number of
 * lines that depends on the block: group g is at word (g ^ 8 * ((i / 8) % 8)). Without it, every
 * block's group 0 (the only group of a block serving 64 / 8 = 8 cells or more) sits at the same
 * offset of a 512-byte array, so all of them fall into 8 of the 64 sets of a 32 or 48 KiB L1. */
static inline uint64_t *seg_mask(const carve_segment *s, uint32_t i, unsigned g)
{
    return seg_masks(s, i) + (g ^ (i & 0x38u));
}

#endif /* CARVE_SEGMENT_LAYOUT_H */
