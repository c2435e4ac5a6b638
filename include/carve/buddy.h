/*
 * carve/buddy.h: the binary buddy allocator (seed 001's "merging algorithm") over memory the
 * caller owns. Never calls the OS.
 *
 * Requests round up to a power of two of at least min_block. A bigger free block is halved
 * until it fits; a freed block merges with its buddy (the other half of its parent) for as long
 * as that buddy is wholly free. Every block of size 2^k starts at an offset (from the managed
 * base) that is a multiple of 2^k. Two bitmaps at the front of the region (a used bit per
 * min block and a split bit per node of the buddy tree, about 2 to 3 bits per min block in all)
 * record where blocks start, their order and whether they are in use; allocated blocks carry
 * no header.
 *
 * Thread safety: none (the caller locks).
 * Alignment: the managed base is aligned to min(min_block, 4096), and a block of size 2^k
 * starts at a multiple of 2^k from the base, so every block is min(min_block, 4096)-aligned.
 * Statuses of carve_buddy_free: CARVE_OK; CARVE_EFOREIGN (outside the managed range, not on a
 * min-block boundary, or inside a live block); CARVE_EDOUBLEFREE (the block is free, or the
 * pointer lies inside a free block, which is where a freed block that merged with its buddy
 * ends up); CARVE_ECORRUPT (a free-list link stored in a free block was overwritten). Any
 * status but CARVE_OK leaves the allocator unchanged.
 */
#ifndef CARVE_BUDDY_H
#define CARVE_BUDDY_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_buddy carve_buddy;

/* Manage [mem, mem + bytes). min_block: the smallest block; 0 means 16; otherwise rounded up to
 * a power of two, at least 16 (a free block holds two 32-bit list links). The handle and the
 * bitmaps live at the front of mem; the rest is cut into the largest aligned power-of-two
 * blocks that fit, so a region that is not a power of two still uses its remainder as blocks
 * of smaller orders. NULL when mem is NULL, min_block is above 2^40, or bytes cannot hold the
 * control data and one min block. O(bytes / min_block) (clears the bitmaps). */
CARVE_API carve_buddy *carve_buddy_init(void *mem, size_t bytes, size_t min_block);
/* A block of at least size bytes (size 0 is served as 1), or NULL (counted in stats.failed)
 * when no free block is big enough. O(log(bytes / min_block)). */
CARVE_API void        *carve_buddy_alloc(carve_buddy *b, size_t size);
/* Give a block back and merge it with its buddies. NULL is a no-op returning CARVE_OK.
 * O(log(bytes / min_block)). */
CARVE_API carve_status carve_buddy_free(carve_buddy *b, void *p);
/* The rounded block size of a live block, else 0. O(log(bytes / min_block)). */
CARVE_API size_t       carve_buddy_usable_size(const carve_buddy *b, const void *p);
/* Violated invariants (0 = sound): block alignment, the bitmaps, every free list (order,
 * links, no cycle), no two free buddies left unmerged, counters. O(bytes / min_block). */
CARVE_API size_t       carve_buddy_check(const carve_buddy *b);
/* Every block (used or free) in address order; payload = block size for used ones.
 * O(blocks * log(bytes / min_block)). */
CARVE_API void         carve_buddy_walk(const carve_buddy *b, carve_walk_fn fn, void *ctx);
/* capacity = bytes given to init (control data included); used/free = bytes in used/free
 * blocks; largest_free; requested = live block bytes (the buddy stores no request sizes, so
 * this is the rounded size); allocs, frees, failed. O(1). */
CARVE_API void         carve_buddy_stats(const carve_buddy *b, carve_stats *out);

/* Resize a live block, keeping its contents up to the smaller size. Shrinking gives the upper
 * halves back in place. Growing merges with the block's buddies when they are whole free
 * blocks (the contents slide down when a buddy lies below), else allocates, copies and frees
 * (alloc and free counted). p NULL: carve_buddy_alloc. NULL when p is not a live block of b,
 * when nothing fits, or when the move would have to free p past damaged free-list links (the
 * case carve_buddy_free reports as CARVE_ECORRUPT; the last two counted in stats.failed); p is
 * then untouched and still live. size 0 keeps one min block. O(log(bytes / min_block)) plus
 * the copy. */
CARVE_API void        *carve_buddy_realloc(carve_buddy *b, void *p, size_t size);

/* Additions for the lab. */
/* The bytes to give carve_buddy_init so that it manages exactly `managed` bytes (rounded up to
 * min blocks), for mem aligned to min(min_block, 4096): with managed a power of two the region
 * starts as one block. 0 when the arguments are out of range. O(1). */
CARVE_API size_t       carve_buddy_region_bytes(size_t managed, size_t min_block);
/* The footprint of what has been touched: carve_buddy_region_bytes for the blocks up to the end
 * of the highest block ever handed out (their bitmaps and the header included, the bitmaps of
 * never-touched memory not). 0 before the first alloc. O(1). */
CARVE_API size_t       carve_buddy_high_water(const carve_buddy *b);
/* The smallest block (after rounding). O(1). */
CARVE_API size_t       carve_buddy_min_block(const carve_buddy *b);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_BUDDY_H */
