/*
 * src/pool.c: the fixed-size pool (seed 003).
 *
 * Algorithm: the caller's memory is cut into N equal blocks after a small control area. Free
 * blocks form an intrusive singly linked LIFO list (the link is the first word of each free
 * block); alloc pops the head, free pushes onto it. At init the list is 0 -> 1 -> ... -> N-1.
 * An in-use bitmap (one bit per block) answers "is this block live" in O(1), which catches a
 * double free without trusting anything stored inside a block. One entry is deferred: the block
 * handed out last sits in a slot with its bit still clear, and only the next alloc sets that bit;
 * a free of that block empties the slot. An alloc followed by the free of the same block (the
 * commonest pattern) thus never touches the bitmap, and in use means "bit set, or the slot".
 *
 * Invariants: the list holds exactly the blocks not in use, each once; the slot block's bit is
 * clear; the set bits number marks - unmarks; the list's length is N - live (src/pool_impl.h,
 * "Counting"); the bits past N are clear. Bound: alloc and free are O(1) (no scan, no search);
 * init, check and walk are O(N). Layout and traps: src/pool_impl.h.
 */
#include "pool_impl.h"

#include <string.h>

/* A per-pool secret when the caller gives none: mixes ASLR'd addresses and a counter through
 * splitmix64. Not cryptographic; it only keeps two pools' keys apart. */
static uint64_t derive_secret(const void *mem)
{
    static uint64_t counter; /* atomic: pools may be set up on several threads at once */
    uint64_t local = 0, tick = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    uint64_t z = (uint64_t)(uintptr_t)mem ^ ((uint64_t)(uintptr_t)&local << 17) ^
                 ((uint64_t)(uintptr_t)&counter << 31) ^ (tick * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z != 0 ? z : 0x5eed;
}

/* Do N blocks of bs, their bitmap and the alignment fit in [after_hdr, end)? */
static bool pool_fits(uintptr_t after_hdr, uintptr_t end, size_t bs, size_t n)
{
    uintptr_t base = carve_align_up_ptr(after_hdr + (n + 63) / 64 * sizeof(uint64_t), 16);
    return base <= end && (end - base) / bs >= n;
}

carve_pool *carve_pool_format(void *mem, size_t bytes, size_t block_size, unsigned flags, uint64_t secret)
{
    if (mem == NULL || block_size == 0 || (flags & ~(unsigned)CARVE_POOL_HARDENED) != 0) return NULL;
    size_t bs;
    if (!carve_align_up_checked(block_size, sizeof(void *), &bs) || bs > UINT32_MAX) return NULL;

    uintptr_t start = (uintptr_t)mem, end;
    if (__builtin_add_overflow(start, bytes, &end)) return NULL;
    uintptr_t hdr = carve_align_up_ptr(start, _Alignof(carve_pool));
    uintptr_t after_hdr = hdr + offsetof(carve_pool, bits);
    if (hdr < start || after_hdr > end) return NULL;
    /* N blocks need ceil(N/64) bitmap words; solve from an upper bound downwards. */
    size_t room = end - after_hdr;
    /* Start near the answer (the bitmap costs 1/8 byte per block, alignment up to 15 bytes),
     * then step to the largest N that fits: a few steps either way. */
    size_t n = room / bs, guess_words = (n + 63) / 64;
    n = room > guess_words * sizeof(uint64_t) + 15 ? (room - guess_words * sizeof(uint64_t) - 15) / bs : 0;
    while (n < room / bs && pool_fits(after_hdr, end, bs, n + 1)) n++;
    while (n > 0 && !pool_fits(after_hdr, end, bs, n)) n--;
    if (n == 0) return NULL;

    carve_pool *p = (carve_pool *)hdr;
    memset(p, 0, sizeof *p);
    size_t words = (n + 63) / 64;
    p->bitmap = p->bits;
    memset(p->bitmap, 0, words * sizeof(uint64_t));
    p->base = carve_align_up_ptr(after_hdr + words * sizeof(uint64_t), 16);
    p->block_size = bs;
    p->nblocks = n;
    p->rot = (unsigned)__builtin_ctzll(bs);
    /* Newton's iteration for the inverse of the odd part mod 2^64: odd * odd == 1 mod 8 gives 3
     * correct bits, each step doubles them (3, 6, 12, 24, 48, 96). */
    uint64_t odd = bs >> p->rot, inv = odd;
    for (int k = 0; k < 5; k++) inv *= 2 - odd * inv;
    p->inv = inv;
    p->limit = n;
    p->span = n * bs;
    p->flags = flags;
    if (flags & CARVE_POOL_HARDENED) p->secret = (uintptr_t)(secret != 0 ? secret : derive_secret(mem));
    p->keyed = p->secret != 0 ? UINTPTR_MAX : 0;
    p->guard = p->keyed | 1;
    p->bytes = bytes;
    p->magic = POOL_MAGIC;

    /* Thread 0 -> 1 -> ... -> N-1 -> NULL. */
    for (size_t i = 0; i < n; i++) {
        void **link = (void **)(p->base + i * bs);
        pool_encode(p, link, i + 1 < n ? (void *)(p->base + (i + 1) * bs) : NULL);
    }
    p->head = (void *)p->base;
    /* empty, and the head is block 0: as if block 0 had just been freed (struct carve_pool_hot_) */
    p->slot = p->base + 1 + (p->guard & 2);
    return p;
}

CARVE_API carve_pool *carve_pool_init_ex(void *mem, size_t bytes, size_t block_size, unsigned flags,
                                         uint64_t secret)
{
    return carve_pool_format(mem, bytes, block_size, flags, secret);
}

CARVE_API carve_pool *carve_pool_init(void *mem, size_t bytes, size_t block_size)
{
    return carve_pool_format(mem, bytes, block_size, 0, 0);
}

/* Everything carve_pool_alloc_inline leaves: exhaustion, a head that is no block start, a bad
 * hardened link (both poison the pool), and a poisoned pool. */
CARVE_API void *carve_pool_alloc_cold(carve_pool *p)
{
    void **blk = (void **)p->head;
    if (blk == NULL || p->poisoned) goto fail;
    /* Plain links are unchecked beyond this: a head that is not a block start of this pool is
     * never used, which keeps a use-after-free write from becoming a wild bitmap write. */
    size_t i = pool_index(p, (uintptr_t)blk);
    if (i == SIZE_MAX) goto poison;
    void *next = pool_decode(p, blk);
    if (p->secret != 0 && (!pool_link_ok(p, next) || next == (void *)blk)) goto poison;
    return carve_pool_take_(pool_hot(p), blk, next);
poison:
    p->poisoned = true;
    /* the fast paths must not pop past the bad link either: send every op here from now on, and
     * give empty slots the tag no head matches */
    p->limit = 0;
    p->guard = UINTPTR_MAX;
fail:
    p->failed++;
    return NULL;
}

/* Everything carve_pool_free_inline leaves: NULL, foreign and double frees, a poisoned pool. */
CARVE_API carve_status carve_pool_free_cold(carve_pool *p, void *block)
{
    if (block == NULL) return CARVE_OK; /* foreign to every pool, but defined as a no-op */
    size_t i = pool_index(p, (uintptr_t)block);
    if (i == SIZE_MAX) return CARVE_EFOREIGN;
    if ((uintptr_t)block == p->slot) {
        p->slot = (uintptr_t)block + 1 + (p->guard & 2);
        p->slot_frees++;
    } else {
        uint64_t *w = &p->bitmap[i >> 6];
        uint64_t bit = 1ull << (i & 63);
        if ((*w & bit) == 0) return CARVE_EDOUBLEFREE;
        *w &= ~bit;
        p->unmarks++;
    }
    pool_encode(p, (void **)block, p->head);
    p->head = block;
    return CARVE_OK;
}

/* The inline paths behind a call. The hardened alloc and the free of a block other than the slot
 * sit in functions of their own, so that the pair's path needs no callee-saved registers (no
 * pushes and pops around every call). Both entry points start a 64-byte line: on the Zen 3 test
 * machine the alloc's fast path straddling two lines cost the pair about 0.6 ns (docs/pool.md). */
static __attribute__((noinline)) void *alloc_keyed(carve_pool *p) { return carve_pool_alloc_keyed_(p); }
static __attribute__((noinline)) carve_status free_other(carve_pool *p, void *block)
{
    return carve_pool_free_other_(p, block);
}

CARVE_API __attribute__((aligned(64))) void *carve_pool_alloc(carve_pool *p)
{
    void *blk;
    if (CARVE_LIKELY(carve_pool_pop_pushed_(pool_hot(p), &blk))) return blk;
    if (p->secret != 0) return alloc_keyed(p);
    return carve_pool_alloc_plain_(p);
}

CARVE_API __attribute__((aligned(64))) carve_status carve_pool_free(carve_pool *p, void *block)
{
    if (CARVE_LIKELY((uintptr_t)block == p->slot)) {
        if (CARVE_LIKELY(carve_pool_push_slot_(pool_hot(p), block))) return CARVE_OK;
        if (((uintptr_t)block & 1) == 0) return carve_pool_free_slot_(pool_hot(p), block);
    }
    return free_other(p, block);
}

CARVE_API size_t carve_pool_capacity(const carve_pool *p) { return p->nblocks; }
CARVE_API size_t carve_pool_available(const carve_pool *p) { return pool_nfree(p); }
CARVE_API size_t carve_pool_block_size(const carve_pool *p) { return p->block_size; }

CARVE_API size_t carve_pool_usable_size(const carve_pool *p, const void *block)
{
    size_t i = pool_index(p, (uintptr_t)block);
    return i != SIZE_MAX && pool_in_use(p, i) ? p->block_size : 0;
}

size_t carve_pool_check_impl(const carve_pool *p)
{
    size_t bad = 0;
    if (p->magic != POOL_MAGIC) return 1; /* nothing else can be trusted */
    if (p->poisoned) bad++;
    size_t nfree = pool_nfree(p);
    if (nfree > p->nblocks || p->span != p->nblocks * p->block_size) bad++;
    if (p->keyed != (p->secret != 0 ? UINTPTR_MAX : 0)) bad++;
    if (p->bitmap != p->bits || p->limit != (p->poisoned ? 0 : p->nblocks)) bad++;
    if (p->inv * (p->block_size >> p->rot) != 1 || ((p->block_size >> p->rot) & 1) == 0) bad++;
    if (p->guard != ((p->secret != 0 || p->poisoned) ? UINTPTR_MAX : 1)) bad++;
    /* the slot: a block start whose bit is clear (it must not count twice), or an empty slot's
     * tag naming a free block */
    if ((p->slot & 1) == 0) {
        size_t s = pool_index(p, p->slot);
        if (s == SIZE_MAX || pool_bit(p, s)) bad++;
    } else {
        size_t x = pool_index(p, p->slot - 1 - (p->guard & 2));
        if (x == SIZE_MAX || pool_in_use(p, x)) bad++;
    }
    size_t words = (p->nblocks + 63) / 64, bits = 0;
    for (size_t w = 0; w < words; w++) bits += carve_popcount64(p->bitmap[w]);
    if (p->nblocks % 64 != 0 && (p->bitmap[words - 1] >> (p->nblocks % 64)) != 0) bad++;
    /* the set bits match the counters; the peak bounds them and leaves room for the slot block */
    if (bits != p->marks - p->unmarks || bits > p->peak_marks || p->peak_marks >= p->nblocks) bad++;
    /* The list: each node a free block start, no more nodes than free blocks (so no cycle). */
    size_t len = 0;
    void *cur = p->head;
    while (cur != NULL) {
        size_t i = pool_index(p, (uintptr_t)cur);
        if (i == SIZE_MAX || pool_in_use(p, i) || len >= nfree) {
            bad++;
            return bad;
        }
        len++;
        cur = pool_decode(p, (void *const *)cur);
    }
    if (len != nfree) bad++;
    return bad;
}

CARVE_API size_t carve_pool_check(const carve_pool *p) { return p == NULL ? 1 : carve_pool_check_impl(p); }

CARVE_API void carve_pool_walk(const carve_pool *p, carve_walk_fn fn, void *ctx)
{
    for (size_t i = 0; i < p->nblocks; i++) {
        bool used = pool_in_use(p, i);
        carve_block_info b = {.start = p->base + i * p->block_size, .size = p->block_size,
                              .payload = used ? p->block_size : 0, .used = used};
        fn(ctx, &b);
    }
}

CARVE_API void carve_pool_stats(const carve_pool *p, carve_stats *out)
{
    if (!carve_stats_begin(out)) return;
    out->capacity = p->bytes;
    size_t nfree = pool_nfree(p);
    out->used = (p->nblocks - nfree) * p->block_size;
    out->free = nfree * p->block_size;
    out->free_blocks = nfree;
    out->largest_free = nfree > 0 ? p->block_size : 0;
    out->requested = out->used;
    /* see "Counting" in src/pool_impl.h */
    out->frees = p->slot_frees + p->unmarks;
    out->allocs = out->frees + (p->nblocks - nfree);
    out->peak_requested = out->allocs > 0 ? (p->peak_marks + 1) * p->block_size : 0;
    out->failed = p->failed;
}
