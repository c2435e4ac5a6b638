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
     * damage. Frees keep working. Cost: a hardened pool takes the full paths, not the
     * plain pool's pair fast paths: about twice the plain pair (see docs/pool.md). */
    CARVE_POOL_HARDENED = 1u << 0
} carve_pool_flags;

/* The fields the inline fast paths below read, mirrored as the first members of the pool
 * (src/pool_impl.h checks the offsets). PRIVATE: never read or write them yourself; the layout
 * may change in any release.
 *
 * A block is in use when its bitmap bit is set OR it is the slot: the block handed out last,
 * whose bit alloc has not set yet. The next alloc sets it (and takes the slot); a free of the
 * slot block only empties the slot. So an alloc+free pair of one block touches no bitmap word.
 *
 * An empty slot holds an odd tag naming the block X whose free emptied it: X + 1 on a sound
 * plain pool, X + 3 on a hardened or poisoned one (X + 1 + (guard & 2)). Until the next alloc
 * succeeds, X stays free and the head changes only by frees of other blocks, so on a sound plain
 * pool "slot == head + 1" means: the slot is empty and the head is X, a block a free validated.
 * Alloc then pops without testing the head; any other state takes the full path. No head a
 * hardened or poisoned pool can have equals X + 2, so those always take the full path. */
struct carve_pool_hot_ {
    /* what an alloc+free pair of one block reads */
    void *head;          /* first free block, NULL when exhausted */
    uintptr_t base;      /* block 0 */
    uintptr_t slot;      /* the in-use block whose bit is clear, or (odd) an empty slot's tag */
    uint64_t inv;        /* inverse of block_size's odd part mod 2^64 (see carve_pool_index_) */
    uint64_t slot_frees; /* frees that emptied the slot */
    uintptr_t guard;     /* 1 on a sound plain pool, all ones on a hardened or poisoned one: free
                            skips the index only when block & guard == 0 (an even slot block) */
    unsigned rot;        /* trailing zero bits of block_size */
    unsigned pad_;
    size_t limit;        /* N, or 0 on a poisoned pool so that every op takes the cold path */
    /* what other patterns read too */
    uintptr_t secret;    /* 0: plain links; else the CARVE_POOL_HARDENED key */
    uintptr_t keyed;     /* 0 for a plain pool, all ones for a hardened one */
    uint64_t *bitmap;    /* bit i set: block i in use (and not the slot) */
    uint64_t marks;      /* bits set (a slot block moved into the bitmap) */
    uint64_t unmarks;    /* bits cleared (frees of any block but the slot) */
    uint64_t peak_marks; /* the most bits ever set at once: the peak of live blocks is this + 1 */
};

/* Private. The index of a block start a, and a value >= N for any other address (outside the
 * pool, or inside a block): with block_size = odd * 2^rot, (a - base) * odd^-1 mod 2^64 is the
 * exact quotient by odd for its multiples and at least 2^64 / odd otherwise, and rotating right
 * by rot lifts nonzero low bits to the top. One multiply, no division, exact for all addresses. */
static inline size_t carve_pool_index_(const struct carve_pool_hot_ *p, const void *a)
{
    uint64_t x = ((uint64_t)(uintptr_t)a - p->base) * p->inv;
    return (size_t)((x >> p->rot) | (x << (-p->rot & 63)));
}

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
 * take (exhaustion, a bad hardened link, any status but CARVE_OK, a poisoned pool).
 * Same contract as carve_pool_alloc / carve_pool_free. */
CARVE_API void        *carve_pool_alloc_cold(carve_pool *p);
CARVE_API carve_status carve_pool_free_cold(carve_pool *p, void *block);

/* Private: a hardened pool's link of blk, decoded into *next; false unless it is NULL or a
 * free block start other than blk (the slot block is in use although its bit is clear). */
static inline int carve_pool_keyed_next_(const struct carve_pool_hot_ *p, void **blk, void **next)
{
    void *n = (void *)((uintptr_t)*blk ^ p->secret ^ (uintptr_t)blk);
    size_t ni = carve_pool_index_(p, n);
    *next = n;
    return n == NULL || !(ni >= p->limit || n == (void *)blk || (uintptr_t)n == p->slot ||
                          ((p->bitmap[ni >> 6] >> (ni & 63)) & 1u) != 0);
}

/* Private: the previous slot block s stays in use through its bit. */
static inline void carve_pool_mark_(struct carve_pool_hot_ *p, uintptr_t s)
{
    size_t i = carve_pool_index_(p, (const void *)s);
    p->bitmap[i >> 6] |= (uint64_t)1 << (i & 63);
    uint64_t marked = ++p->marks - p->unmarks;
    if (marked > p->peak_marks) p->peak_marks = marked;
}

/* Private: hand out the head blk and move on to next. The previous slot block, if any (an even
 * slot), gets its bit (it stays in use); blk becomes the slot. */
static inline void *carve_pool_take_(struct carve_pool_hot_ *p, void *blk, void *next)
{
    uintptr_t s = p->slot;
    if ((s & 1) == 0) carve_pool_mark_(p, s);
    p->slot = (uintptr_t)blk;
    p->head = next;
    return blk;
}

/* Private: a hardened pool's alloc. Its head needs no test: a free validated it, or the pop
 * that made it the head did (carve_pool_keyed_next_); a poisoned pool has limit 0. Laid out for
 * a pair (an empty slot); allocs in a row take the jump to the mark. */
static inline void *carve_pool_alloc_keyed_(carve_pool *pool)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    void **blk = (void **)p->head, *next;
    if (__builtin_expect(blk == NULL || p->limit == 0 || !carve_pool_keyed_next_(p, blk, &next), 0))
        return carve_pool_alloc_cold(pool);
    uintptr_t s = p->slot;
    if (__builtin_expect((s & 1) == 0, 0)) carve_pool_mark_(p, s);
    p->slot = (uintptr_t)blk;
    p->head = next;
    return blk;
}

/* Private: a plain pool's alloc for every state but the trusted head (see the struct above).
 * One test covers an exhausted pool (head NULL), a head that is no block start and a poisoned
 * pool. */
static inline void *carve_pool_alloc_plain_(carve_pool *pool)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    void **blk = (void **)p->head;
    if (__builtin_expect(carve_pool_index_(p, blk) >= p->limit, 0)) return carve_pool_alloc_cold(pool);
    return carve_pool_take_(p, blk, *blk);
}

/* Private: push block with its link encoded (branch-free: a plain pool has secret = keyed = 0,
 * so the link is the head itself). */
static inline carve_status carve_pool_push_(struct carve_pool_hot_ *p, void *block)
{
    *(void **)block = (void *)((uintptr_t)p->head ^ ((p->secret ^ (uintptr_t)block) & p->keyed));
    p->head = block;
    return CARVE_OK;
}

/* Private: the free of the slot block (even, so a live block start: no index) of a hardened or
 * poisoned pool. */
static inline carve_status carve_pool_free_slot_(struct carve_pool_hot_ *p, void *block)
{
    p->slot = (uintptr_t)block + 1 + (p->guard & 2);
    p->slot_frees++;
    return carve_pool_push_(p, block);
}

/* Private: the free of any block but the slot block (an odd pointer equal to a tag lands here
 * too, and is foreign). */
static inline carve_status carve_pool_free_other_(carve_pool *pool, void *block)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    size_t i = carve_pool_index_(p, block);
    if (__builtin_expect(i >= p->limit, 0)) return carve_pool_free_cold(pool, block); /* NULL, foreign */
    uint64_t *w = &p->bitmap[i >> 6], bit = (uint64_t)1 << (i & 63), old = *w;
    if (__builtin_expect((old & bit) == 0, 0)) return carve_pool_free_cold(pool, block); /* double */
    *w = old ^ bit;
    p->unmarks++;
    return carve_pool_push_(p, block);
}

/* Private: the pair's alloc. When the head is the block the last free of the slot block pushed
 * (see the struct), pop it untested into *out and return 1; else 0 and nothing changed. */
static inline int carve_pool_pop_pushed_(struct carve_pool_hot_ *p, void **out)
{
    void **blk = (void **)p->head;
    if (__builtin_expect(p->slot != (uintptr_t)blk + 1, 0)) return 0;
    void *next = *blk;
    p->slot = (uintptr_t)blk;
    p->head = next;
    *out = blk;
    return 1;
}

/* Private: the pair's free, for block == p->slot. The slot block of a sound plain pool is live
 * and a block start, so no index and no bitmap; the guard keeps out an odd pointer equal to an
 * empty slot's tag, and hardened and poisoned pools. Push it, tag the slot for the next alloc
 * and return 1; else 0 and nothing changed. */
static inline int carve_pool_push_slot_(struct carve_pool_hot_ *p, void *block)
{
    if (__builtin_expect(((uintptr_t)block & p->guard) != 0, 0)) return 0;
    p->slot_frees++;
    *(void **)block = p->head;
    p->slot = (uintptr_t)block + 1;
    p->head = block;
    return 1;
}

/* carve_pool_alloc and carve_pool_free inlined into the caller (same contract, same results,
 * same stats, O(1), no thread safety): the common case costs no call, and the rest falls to the
 * _cold functions. Use them where a pool sits on a hot path; the plain calls are the same code
 * out of line.
 * They read struct carve_pool_hot_, so build against the header of the library you link. */
static inline void *carve_pool_alloc_inline(carve_pool *pool)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    void *blk;
    if (__builtin_expect(carve_pool_pop_pushed_(p, &blk), 1)) return blk;
    if (__builtin_expect(p->secret != 0, 1)) return carve_pool_alloc_keyed_(pool);
    return carve_pool_alloc_plain_(pool);
}

static inline carve_status carve_pool_free_inline(carve_pool *pool, void *block)
{
    struct carve_pool_hot_ *p = (struct carve_pool_hot_ *)(void *)pool;
    if (__builtin_expect((uintptr_t)block == p->slot, 1)) {
        if (__builtin_expect(carve_pool_push_slot_(p, block), 1)) return CARVE_OK;
        /* the slot block of a hardened or poisoned pool (even), or a tag (odd: foreign) */
        if (__builtin_expect(((uintptr_t)block & 1) == 0, 1)) return carve_pool_free_slot_(p, block);
    }
    return carve_pool_free_other_(pool, block);
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
