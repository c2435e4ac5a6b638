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

/* The fields the inline fast paths below read, mirrored as the first members of the pool
 * (src/pool_impl.h checks the offsets). PRIVATE: never read or write them yourself; the layout
 * may change in any release. */
struct carve_pool_hot_ {
    void *head;         /* first free block, NULL when exhausted */
    uintptr_t base;     /* block 0 */
    size_t span_fast;   /* N * block_size when the fast paths apply (span < 2^32), else 0 */
    uint64_t *bitmap;   /* bit i set: block i in use */
    uintptr_t secret;   /* 0: plain links; else the CARVE_POOL_HARDENED key */
    uint64_t div_magic; /* 2^64 / block_size rounded up: index and block-start test by multiply */
    size_t mask;        /* block_size - 1 */
    unsigned shift;     /* log2(block_size) when a power of two, else 0 */
    unsigned pad_;
    size_t touched;     /* 1 + the highest block index ever handed out */
    uint64_t allocs, frees;
};

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
/* The out-of-line halves of the two calls above: every case the inline fast paths below do not
 * take (exhaustion, a bad hardened link, any status but CARVE_OK, pools of 4 GiB and more).
 * Same contract as carve_pool_alloc / carve_pool_free. */
CARVE_API void        *carve_pool_alloc_cold(carve_pool *p);
CARVE_API carve_status carve_pool_free_cold(carve_pool *p, void *block);

/* carve_pool_alloc and carve_pool_free inlined into the caller (same contract, same results,
 * same stats): the common case costs no call, and the rest falls to the _cold functions. Use
 * them where a pool sits on a hot path; the plain calls are the same code out of line. */
static inline void *carve_pool_alloc_inline(carve_pool *pool)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    void **blk = (void **)p->head;
    uintptr_t off = (uintptr_t)blk - p->base;
    /* one test covers an exhausted pool (head NULL), a head outside the pool and big pools */
    if (__builtin_expect(off >= p->span_fast, 0)) return carve_pool_alloc_cold(pool);
    void *next = *blk;
    if (p->secret != 0) {
        /* decode, then trust the link only if it is NULL or a free block start (not blk) */
        next = (void *)((uintptr_t)next ^ p->secret ^ (uintptr_t)blk);
        uintptr_t noff = (uintptr_t)next - p->base;
        size_t ni = p->shift != 0 ? noff >> p->shift : (size_t)(((unsigned __int128)p->div_magic * noff) >> 64);
        if (next != NULL &&
            __builtin_expect(noff >= p->span_fast || next == (void *)blk ||
                                 (p->shift != 0 ? (noff & p->mask) != 0 : noff * p->div_magic > p->div_magic - 1) ||
                                 ((p->bitmap[ni >> 6] >> (ni & 63)) & 1u) != 0,
                             0))
            return carve_pool_alloc_cold(pool);
    }
    size_t i = p->shift != 0 ? off >> p->shift : (size_t)(((unsigned __int128)p->div_magic * off) >> 64);
    p->bitmap[i >> 6] |= (uint64_t)1 << (i & 63);
    p->head = next;
    if (__builtin_expect(i >= p->touched, 0)) p->touched = i + 1;
    p->allocs++;
    return blk;
}

static inline carve_status carve_pool_free_inline(carve_pool *pool, void *block)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    uintptr_t off = (uintptr_t)block - p->base;
    /* off * magic <= magic - 1 (mod 2^64) iff block_size divides off, for off < 2^32 */
    if (__builtin_expect(off >= p->span_fast ||
                             (p->shift != 0 ? (off & p->mask) != 0 : off * p->div_magic > p->div_magic - 1),
                         0))
        return carve_pool_free_cold(pool, block);
    size_t i = p->shift != 0 ? off >> p->shift : (size_t)(((unsigned __int128)p->div_magic * off) >> 64);
    uint64_t *w = &p->bitmap[i >> 6], bit = (uint64_t)1 << (i & 63), old = *w;
    if (__builtin_expect((old & bit) == 0, 0)) return carve_pool_free_cold(pool, block);
    *w = old ^ bit;
    uintptr_t link = (uintptr_t)p->head;
    if (p->secret != 0) link ^= p->secret ^ (uintptr_t)block;
    *(void **)block = (void *)link;
    p->head = block;
    p->frees++;
    return CARVE_OK;
}

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
