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
 *                      slot      the block handed out last while its bit is still clear, or, odd,
 *                                the tag of an empty slot: X + 1 + (guard & 2), X the block whose
 *                                free emptied it (see carve/pool.h: "slot == head + 1" lets alloc
 *                                skip the head's test)
 *                      guard     1 on a sound plain pool, all ones on a hardened or poisoned one
 *                      base      address of block 0, 16-aligned
 *                      inv, rot  block_size = odd * 2^rot; inv = odd^-1 mod 2^64: the index of
 *                                an address is ror((a - base) * inv, rot), >= N unless a block start
 *                      limit     N, or 0 on a poisoned pool (sends every op out of line)
 *                      slot_frees  counter (see "Counting" below)
 *                      secret    0 for a plain pool; the XOR key of a hardened one
 *                      keyed     0 plain, all ones hardened: free encodes without a branch
 *                      bitmap    points at the bitmap right after the struct
 *                      marks, unmarks, peak_marks  counters (see "Counting" below)
 *                      then the cold fields (failed, sizes, magic, flags, poisoned)
 *   free block         [link][...]: link = next free block, or NULL at the tail.
 *                      Hardened: link stored as next ^ secret ^ (uintptr_t)&link.
 *
 * In use = bit set OR address == slot (an even slot). Alloc moves the previous slot block's bit into the bitmap
 * (if there is one) and makes the popped block the slot; free of the slot block empties the slot,
 * free of any other block clears its bit. So the slot block's bit is always clear, and a pair
 * (alloc, then free of that block) touches no bitmap word.
 *
 * Counting: every successful alloc leaves its block in the slot, and the block leaves the slot
 * either freed (slot_frees) or marked by the next alloc (marks); every other free clears a bit
 * (unmarks). So live = marks - unmarks + (slot even), frees = slot_frees + unmarks,
 * allocs = frees + live. An alloc bumps at most one counter (marks, when it moves a block into
 * the bitmap), a free exactly one, and a pair only slot_frees. peak_marks is the most bits ever
 * set at once, raised when a bit is set; the peak of live blocks is peak_marks + 1 once any
 * alloc has succeeded (live <= bits + 1 always, and the alloc that sets the most bits leaves
 * its own block in the slot: live = peak_marks + 1 at that moment), else 0.
 *
 * Traps: the link lives in the first word of a FREE block, so a use-after-free write lands on
 * it; the bitmap and the slot, not the link, are the truth about what is free (double free is
 * caught by them, never by walking the list). Every reader of "in use" must ask pool_in_use, not
 * the bit alone. "At a block start" and the index come from one multiply and a rotate (exact
 * divisibility by the modular inverse, Hacker's Delight 10-16), never a division.
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
    uintptr_t slot;        /* the in-use block whose bit is clear, or (odd) an empty slot's tag */
    uint64_t inv;          /* odd part of block_size, inverted mod 2^64 */
    uint64_t slot_frees;   /* frees that emptied the slot */
    uintptr_t guard;       /* 1 on a sound plain pool, all ones on a hardened or poisoned one */
    unsigned rot;          /* ctz(block_size) */
    unsigned pad_;
    size_t limit;          /* nblocks, or 0 once poisoned */
    uintptr_t secret;      /* 0: plain links */
    uintptr_t keyed;       /* secret != 0 ? all ones : 0 */
    uint64_t *bitmap;      /* = bits, cached so the hot paths skip the address arithmetic */
    uint64_t marks, unmarks; /* bits set, bits cleared: live = marks - unmarks + (slot even) */
    uint64_t peak_marks;   /* max of marks - unmarks over time */
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
_Static_assert(POOL_MIRRORS(head) && POOL_MIRRORS(base) && POOL_MIRRORS(inv) && POOL_MIRRORS(rot) &&
                   POOL_MIRRORS(limit) && POOL_MIRRORS(slot) && POOL_MIRRORS(guard) && POOL_MIRRORS(slot_frees) && POOL_MIRRORS(secret) &&
                   POOL_MIRRORS(keyed) && POOL_MIRRORS(bitmap) && POOL_MIRRORS(marks) && POOL_MIRRORS(unmarks) &&
                   POOL_MIRRORS(peak_marks) && sizeof(struct carve_pool_hot_) == offsetof(struct carve_pool, failed),
               "struct carve_pool must start with the fields of struct carve_pool_hot_");

CARVE_INLINE struct carve_pool_hot_ *pool_hot(carve_pool *p) { return (struct carve_pool_hot_ *)(void *)p; }

/* Shared by init and the slab: lay a pool out over mem (see the layout above). NULL when it
 * does not fit. */
carve_pool *carve_pool_format(void *mem, size_t bytes, size_t block_size, unsigned flags, uint64_t secret);
/* The check, for the slab as well. */
size_t carve_pool_check_impl(const carve_pool *p);

/* Blocks in use (the set bits plus the slot) and free blocks. O(1). */
CARVE_INLINE size_t pool_live(const carve_pool *p)
{
    return (size_t)(p->marks - p->unmarks) + ((p->slot & 1) == 0);
}
CARVE_INLINE size_t pool_nfree(const carve_pool *p) { return p->nblocks - pool_live(p); }

/* Block index of address a, or SIZE_MAX when a is outside the pool or not at a block start. */
CARVE_INLINE size_t pool_index(const carve_pool *p, uintptr_t a)
{
    size_t i = carve_pool_index_((const struct carve_pool_hot_ *)(const void *)p, (const void *)a);
    return i < p->nblocks ? i : SIZE_MAX;
}

CARVE_INLINE bool pool_bit(const carve_pool *p, size_t i) { return (p->bitmap[i >> 6] >> (i & 63)) & 1u; }
/* Is block i (< N) in use: its bit, or the slot. */
CARVE_INLINE bool pool_in_use(const carve_pool *p, size_t i)
{
    return p->base + i * p->block_size == p->slot || pool_bit(p, i);
}

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
    return i != SIZE_MAX && !pool_in_use(p, i);
}

#endif /* CARVE_POOL_IMPL_H */
