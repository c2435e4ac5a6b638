/*
 * carve/segment.h: the segment allocator (seed 004): O(1) runs of 1..64 cells from an index
 * range. Its metadata lives in memory the caller gives; the range itself is only numbers (slots
 * in a GPU descriptor heap, handle-table entries, blocks of a file, offsets in shared memory).
 *
 * The range [index_begin, index_end) is cut into blocks of block_size cells (the last block may
 * be shorter, but never shorter than max_size). A block serves one run size at a time, so a run
 * never straddles two blocks and every run starts at a multiple of its size inside its block.
 * See docs/segment.md for the layout, the bounds and the measured figures.
 *
 * Against DESIGN.md: the four functions, carve_segment_config's four fields and
 * CARVE_SEGMENT_NONE are as DESIGN.md lists them. Added here, beyond it: the trailing field
 * `flags` of the config (a designated or positional initializer written for DESIGN.md's struct
 * leaves it 0, the default), CARVE_SEGMENT_THREADSAFE, carve_segment_run, and the functions
 * _check, _walk, _stats (as every carve allocator has), _rebuild and _block_meta.
 *
 * Configuration rules (a config breaking one is rejected whole: footprint 0, init NULL):
 *   index_begin < index_end;  max_size in [1, 64];  block_size > 0 and block_size % 64 == 0;
 *   block_size <= 4096;  (index_end - index_begin) % block_size not in [1, max_size - 1];
 *   flags only from CARVE_SEGMENT_* below.
 *
 * Bounds: at most 49 cells per 4096-cell block are unusable for any run size (Size 57 leaves
 * 4096 mod 57 = 49); 536 bytes of metadata per block (carve_segment_block_meta()).
 *
 * Status mapping of carve_segment_free (the allocator is unchanged by any non-OK answer):
 *   CARVE_EINVAL       size is 0 or above max_size, or s is NULL;
 *   CARVE_EFOREIGN     the run [cell, cell + size) leaves the range; or its block is free or
 *                      holds runs of another size; or cell is not the first cell of a segment
 *                      of its block (misaligned, or in the unusable tail of the block);
 *   CARVE_EDOUBLEFREE  the segment is a real segment of this size, but it is not in use.
 *
 * Thread safety: none by default (one thread at a time, the caller locks). With
 * CARVE_SEGMENT_THREADSAFE in cfg->flags, every function below that takes a carve_segment is
 * serialized by a spinlock inside the metadata (the critical sections are under a hundred
 * instructions, so spinning beats sleeping). A walk callback must then not call back into the
 * same allocator. Alignment of cells is not a concept here: a run of Size cells starts at
 * index_begin + block_index * block_size + k * Size.
 */
#ifndef CARVE_SEGMENT_H
#define CARVE_SEGMENT_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_segment carve_segment;

typedef struct carve_segment_config {
    uint32_t index_begin, index_end;  /* the cells [begin, end)           */
    uint32_t block_size;              /* a multiple of 64, at most 4096    */
    uint32_t max_size;                /* the largest run, 1..64            */
    uint32_t flags;                   /* 0 or CARVE_SEGMENT_THREADSAFE     */
} carve_segment_config;

#define CARVE_SEGMENT_NONE UINT32_MAX
/* cfg->flags: serialize every call on the allocator with an internal spinlock. */
#define CARVE_SEGMENT_THREADSAFE 1u

/* One live run, for carve_segment_rebuild. */
typedef struct carve_segment_run {
    uint32_t cell, size;
} carve_segment_run;

/* Bytes of metadata carve_segment_init needs for cfg; 0 if cfg is NULL or breaks a rule (or the
 * figure overflows size_t). O(1). */
CARVE_API size_t carve_segment_footprint(const carve_segment_config *cfg);

/* Build an empty allocator in meta[0, bytes). meta must be aligned to 8 bytes and bytes at least
 * carve_segment_footprint(cfg). Returns the handle (== meta), or NULL when cfg breaks a rule,
 * meta is NULL or misaligned, or bytes is too small; nothing is written to meta then. The
 * metadata holds no pointers, so it may be copied or mapped elsewhere as a whole.
 * O(number of blocks). Never calls the OS. */
CARVE_API carve_segment *carve_segment_init(void *meta, size_t bytes, const carve_segment_config *cfg);

/* The first cell of a fresh run of size cells, or CARVE_SEGMENT_NONE when size is 0, above
 * max_size, s is NULL, or no block can serve it (the allocator is then unchanged but for its
 * failure counter). O(1): a list head and two count-trailing-zeros. */
CARVE_API uint32_t carve_segment_alloc(carve_segment *s, uint32_t size);

/* Give back the run [cell, cell + size) that carve_segment_alloc returned for this size.
 * CARVE_OK, or an error (see the status mapping above) with nothing changed. O(1). */
CARVE_API carve_status carve_segment_free(carve_segment *s, uint32_t cell, uint32_t size);

/* The number of violated invariants, 0 when sound: every block's masks, group mask, live count
 * and status agree; the free list and each per-size partial list link correctly and hold exactly
 * the blocks of their status; the counters match the masks. A NULL s counts as 1.
 * O(blocks * 64). */
CARVE_API size_t carve_segment_check(const carve_segment *s);

/* Call fn once per run, in cell order, covering [index_begin, index_end) exactly:
 *   a wholly free block          one run {block, its length, payload 0, used false};
 *   a used segment               {cell, Size, payload Size, used true};
 *   a free segment of a block    {cell, Size, payload 0, used false} (one run per segment: it
 *     that serves Size             can serve only Size, so it is not merged with its neighbours);
 *   the tail of such a block      {cell, length mod Size, payload 0, used true}: cells no run can
 *     (when length mod Size > 0)  use, reported as overhead (used, nothing payable).
 * A NULL s or fn: returns at once, fn not called. O(cells). */
CARVE_API void carve_segment_walk(const carve_segment *s, carve_walk_fn fn, void *ctx);

/* Fill out (carve_stats_init first; nothing is written if its version or size is wrong). In cells:
 * capacity = index_end - index_begin; used = requested = cells in live runs; free = capacity -
 * used (tails included); free_blocks = the free runs carve_segment_walk reports; largest_free =
 * the largest size carve_segment_alloc would serve now (0..max_size); peak_requested, allocs,
 * frees, failed (alloc failures) since init. A NULL s or out: returns at once, nothing written.
 * O(blocks + max_size). */
CARVE_API void carve_segment_stats(const carve_segment *s, carve_stats *out);

/* Reconstruct the allocator from the list of its live runs (for example after reopening a file
 * or a GPU heap whose runs the user kept). s must be empty (no live run): otherwise CARVE_EINVAL.
 * Each run must be what carve_segment_alloc could have returned: size in 1..max_size
 * (CARVE_EINVAL), inside the range, starting on a segment of its block for its size, outside the
 * block's tail (CARVE_EFOREIGN); two runs may not share a block with different sizes or repeat a
 * segment (CARVE_EINVAL). On an error, *bad (if not NULL) is the index of the first offending run
 * and s is byte-for-byte as before the call (the order of its free list and its counters
 * included), also when it was used and emptied. On success the lists are in block order: the
 * next allocations come from the lowest blocks, and the counters (allocs, frees, failed) are
 * kept. O(blocks + n) (an error undoes the blocks the list reached: O(n + 64 x those blocks)). */
CARVE_API carve_status carve_segment_rebuild(carve_segment *s, const carve_segment_run *runs, size_t n,
                                             size_t *bad);

/* Bytes of metadata per block (536: 64 group masks, the group mask, links, size, counts). O(1). */
CARVE_API size_t carve_segment_block_meta(void);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_SEGMENT_H */
