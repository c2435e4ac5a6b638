/*
 * src/pool_impl.h: the pool's layout and its O(1) paths, shared by src/pool.c (the public pool)
 * and src/slab.c (each slab embeds one pool). Not installed.
 *
 * Layout of a pool over the caller's memory:
 *
 *   mem -> [pad][struct carve_pool][in-use bitmap: ceil(N/64) words][pad to 16][block 0]...[block N-1]
 *
 *   struct carve_pool  head      first free block (a real pointer, never encoded)
 *                      base      address of block 0, 16-aligned
 *                      span      N * block_size
 *                      secret    0 for a plain pool; the XOR key of a hardened one
 *   free block         [link][...]: link = next free block, or NULL at the tail.
 *                      Hardened: link stored as next ^ secret ^ (uintptr_t)&link.
 *
 * Traps: the link lives in the first word of a FREE block, so a use-after-free write lands on
 * it; the bitmap, not the link, is the truth about what is free (double free is caught by the
 * bitmap, never by walking the list). Offsets are checked for "at a block start" with a
 * multiply (Lemire's divisibility test) when span < 2^32, a division otherwise.
 */
#ifndef CARVE_POOL_IMPL_H
#define CARVE_POOL_IMPL_H

#include "carve/pool.h"
#include "internal.h"

#define POOL_MAGIC 0x706f6f6c43525645ull /* "EVRCloop" */

struct carve_pool {
    void *head;            /* first free block, NULL when exhausted */
    uintptr_t base;        /* block 0 */
    size_t span;           /* nblocks * block_size */
    size_t block_size;
    uint64_t div_magic;    /* UINT64_MAX / block_size + 1, for span < 2^32; 0: use '/' */
    uintptr_t secret;      /* 0: plain links */
    size_t nblocks;
    size_t touched;        /* 1 + the highest index ever handed out (see pool_pop) */
    uint64_t allocs, frees, failed; /* successful allocs and frees: nfree = N - (allocs - frees) */
    unsigned shift;        /* log2(block_size) when it is a power of two, else 0 */
    size_t mask;           /* block_size - 1 */
    size_t bytes;          /* memory given to init, for stats.capacity */
    uint64_t magic;
    unsigned flags;
    bool poisoned;         /* a hardened pop met a bad link */
    uint64_t bitmap[];     /* right after the struct; bit i set: block i is in use */
};

/* Shared by init and the slab: lay a pool out over mem (see the layout above). NULL when it
 * does not fit. */
carve_pool *carve_pool_format(void *mem, size_t bytes, size_t block_size, unsigned flags, uint64_t secret);
/* The check, for the slab as well. */
size_t carve_pool_check_impl(const carve_pool *p);

/* Block index of a, which is known to be a block start. */
CARVE_INLINE size_t pool_index_of_block(const carve_pool *p, uintptr_t a)
{
    uintptr_t off = a - p->base;
    if (CARVE_LIKELY(p->shift != 0)) return off >> p->shift;
    if (CARVE_LIKELY(p->div_magic != 0)) return (size_t)(((unsigned __int128)p->div_magic * off) >> 64);
    return off / p->block_size;
}

/* Free blocks. O(1). */
CARVE_INLINE size_t pool_nfree(const carve_pool *p) { return p->nblocks - (size_t)(p->allocs - p->frees); }

/* Block index of address a, or SIZE_MAX when a is outside the pool or not at a block start. */
CARVE_INLINE size_t pool_index(const carve_pool *p, uintptr_t a)
{
    uintptr_t off = a - p->base;
    if (CARVE_UNLIKELY(off >= p->span)) return SIZE_MAX;
    if (CARVE_LIKELY(p->shift != 0)) return (off & p->mask) == 0 ? off >> p->shift : SIZE_MAX;
    if (CARVE_LIKELY(p->div_magic != 0)) {
        /* off < 2^32 and block_size < 2^32: off % d == 0 iff off * c <= c - 1 (mod 2^64), and
         * off / d == (c * off) >> 64 (Lemire, Kaser, Kurz 2019). */
        uint64_t low = p->div_magic * (uint64_t)off;
        if (CARVE_UNLIKELY(low > p->div_magic - 1)) return SIZE_MAX;
        return (size_t)(((unsigned __int128)p->div_magic * off) >> 64);
    }
    if (off % p->block_size != 0) return SIZE_MAX;
    return off / p->block_size;
}

CARVE_INLINE bool pool_bit(const carve_pool *p, size_t i) { return (p->bitmap[i >> 6] >> (i & 63)) & 1u; }

CARVE_INLINE void *pool_decode(const carve_pool *p, void *const *slot)
{
    return (void *)((uintptr_t)*slot ^ p->secret ^ (p->secret != 0 ? (uintptr_t)slot : 0));
}
CARVE_INLINE void pool_encode(const carve_pool *p, void **slot, void *next)
{
    *slot = (void *)((uintptr_t)next ^ p->secret ^ (p->secret != 0 ? (uintptr_t)slot : 0));
}

/* True when a decoded link may be trusted: the end of the list, or a free block start. */
CARVE_INLINE bool pool_link_ok(const carve_pool *p, void *next)
{
    if (next == NULL) return true;
    size_t i = pool_index(p, (uintptr_t)next);
    return i != SIZE_MAX && !pool_bit(p, i);
}

/* Pop the head. NULL when exhausted or poisoned; the caller counts the failure. */
CARVE_INLINE void *pool_pop(carve_pool *p)
{
    void **blk = (void **)p->head;
    if (CARVE_UNLIKELY(blk == NULL)) return NULL;
    void *next;
    if (p->secret != 0) {
        next = pool_decode(p, blk);
        if (CARVE_UNLIKELY(!pool_link_ok(p, next) || next == (void *)blk)) {
            p->poisoned = true;
            return NULL;
        }
    } else {
        /* Plain links are unchecked, but a head outside the pool is never used: that would
         * turn a use-after-free write into a wild bitmap write. */
        if (CARVE_UNLIKELY((uintptr_t)blk - p->base >= p->span)) {
            p->poisoned = true;
            return NULL;
        }
        next = *blk;
    }
    size_t i = pool_index_of_block(p, (uintptr_t)blk);
    p->bitmap[i >> 6] |= 1ull << (i & 63);
    p->head = next;
    /* Untouched blocks form the list's tail in index order (frees push at the head), so a new
     * highest index is popped only when every touched block is live: touched is the peak of
     * live blocks. */
    if (CARVE_UNLIKELY(i >= p->touched)) p->touched = i + 1;
    p->allocs++;
    return blk;
}

/* Push a block back after validating it; the pool is unchanged unless CARVE_OK. */
CARVE_INLINE carve_status pool_push(carve_pool *p, void *block)
{
    size_t i = pool_index(p, (uintptr_t)block);
    if (CARVE_UNLIKELY(i == SIZE_MAX)) return CARVE_EFOREIGN;
    uint64_t *w = &p->bitmap[i >> 6];
    uint64_t bit = 1ull << (i & 63);
    if (CARVE_UNLIKELY((*w & bit) == 0)) return CARVE_EDOUBLEFREE;
    *w &= ~bit;
    if (p->secret != 0) pool_encode(p, (void **)block, p->head);
    else *(void **)block = p->head;
    p->head = block;
    p->frees++;
    return CARVE_OK;
}

#endif /* CARVE_POOL_IMPL_H */
