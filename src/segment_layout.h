/*
 * src/segment_layout.h: the segment allocator's metadata layout, shared by src/segment.c and the
 * unit test that damages chosen fields to prove carve_segment_check notices (o1heap's mirror,
 * but the real thing). Not installed.
 *
 * The caller's metadata: [carve_segment handle | seg_head heads[n] | pad to 64 | masks[n][64]].
 * The heads (24 bytes each) are packed together, so the list walks and the status changes stay
 * in a few cache lines (256 blocks: 6 KiB); a block's masks are a separate 512-byte, line-aligned
 * array. 24 + 512 = 536 bytes per block, as the seed says.
 */
#ifndef CARVE_SEGMENT_LAYOUT_H
#define CARVE_SEGMENT_LAYOUT_H

#include "carve/segment.h"

#include <stdatomic.h>
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
_Static_assert(SEG_BLOCK_META <= 536, "seed 004: per-block metadata is at most 536 bytes");

/*
 * The handle, at the start of the caller's metadata. No pointers (masks_at is an offset), so the
 * metadata can be copied or mapped elsewhere as a whole (elsewhere, the masks may lose their
 * line alignment, never their 8-byte alignment). Trap: recip[d] = ceil(2^32 / d) makes
 * (x * recip[d]) >> 32 == x / d exactly for every x < 2^20 and d <= 64 (the error is below
 * x / 2^32 < 1/64 <= the gap to the next integer), and offsets inside a block are < 4096.
 */
struct carve_segment {
    uint32_t begin, end, block_size, max_size, flags;
    uint32_t block_count, last_length;
    uint32_t block_shift;             /* log2(block_size) when a power of two, else 0 */
    uint32_t free_head;
    uint32_t masks_at;                /* byte offset of masks[0] from the handle */
    uint32_t partial_head[65];        /* by size; [0] unused */
    atomic_uint lock;                 /* CARVE_SEGMENT_THREADSAFE only */
    uint64_t recip[65];
    uint64_t live_cells, peak_cells, allocs, frees, failed;
    seg_head heads[];
};

/* The 64 masks of block i. */
static inline uint64_t *seg_masks(const carve_segment *s, uint32_t i)
{
    return (uint64_t *)((char *)(uintptr_t)s + s->masks_at) + (size_t)i * SEG_GROUPS;
}

#endif /* CARVE_SEGMENT_LAYOUT_H */
