/*
 * carve/pool.h: the fixed-size pool (seed 003).
 *
 * Equal blocks carved from memory the caller owns, an intrusive LIFO free list, O(1) alloc and
 * free. The control data and an in-use bitmap (one bit per block) sit at the front of the
 * memory; the blocks follow. Never calls the OS.
 *
 * Thread safety: none for a pool (one thread at a time; the caller locks). Different pools may
 * be set up and used on different threads at once.
 * Alignment: block_size is rounded up to a multiple of sizeof(void *); the first block is
 * 16-byte aligned, so every block is aligned to the largest power of two dividing the rounded
 * block size, capped at 16.
 *
 * Statuses: carve_pool_free returns CARVE_OK, CARVE_EFOREIGN (outside the pool, or not at a
 * block start) or CARVE_EDOUBLEFREE (the block is already free). On any status but CARVE_OK the
 * pool is unchanged.
 */
#ifndef CARVE_POOL_H
#define CARVE_POOL_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_pool carve_pool;

/* Options for carve_pool_init_ex. */
typedef enum carve_pool_flags {
    /* Store each free-list link encoded: link XOR secret XOR the address of the slot holding it.
     * A use-after-free write into a free block then decodes to garbage instead of a chosen
     * address; alloc validates every decoded link (inside the pool, at a block start, not in
     * use) before trusting it. A bad link makes alloc return NULL (counted in stats.failed) and
     * poisons the pool: every later alloc returns NULL too, and carve_pool_check counts the
     * damage. Frees keep working. Cost: a few instructions per pair (see docs/pool.md). */
    CARVE_POOL_HARDENED = 1u << 0
} carve_pool_flags;

/* Carve [mem, mem + bytes) into equal blocks of block_size (rounded up to sizeof(void *)).
 * The pool handle lives at the front of mem (mem need not be aligned). The free list starts
 * 0 -> 1 -> ... -> N-1, so the first alloc returns the lowest block.
 * Returns NULL when mem is NULL, block_size is 0 or too large, or bytes cannot hold the
 * control data plus one block. O(N) (threads every block). */
CARVE_API carve_pool  *carve_pool_init(void *mem, size_t bytes, size_t block_size);
/* As carve_pool_init, with flags (carve_pool_flags) and, for CARVE_POOL_HARDENED, a secret
 * (0: one derived from addresses and a counter; not cryptographic, pass your own random value
 * for real protection). Unknown flags give NULL. */
CARVE_API carve_pool  *carve_pool_init_ex(void *mem, size_t bytes, size_t block_size,
                                          unsigned flags, uint64_t secret);
/* A free block, or NULL when the pool is exhausted (or poisoned, see CARVE_POOL_HARDENED);
 * a NULL counts in stats.failed. The most recently freed block comes back first. O(1). */
CARVE_API void        *carve_pool_alloc(carve_pool *p);
/* Give a block back. NULL is a no-op returning CARVE_OK. O(1), no scan. */
CARVE_API carve_status carve_pool_free(carve_pool *p, void *block);
/* Number of blocks, and of free blocks. O(1). */
CARVE_API size_t       carve_pool_capacity(const carve_pool *p);
CARVE_API size_t       carve_pool_available(const carve_pool *p);
/* The rounded block size. O(1). */
CARVE_API size_t       carve_pool_block_size(const carve_pool *p);
/* block_size for a live block of this pool, else 0. O(1). */
CARVE_API size_t       carve_pool_usable_size(const carve_pool *p, const void *block);
/* Violated invariants (0 = sound): header, free-list links (range, block start, not in use,
 * no cycle), free count, bitmap population, a poisoned hardened pool. O(N). */
CARVE_API size_t       carve_pool_check(const carve_pool *p);
/* Every block in address order; size = payload = block size for used blocks, payload 0 for
 * free ones. O(N). */
CARVE_API void         carve_pool_walk(const carve_pool *p, carve_walk_fn fn, void *ctx);
/* capacity = bytes given to init (control data included); used/free = blocks in use/free times
 * the block size; largest_free = block size if any is free; requested = used (a pool knows no
 * smaller request size); allocs, frees, failed. O(1). */
CARVE_API void         carve_pool_stats(const carve_pool *p, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_POOL_H */
