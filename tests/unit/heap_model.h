/*
 * tests/unit/heap_model.h: the region heap's randomized model test, shared by the
 * heap_model_*_test.c files (one per policy group, so that CTest runs them in parallel).
 *
 * For one policy x order x coalescing setting: at least 100,000 (x CARVE_TEST_SCALE) seeded
 * operations, alloc / aligned_alloc / realloc / free with sizes 0..64 KiB, against a shadow
 * model of the live blocks. After EVERY operation: carve_heap_check() == 0. Every new block is
 * aligned, large enough, and overlaps no live block; contents (a fill byte per block) survive
 * realloc and are intact at free; the heap's requested-bytes counter equals the model's. The
 * heap starts small and grows through a callback that hands out pieces of one buffer, some
 * contiguous with the last piece (extending a region) and some not (new regions). A request
 * may fail only when that callback refused memory during it (the buffer is used up): a NULL
 * while memory was still to be had fails the test.
 */
#ifndef CARVE_HEAP_MODEL_H
#define CARVE_HEAP_MODEL_H

#include "carve/heap.h"
#include "carve_test.h"

#include <string.h>

#define MODEL_LIVE 64
#define MODEL_POOL ((size_t)48 << 20)
/* Without coalescing the heap only ever splits, so its free blocks grow in number until every
 * one is tiny, and each check after a step gets slower. Such a heap is emptied, checked and
 * started afresh every MODEL_EPOCH operations, from a smaller pool. */
#define MODEL_POOL_NO_COALESCE ((size_t)4 << 20)
#define MODEL_EPOCH 1000ul

typedef struct model_block {
    unsigned char *p;
    size_t n, usable;
    unsigned char fill;
} model_block;

typedef struct model_pool {
    unsigned char *base;
    size_t used, size;
    unsigned long refused; /* grow calls answered NULL: the buffer is used up */
    test_rng rng;
} model_pool;

/* The grow callback: the next piece of the buffer, sometimes after a gap (a new region). */
static void *model_grow(void *ctx, size_t min_bytes, size_t *got)
{
    model_pool *pool = ctx;
    size_t gap = test_rng_below(&pool->rng, 8) == 0 ? 4096 : 0;
    size_t bytes = (min_bytes + 0x3FFFF) & ~(size_t)0x3FFFF;
    if (pool->used + gap + bytes > pool->size) {
        pool->refused++;
        return NULL;
    }
    void *mem = pool->base + pool->used + gap;
    pool->used += gap + bytes;
    *got = bytes;
    return mem;
}

static size_t model_size(test_rng *rng)
{
    uint64_t r = test_rng_below(rng, 100);
    if (r < 70) return (size_t)test_rng_below(rng, 257);
    if (r < 95) return (size_t)test_rng_below(rng, 4097);
    return (size_t)test_rng_below(rng, 65537);
}

static int model_intact(const model_block *b)
{
    uint64_t want = 0x0101010101010101ull * b->fill, word;
    size_t i = 0;
    for (; i + 8 <= b->n; i += 8) {
        memcpy(&word, b->p + i, 8);
        if (word != want) return 0;
    }
    for (; i < b->n; i++)
        if (b->p[i] != b->fill) return 0;
    return 1;
}

/* A new block p for n bytes: aligned, large enough, overlapping no other live block (headers
 * included). Returns its usable size. */
static size_t model_accept(uint64_t seed, unsigned long op, const model_block *live, size_t nlive,
                           unsigned char *p, size_t n, size_t align, const carve_heap *h, size_t skip)
{
    if (((uintptr_t)p & (align - 1)) != 0) CARVE_FAILF(seed, "op %lu: %p not %zu-aligned", op, (void *)p, align);
    size_t usable = carve_heap_usable_size(h, p);
    if (usable < n) CARVE_FAILF(seed, "op %lu: usable %zu < requested %zu", op, usable, n);
    for (size_t i = 0; i < nlive; i++) {
        const model_block *o = &live[i];
        if (i != skip && p < o->p + o->usable + 8 && o->p < p + usable + 8)
            CARVE_FAILF(seed, "op %lu: block %p+%zu overlaps live %p+%zu", op, (void *)p, usable,
                        (void *)o->p, o->usable);
    }
    return usable;
}

/* Free every live block, checking contents; the heap must then hold no used byte. */
static void model_free_all(uint64_t seed, carve_heap *h, model_block *live, size_t *nlive)
{
    while (*nlive > 0) {
        model_block *b = &live[--*nlive];
        if (!model_intact(b)) CARVE_FAILF(seed, "final free: contents changed");
        if (carve_heap_free(h, b->p) != CARVE_OK) CARVE_FAILF(seed, "final free failed");
    }
    carve_stats st;
    carve_stats_init(&st);
    carve_heap_stats(h, &st);
    if (st.used != 0 || st.requested != 0 || carve_heap_check(h) != 0)
        CARVE_FAILF(seed, "empty heap: used %zu, requested %zu, check %zu", st.used, st.requested,
                    carve_heap_check(h));
}

/* seed: CARVE_TEST_SEED (printed on failure, replays every case); salt: this case's offset. */
static void model_run(carve_fit fit, carve_order order, bool no_coalesce, size_t align, size_t split_high,
                      uint64_t seed, uint64_t salt)
{
    size_t pool_size = no_coalesce ? MODEL_POOL_NO_COALESCE : MODEL_POOL;
    model_pool pool = {.base = malloc(pool_size), .size = pool_size, .rng = {(seed + salt) ^ 0x5eed}};
    if (pool.base == NULL) CARVE_FAILF(seed, "no memory for the pool");
    test_rng rng = {seed + salt};
    carve_heap_config cfg = {.fit = fit, .order = order, .no_coalesce = no_coalesce, .align = align,
                             .grow = model_grow, .grow_ctx = &pool, .split_high_below = split_high,
                             .grow_min = split_high * 64};
    pool.used = 64 << 10;
    carve_heap *h = carve_heap_init(pool.base, pool.used, &cfg);
    if (h == NULL) CARVE_FAILF(seed, "init failed");
    model_block live[MODEL_LIVE];
    size_t nlive = 0, requested = 0;
    unsigned long failed = 0;
    unsigned long ops = 100000ul * (unsigned long)test_scale();
    for (unsigned long op = 0; op < ops; op++) {
        if (no_coalesce && op % MODEL_EPOCH == MODEL_EPOCH - 1) {
            model_free_all(seed, h, live, &nlive);
            requested = 0;
            pool.used = 64 << 10;
            h = carve_heap_init(pool.base, pool.used, &cfg);
            if (h == NULL) CARVE_FAILF(seed, "op %lu: init failed", op);
        }
        unsigned long refused = pool.refused;
        uint64_t kind = test_rng_below(&rng, 100);
        if (nlive == MODEL_LIVE && kind < 50) kind = 80;
        if (nlive == 0 && kind >= 50) kind = 0;
        size_t n = model_size(&rng);
        unsigned char fill = (unsigned char)(op * 131u + 7u);
        if (kind < 50) { /* alloc or aligned_alloc */
            size_t al = align;
            unsigned char *p;
            if (kind < 12) {
                al = (size_t)1 << test_rng_range(&rng, 3, 13);
                p = carve_heap_aligned_alloc(h, al, n);
                if (al < align) al = align;
            } else {
                p = carve_heap_alloc(h, n);
            }
            if (p != NULL) {
                size_t usable = model_accept(seed, op, live, nlive, p, n, al, h, SIZE_MAX);
                memset(p, fill, n);
                live[nlive++] = (model_block){p, n, usable, fill};
                requested += n;
            } else if (pool.refused == refused) {
                CARVE_FAILF(seed, "op %lu: %s of %zu bytes (align %zu) gave NULL, memory was still to be had", op,
                            kind < 12 ? "aligned_alloc" : "alloc", n, al);
            } else {
                failed++;
            }
        } else if (kind < 65) { /* realloc */
            size_t i = (size_t)test_rng_below(&rng, nlive);
            model_block *b = &live[i];
            unsigned char *q = carve_heap_realloc(h, b->p, n);
            if (q != NULL) {
                size_t keep = n < b->n ? n : b->n;
                for (size_t k = 0; k < keep; k++)
                    if (q[k] != b->fill) CARVE_FAILF(seed, "op %lu: realloc lost byte %zu of %zu", op, k, keep);
                size_t usable = model_accept(seed, op, live, nlive, q, n, align, h, i);
                memset(q, fill, n);
                requested = requested - b->n + n;
                *b = (model_block){q, n, usable, fill};
            } else if (!model_intact(b)) {
                CARVE_FAILF(seed, "op %lu: a failed realloc changed the block", op);
            } else if (pool.refused == refused) {
                CARVE_FAILF(seed, "op %lu: realloc to %zu bytes gave NULL, memory was still to be had", op, n);
            } else {
                failed++;
            }
        } else { /* free */
            size_t i = (size_t)test_rng_below(&rng, nlive);
            if (!model_intact(&live[i])) CARVE_FAILF(seed, "op %lu: contents of a live block changed", op);
            carve_status st = carve_heap_free(h, live[i].p);
            if (st != CARVE_OK) CARVE_FAILF(seed, "op %lu: free gave %s", op, carve_strerror(st));
            requested -= live[i].n;
            live[i] = live[--nlive];
        }
#ifdef MODEL_TRACE
        MODEL_TRACE(h, op, kind, n);
#endif
        size_t bad = carve_heap_check(h);
        if (bad != 0) CARVE_FAILF(seed, "op %lu (kind %llu, size %zu): check found %zu violations", op,
                                  (unsigned long long)kind, n, bad);
        if ((op & 255) == 0) {
            carve_stats st;
            carve_stats_init(&st);
            carve_heap_stats(h, &st);
            if (st.requested != requested)
                CARVE_FAILF(seed, "op %lu: stats.requested %zu, model %zu", op, st.requested, requested);
        }
    }
    model_free_all(seed, h, live, &nlive);
    /* the buffer is large enough for a coalescing heap: none of its requests may fail */
    if (!no_coalesce && failed != 0) CARVE_FAILF(seed, "%lu requests failed with coalescing on", failed);
    free(pool.base);
}

/* Loop index i of a tcase: order = i / 2, coalescing off when i is odd; the alignment (8, 16,
 * 32) and the split_high_below/grow_min variant (every third case) rotate. */
static void model_case(carve_fit fit, int i)
{
    static const size_t aligns[] = {16, 8, 32};
    carve_order order = (carve_order)(i / 2);
    bool no_coalesce = (i & 1) != 0;
    model_run(fit, order, no_coalesce, aligns[(size_t)i % 3], i % 3 == 2 ? 256 : 0, test_seed(),
              (uint64_t)(fit * 10 + i));
}

#endif /* CARVE_HEAP_MODEL_H */
