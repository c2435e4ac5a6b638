/*
 * carve/heap.h: the region heap (seeds 000, 001, 002).
 *
 * A heap over memory the caller owns. It never calls the OS: when nothing fits it asks the
 * optional grow callback. Six placement policies (carve_fit) and five free-list orders
 * (carve_order). See docs/heap.md for the layout drawing and the measured figures.
 *
 * Block layout (what `carve sim` and the lab may rely on). G = cfg->align (default 16):
 * - Every block starts with an 8-byte header; the payload starts 8 bytes after the block start,
 *   at a G-aligned address. Block sizes are multiples of G.
 * - A request for n bytes needs a block of S(n) = max(min_block, round_up(n + 8, G)) bytes,
 *   where min_block = round_up(32, G) (header, two list links, footer): n = 0 gives min_block.
 *   carve_heap_usable_size is then the block size minus 8.
 * - Placement: the policy chooses a free block of at least S(n) (see carve_fit, carve_order);
 *   the allocation takes its LOW end (the high end if S(n) < cfg->split_high_below); if the rest is at least min_block it stays free (in a
 *   LIFO, FIFO or ADDRESS list it keeps the chosen block's place; in a SIZE order and in the
 *   class lists it is re-inserted), otherwise the whole block is handed out.
 * - Free: the block goes back to its list (LIFO: front, FIFO: back, ADDRESS/SIZE: sorted), after
 *   merging with a free neighbour on either side unless cfg->no_coalesce.
 * - The initial memory starts with the control struct (and, for SEGREGATED and TLSF, list
 *   heads), then a region descriptor; every region ends with an 8-byte epilogue. New regions
 *   from the grow callback or carve_heap_add_region carry their own descriptor (~48 bytes).
 * Placement is deterministic: the same calls on the same memory give the same addresses.
 *
 * Errors: functions that return a carve_status leave the heap unchanged on any status but
 * CARVE_OK; functions that return a pointer return NULL and leave the heap unchanged (a failed
 * request is counted in carve_stats.failed).
 *
 * Damage: before it changes anything, every call checks what it is about to follow or write:
 * the header (a 12-bit keyed check), footer and size of each block it takes, frees or merges,
 * and, for each block it unlinks from a free list, that its list neighbours lie in a region,
 * pass their header check and point back at it (safe unlinking). A damaged block or link met
 * this way gives NULL or CARVE_ECORRUPT, with the heap unchanged; carve_heap_check counts the
 * damage. Nothing read from a block is followed before it is checked. A pointer is checked
 * against the region grown last in O(1), against older regions by a walk of the regions.
 *
 * Thread safety: none. A carve_heap is used by one thread at a time (the caller locks). The
 * functions are not async-signal-safe.
 */
#ifndef CARVE_HEAP_H
#define CARVE_HEAP_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_heap carve_heap;

typedef enum carve_fit {
    CARVE_FIT_FIRST,        /* the first block in list order that fits                          */
    CARVE_FIT_NEXT,         /* first fit from the block the previous search ended on, wrapping   */
    CARVE_FIT_BEST,         /* a smallest fitting block; the first in list order among equals    */
    CARVE_FIT_WORST,        /* a largest block (the first among equals), if it fits              */
    CARVE_FIT_SEGREGATED,   /* one free list per size class, as in seed 000: classes are powers of
                               two from min_block; first fit in the request's class, else the head
                               of the next non-empty class above                                 */
    CARVE_FIT_TLSF          /* two-level segregated fit: O(1) good fit                          */
} carve_fit;

/* How the free list of FIRST/NEXT/BEST/WORST is kept (OSTEP's -l). The policy decides by this
 * order; in ADDRESS order the heap answers the same questions from treaps over the free blocks
 * (O(log free blocks) expected, the same decisions as the list), the other orders walk the list. */
typedef enum carve_order {
    CARVE_ORDER_LIFO,       /* freed blocks at the front                                         */
    CARVE_ORDER_FIFO,       /* freed blocks at the back                                          */
    CARVE_ORDER_ADDRESS,    /* ascending address                                                 */
    CARVE_ORDER_SIZE_ASC,   /* ascending size, ties by ascending address                         */
    CARVE_ORDER_SIZE_DESC   /* descending size, ties by ascending address                        */
} carve_order;

/* An all-zero config (or NULL) means: first fit, LIFO, coalescing, 16-byte alignment, no grow,
 * no grow minimum, every allocation from the low end. */
typedef struct carve_heap_config {
    carve_fit fit; carve_order order;
    bool no_coalesce;          /* false: coalesce neighbours on free        */
    size_t align;              /* payload alignment, a power of two from 8 to 1024; 0 = 16 */
    carve_grow_fn grow; void *grow_ctx;  /* optional: more memory when nothing fits */
    /* Additions to DESIGN.md, both 0 (off) by default. grow_min: the heap asks the grow
     * callback for at least this many bytes at a time. split_high_below: a request whose block
     * is smaller than this is carved from the HIGH end of the chosen free block (the free rest
     * stays where it was), so small and large blocks gather at opposite ends of the free space
     * and freeing the large ones leaves large holes (the binary-bal traces). */
    size_t grow_min, split_high_below;
} carve_heap_config;

/* Build a heap in [mem, mem+bytes). The control struct lives at the start of mem. NULL when mem
 * is NULL, cfg is invalid (fit/order out of range, align not a power of two in [8, 1024]) or
 * bytes cannot hold the control data plus one minimum block (a few hundred bytes; more for
 * SEGREGATED and TLSF). cfg NULL: defaults. O(1) (O(lists) for SEGREGATED/TLSF). */
CARVE_API carve_heap  *carve_heap_init(void *mem, size_t bytes, const carve_heap_config *cfg);

/* Give the heap more memory. If mem starts where one of its regions ends, that region is
 * extended (its last block grows or a free block is appended, as with sbrk); otherwise mem
 * becomes a new region. CARVE_EINVAL: h or mem NULL, bytes too small for a region (about 100
 * bytes), or the range overlaps memory the heap already has; CARVE_ECORRUPT: the free block it
 * would merge with, or a list it would insert into, is damaged. The grow callback's memory takes
 * the same path. O(regions) (+ the insert of a free block: O(log free blocks) expected in ADDRESS
 * order for FIRST/NEXT/BEST/WORST, O(free blocks) in a SIZE order). */
CARVE_API carve_status carve_heap_add_region(carve_heap *h, void *mem, size_t bytes);

/* A block of at least size bytes, aligned to cfg->align, or NULL (nothing fits even after
 * asking the grow callback at most twice, size is impossible, above 2^40, or the block the
 * policy chose or one of its list links is damaged). size 0 gives a minimum block. Time: TLSF
 * O(1) whatever the heap holds, also after growth (at most two list heads read, two bitmap
 * scans; blocks of rows beyond its list table sit in one list per row, searched the same way,
 * and a table move is O(rows) copies); SEGREGATED O(one class list); FIRST/NEXT/BEST/WORST in
 * ADDRESS order O(log free blocks) expected (treaps whose priorities are a keyed hash of the
 * block address; O(free blocks) at worst, if the free blocks were chosen against the key), in
 * the other orders O(free blocks); a growth adds O(regions). */
CARVE_API void        *carve_heap_alloc(carve_heap *h, size_t size);

/* A block of at least size bytes whose address is a multiple of align: any power of two up to
 * the heap's size. NULL: align not a power of two, or no free block of S(size) + align +
 * min_block bytes (the search size). The padding before the block becomes a free block. Time as
 * carve_heap_alloc. */
CARVE_API void        *carve_heap_aligned_alloc(carve_heap *h, size_t align, size_t size);

/* Resize p's block to size bytes, keeping min(old usable, size) bytes of contents. In place when
 * it shrinks (a tail of min_block or more goes back), when the next block is free and large
 * enough, or when p's block ends the region and the grow callback extends it contiguously;
 * else it slides down into a free block just before it (moving the contents), else it moves to
 * a new block, aligned to cfg->align only (a larger carve_heap_aligned_alloc alignment is not
 * kept). p NULL: carve_heap_alloc. size 0: a minimum block (p is not freed). NULL, with p still
 * valid and unchanged: nothing fits, size is impossible, p is not a live block of this heap,
 * or a block it would take or merge with is damaged. Time: as carve_heap_alloc, plus the copy. */
CARVE_API void        *carve_heap_realloc(carve_heap *h, void *p, size_t size);

/* Give p's block back. CARVE_OK (p NULL is a no-op); CARVE_EINVAL (h NULL); CARVE_EFOREIGN (p
 * outside every region, not aligned to cfg->align, inside a block, or the heap's own block);
 * CARVE_EDOUBLEFREE (p's block is already free, or was merged into a free neighbour after its
 * free); CARVE_ECORRUPT (p's header, a neighbour's header or the footer before it is damaged,
 * or the list links of a free neighbour it would merge with).
 * On any error the heap is unchanged. Time: O(1), plus the insert into the free-block index:
 * O(log free blocks) expected for FIRST/NEXT/BEST/WORST in ADDRESS order, O(free blocks) in a
 * SIZE order; an error from a damaged or foreign pointer costs one walk of its region. */
CARVE_API carve_status carve_heap_free(carve_heap *h, void *p);

/* The bytes usable at p (block size - 8), or 0 if p is not a live block of h. O(1). */
CARVE_API size_t       carve_heap_usable_size(const carve_heap *h, const void *p);

/* The number of violated invariants, 0 = sound: the blocks tile each region exactly and every
 * header passes its check; PREV_FREE bits and footers agree with the blocks; no two free
 * neighbours while coalescing; each free block is in the right list exactly once and the
 * lists keep their order (ADDRESS order's treaps: key order, heap order of the priorities,
 * each node's subtree maximum, one node per free block); the TLSF/SEGREGATED bitmaps match the
 * lists; the counters agree with a walk. h NULL: 1. O(blocks + lists); read only, never crashes on a damaged heap. */
CARVE_API size_t       carve_heap_check(const carve_heap *h);

/* Call fn for every block, regions in ascending address order, blocks in address order within
 * each: start = block start (header), size = whole block, payload = usable bytes (0 for a free
 * block, and for the one used block TLSF may keep for its own list table). Stops a region's
 * walk at a damaged header. fn must not change the heap. O(blocks). */
CARVE_API void         carve_heap_walk(const carve_heap *h, carve_walk_fn fn, void *ctx);

/* Fill *out (prepared with carve_stats_init; another version writes nothing): capacity = every
 * byte given to the heap (initial memory, control data included, plus all regions); used and
 * free = bytes in used and free blocks, headers included (capacity - used - free is overhead:
 * control struct, region descriptors, epilogues, alignment); free_blocks; largest_free (a block
 * size, header included); requested and peak_requested = live bytes the user asked for (realloc
 * counts its new size); allocs/frees = blocks handed out / taken back (a moving realloc counts
 * one of each; an in-place one neither); failed = requests that returned NULL. O(blocks) for
 * largest_free, the rest O(1). */
CARVE_API void         carve_heap_stats(const carve_heap *h, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_HEAP_H */
