/*
 * src/pool_impl.h: the pool's layout and its O(1) helpers, shared by src/pool.c (the public pool)
 * and src/slab.c (each slab embeds one pool). Not installed. The hot alloc/free paths are the
 * inline ones in include/carve/pool.h; their fields lead struct carve_pool.
 *
 * Layout of a pool over the caller's memory:
 *
 *   mem -> [pad][struct carve_pool][in-use bitmap: ceil(N/64) words][pad to 16][block 0]...[block N-1]
 *
 *   struct carve_pool  head      first free block (a real pointer, never encoded)
 *                      base      address of block 0, 16-aligned
 *                      inv, rot  block_size = odd * 2^rot; inv = odd^-1 mod 2^64: the index of
 *                                an address is ror((a - base) * inv, rot), >= N unless a block start
 *                      limit     N, or 0 on a poisoned pool (sends every op out of line)
 *                      bitmap    points at the bitmap right after the struct
 *                      secret    0 for a plain pool; the XOR key of a hardened one
 *                      keyed     0 plain, all ones hardened: free encodes without a branch
 *   free block         [link][...]: link = next free block, or NULL at the tail.
 *                      Hardened: link stored as next ^ secret ^ (uintptr_t)&link.
 *
 * Traps: the link lives in the first word of a FREE block, so a use-after-free write lands on
 * it; the bitmap, not the link, is the truth about what is free (double free is caught by the
 * bitmap, never by walking the list). "At a block start" and the index come from one multiply
 * and a rotate (exact divisibility by the modular inverse, Hacker's Delight 10-16), never a
 * division.
 */
#ifndef CARVE_POOL_IMPL_H
#define CARVE_POOL_IMPL_H

#include "carve/pool.h"
#include "internal.h"

#define POOL_MAGIC 0x706f6f6c43525645ull /* "EVRCloop" */

/* The first members mirror struct carve_pool_hot_ (include/carve/pool.h), which the inline
 * fast paths read; the asserts below keep the two in step. */
struct carve_pool {
    void *head;            /* first free block (a real pointer, never encoded) */
    uintptr_t base;        /* block 0 */
    uint64_t inv;          /* odd part of block_size, inverted mod 2^64 */
    size_t limit;          /* nblocks, or 0 once poisoned */
    uint64_t *bitmap;      /* = bits, cached so the hot paths skip the address arithmetic */
    uintptr_t secret;      /* 0: plain links */
    uintptr_t keyed;       /* secret != 0 ? all ones : 0 */
    unsigned rot;          /* ctz(block_size) */
    unsigned pad_;
    size_t touched;        /* 1 + the highest index ever handed out (see carve_pool_alloc_cold) */
    uint64_t allocs, frees; /* successful allocs and frees: nfree = N - (allocs - frees) */
    /* cold fields */
    uint64_t failed;
    size_t span;           /* nblocks * block_size */
    size_t block_size;
    size_t nblocks;
    size_t bytes;          /* memory given to init, for stats.capacity */
    uint64_t magic;
    unsigned flags;
    bool poisoned;         /* a pop met a bad link */
    uint64_t bits[];       /* right after the struct; bit i set: block i is in use */
};

#define POOL_MIRRORS(f) (offsetof(struct carve_pool, f) == offsetof(struct carve_pool_hot_, f))
_Static_assert(POOL_MIRRORS(head) && POOL_MIRRORS(base) && POOL_MIRRORS(inv) && POOL_MIRRORS(limit) &&
                   POOL_MIRRORS(bitmap) && POOL_MIRRORS(secret) && POOL_MIRRORS(keyed) && POOL_MIRRORS(rot) &&
                   POOL_MIRRORS(touched) && POOL_MIRRORS(allocs) && POOL_MIRRORS(frees),
               "struct carve_pool must start with the fields of struct carve_pool_hot_");

/* Shared by init and the slab: lay a pool out over mem (see the layout above). NULL when it
 * does not fit. */
carve_pool *carve_pool_format(void *mem, size_t bytes, size_t block_size, unsigned flags, uint64_t secret);
/* The check, for the slab as well. */
size_t carve_pool_check_impl(const carve_pool *p);

/* Free blocks. O(1). */
CARVE_INLINE size_t pool_nfree(const carve_pool *p) { return p->nblocks - (size_t)(p->allocs - p->frees); }

/* Block index of address a, or SIZE_MAX when a is outside the pool or not at a block start. */
CARVE_INLINE size_t pool_index(const carve_pool *p, uintptr_t a)
{
    size_t i = carve_pool_index_((const struct carve_pool_hot_ *)(const void *)p, (const void *)a);
    return i < p->nblocks ? i : SIZE_MAX;
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

#endif /* CARVE_POOL_IMPL_H */
