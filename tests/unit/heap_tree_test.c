/* tests/unit/heap_tree_test.c: the treaps that index FIRST, NEXT, BEST and WORST in ADDRESS order
 * (src/heap/heap_tree.c) make exactly the decisions of the address-ordered list.
 *
 * - Brute force: on random heaps (alignments 8, 16 and 32, so that 32-, 40- and 48-byte blocks
 *   occur; coalescing on and off; several regions), before each allocation a scan of the free
 *   blocks (carve_heap_walk, address order) picks the block by the policy's rule, and the heap
 *   must return that block's low end. NEXT's rover, read from the heap, must be where the rules
 *   put it after every allocation and free. carve_heap_check() == 0 after every step.
 * - Lockstep: the same random operations (alloc, aligned_alloc, realloc, free; also with
 *   split_high_below) through a tree-indexed heap and through the address-ordered list of
 *   heap_index.c (a heap whose tree flag is clear: the code the trees replace, kept as the
 *   reference), over two buffers: every returned offset, every block of the walk and the rover's
 *   offset must be equal, after every operation.
 * Each failure prints its seed (CARVE_TEST_SEED replays it); CARVE_TEST_SCALE multiplies the
 * operations. */
#include "heap/heap_tree.h"
#include "carve_test.h"

#include <string.h>

#define POOL ((size_t)8 << 20)
#define LIVE 512

typedef struct pool {
    unsigned char *base;
    size_t used;
    test_rng rng;
} pool;

/* The next piece of the buffer, after a gap one time in six (a new region). */
static void *pool_grow(void *ctx, size_t min_bytes, size_t *got)
{
    pool *p = ctx;
    size_t gap = test_rng_below(&p->rng, 6) == 0 ? 4096 : 0;
    size_t bytes = (min_bytes + 0xFFFF) & ~(size_t)0xFFFF;
    if (p->used + gap + bytes > POOL) return NULL;
    void *mem = p->base + p->used + gap;
    p->used += gap + bytes;
    *got = bytes;
    return mem;
}

/* Mostly small requests (many 32- to 64-byte blocks), some medium, a few large. */
static size_t draw_size(test_rng *rng)
{
    uint64_t r = test_rng_below(rng, 100);
    if (r < 45) return (size_t)test_rng_below(rng, 57);
    if (r < 85) return (size_t)test_rng_below(rng, 600);
    if (r < 98) return (size_t)test_rng_below(rng, 8000);
    return (size_t)test_rng_below(rng, 100000);
}

/* ---- the free blocks, by a walk ------------------------------------------------------------ */

typedef struct fb_list {
    size_t n;
    uintptr_t start[8192];
    size_t size[8192];
} fb_list;

static void collect(void *ctx, const carve_block_info *b)
{
    fb_list *l = ctx;
    if (b->used || l->n == 8192) return;
    l->start[l->n] = b->start;
    l->size[l->n++] = b->size;
}

static void free_blocks_of(const carve_heap *h, fb_list *l)
{
    l->n = 0;
    carve_heap_walk(h, collect, l);
    ck_assert_uint_lt(l->n, 8192);
}

/* The policy's choice by a scan: the index into l, or -1. */
static long brute_choice(carve_fit fit, const fb_list *l, size_t need, uintptr_t rover)
{
    long pick = -1;
    switch (fit) {
    case CARVE_FIT_NEXT:
        for (size_t i = 0; i < l->n; i++)
            if (l->start[i] >= rover && l->size[i] >= need) return (long)i;
        __attribute__((fallthrough)); /* wrap to the start */
    case CARVE_FIT_FIRST:
        for (size_t i = 0; i < l->n; i++)
            if (l->size[i] >= need) return (long)i;
        return -1;
    case CARVE_FIT_BEST:
        for (size_t i = 0; i < l->n; i++)
            if (l->size[i] >= need && (pick < 0 || l->size[i] < l->size[pick])) pick = (long)i;
        return pick;
    default:
        for (size_t i = 0; i < l->n; i++)
            if (pick < 0 || l->size[i] > l->size[pick]) pick = (long)i;
        return pick >= 0 && l->size[pick] >= need ? pick : -1;
    }
}

/* The lowest free block start above a, or 0. */
static uintptr_t first_after(const fb_list *l, uintptr_t a)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->start[i] > a) return l->start[i];
    return 0;
}

static size_t block_for(size_t n, size_t align)
{
    size_t s = (n + 8 + align - 1) & ~(align - 1), min = (32 + align - 1) & ~(align - 1);
    return s < min ? min : s;
}

/* ---- brute force --------------------------------------------------------------------------- */

static void brute_run(carve_fit fit, size_t align, bool coalesce, uint64_t seed)
{
    pool p = {.base = aligned_alloc(4096, POOL), .rng = {seed ^ 0x9001}};
    ck_assert_ptr_nonnull(p.base);
    carve_heap_config cfg = {.fit = fit, .order = CARVE_ORDER_ADDRESS, .align = align, .no_coalesce = !coalesce,
                             .grow = pool_grow, .grow_ctx = &p};
    p.used = 256 << 10;
    carve_heap *h = carve_heap_init(p.base, p.used, &cfg);
    ck_assert_ptr_nonnull(h);
    ck_assert(h->tree);
    static fb_list before, after;
    void *live[LIVE];
    size_t nlive = 0;
    test_rng rng = {seed};
    unsigned long ops = 4000ul * (unsigned long)test_scale();
    for (unsigned long op = 0; op < ops; op++) {
        uintptr_t rover = (uintptr_t)h->rover;
        free_blocks_of(h, &before);
        if (nlive == 0 || (nlive < LIVE && test_rng_below(&rng, 100) < 55)) {
            size_t n = draw_size(&rng), need = block_for(n, align);
            long want = brute_choice(fit, &before, need, rover);
            unsigned char *q = carve_heap_alloc(h, n);
            if (q == NULL) CARVE_FAILF(seed, "op %lu: alloc %zu gave NULL", op, n);
            live[nlive++] = q;
            free_blocks_of(h, &after);
            if (want >= 0) {
                uintptr_t c = before.start[want];
                if ((uintptr_t)q - 8 != c)
                    CARVE_FAILF(seed, "op %lu: fit %d alloc %zu (block %zu): got %#lx, the scan picks %#lx (size %zu)",
                                op, (int)fit, n, need, (unsigned long)((uintptr_t)q - 8), (unsigned long)c,
                                before.size[want]);
                if (fit == CARVE_FIT_NEXT) {
                    size_t rest = before.size[want] - need;
                    uintptr_t r = rest >= block_for(0, align) ? c + need : first_after(&after, c);
                    if ((uintptr_t)h->rover != r)
                        CARVE_FAILF(seed, "op %lu: rover %#lx after an alloc, want %#lx", op,
                                    (unsigned long)(uintptr_t)h->rover, (unsigned long)r);
                }
            }
        } else {
            size_t i = (size_t)test_rng_below(&rng, nlive);
            uintptr_t b = (uintptr_t)live[i] - 8;
            ck_assert_int_eq(carve_heap_free(h, live[i]), CARVE_OK);
            live[i] = live[--nlive];
            free_blocks_of(h, &after);
            if (fit == CARVE_FIT_NEXT && rover != 0) {
                /* the block that b became: the free block holding b; if the rover's block was
                 * merged into it (it lies inside), the rover moves to the next free block */
                uintptr_t m = 0, m_end = 0;
                for (size_t k = 0; k < after.n; k++)
                    if (after.start[k] <= b && b < after.start[k] + after.size[k])
                        m = after.start[k], m_end = m + after.size[k];
                uintptr_t r = m <= rover && rover < m_end ? first_after(&after, m) : rover;
                if ((uintptr_t)h->rover != r)
                    CARVE_FAILF(seed, "op %lu: rover %#lx after a free, want %#lx", op,
                                (unsigned long)(uintptr_t)h->rover, (unsigned long)r);
            }
        }
        size_t bad = carve_heap_check(h);
        if (bad != 0) CARVE_FAILF(seed, "op %lu: check found %zu violations", op, bad);
    }
    free(p.base);
}

/* _i: fit (4) x alignment (8, 16, 32) x coalescing */
START_TEST(tree_picks_what_a_scan_picks)
{
    static const size_t aligns[] = {8, 16, 32};
    carve_fit fit = (carve_fit)(_i % 4);
    brute_run(fit, aligns[(_i / 4) % 3], _i < 12, test_seed() + (uint64_t)_i);
}
END_TEST

/* ---- lockstep with the list ---------------------------------------------------------------- */

typedef struct walk_log {
    size_t n;
    uintptr_t base;
    uint64_t hash;
} walk_log;

static void log_block(void *ctx, const carve_block_info *b)
{
    walk_log *l = ctx;
    uint64_t x = ((uint64_t)(b->start - l->base) << 1 | b->used) * 0x9E3779B97F4A7C15ull ^ b->size ^ l->hash;
    l->hash = x * 0xBF58476D1CE4E5B9ull;
    l->n++;
}

static walk_log walk_of(const carve_heap *h, const unsigned char *base)
{
    walk_log l = {0, (uintptr_t)base, 0};
    carve_heap_walk(h, log_block, &l);
    return l;
}

static long off(const void *q, const unsigned char *base) { return q == NULL ? -1 : (long)((const unsigned char *)q - base); }

static void lockstep_run(carve_fit fit, size_t align, bool coalesce, size_t split_high, uint64_t seed)
{
    pool pt = {.base = aligned_alloc(4096, POOL), .rng = {seed ^ 0x9001}};
    pool pl = {.base = aligned_alloc(4096, POOL), .rng = {seed ^ 0x9001}};
    ck_assert(pt.base != NULL && pl.base != NULL);
    carve_heap_config cfg = {.fit = fit, .order = CARVE_ORDER_ADDRESS, .align = align, .no_coalesce = !coalesce,
                             .grow = pool_grow, .grow_ctx = &pt, .split_high_below = split_high};
    pt.used = pl.used = 64 << 10;
    carve_heap *ht = carve_heap_init(pt.base, pt.used, &cfg);
    /* the reference: a LIFO list of one block is also in address order; then it is kept as one */
    cfg.order = CARVE_ORDER_LIFO;
    cfg.grow_ctx = &pl;
    carve_heap *hl = carve_heap_init(pl.base, pl.used, &cfg);
    ck_assert(ht != NULL && hl != NULL && ht->tree && !hl->tree);
    hl->order = CARVE_ORDER_ADDRESS;
    ck_assert_uint_eq(carve_heap_check(hl), 0);

    long live[LIVE]; /* offsets in each buffer (the same) */
    size_t nlive = 0;
    test_rng rng = {seed};
    unsigned long ops = 10000ul * (unsigned long)test_scale();
    for (unsigned long op = 0; op < ops; op++) {
        uint64_t kind = test_rng_below(&rng, 100);
        if (nlive == 0) kind = 0;
        if (nlive == LIVE && kind < 55) kind = 99;
        size_t n = draw_size(&rng);
        long a, b;
        if (kind < 50) {
            a = off(carve_heap_alloc(ht, n), pt.base), b = off(carve_heap_alloc(hl, n), pl.base);
        } else if (kind < 55) {
            size_t al = (size_t)1 << test_rng_range(&rng, 5, 12);
            a = off(carve_heap_aligned_alloc(ht, al, n), pt.base), b = off(carve_heap_aligned_alloc(hl, al, n), pl.base);
        } else if (kind < 65) {
            size_t i = (size_t)test_rng_below(&rng, nlive);
            a = off(carve_heap_realloc(ht, pt.base + live[i], n), pt.base);
            b = off(carve_heap_realloc(hl, pl.base + live[i], n), pl.base);
            if (a >= 0 && a == b) live[i] = live[--nlive]; /* re-added below */
        } else {
            size_t i = (size_t)test_rng_below(&rng, nlive);
            ck_assert_int_eq(carve_heap_free(ht, pt.base + live[i]), CARVE_OK);
            ck_assert_int_eq(carve_heap_free(hl, pl.base + live[i]), CARVE_OK);
            live[i] = live[--nlive];
            a = b = -1;
        }
        if (a != b)
            CARVE_FAILF(seed, "op %lu (kind %llu, %zu bytes): the tree gave offset %ld, the list %ld", op,
                        (unsigned long long)kind, n, a, b);
        if (a >= 0) live[nlive++] = a;
        walk_log wt = walk_of(ht, pt.base), wl = walk_of(hl, pl.base);
        if (wt.n != wl.n || wt.hash != wl.hash)
            CARVE_FAILF(seed, "op %lu: the walks differ (%zu and %zu blocks)", op, wt.n, wl.n);
        if (off(ht->rover, pt.base) != off(hl->rover, pl.base))
            CARVE_FAILF(seed, "op %lu: rover at %ld in the tree, %ld in the list", op, off(ht->rover, pt.base),
                        off(hl->rover, pl.base));
        size_t bad = carve_heap_check(ht);
        if (bad != 0) CARVE_FAILF(seed, "op %lu: check found %zu violations", op, bad);
    }
    ck_assert_uint_eq(carve_heap_check(hl), 0);
    free(pt.base);
    free(pl.base);
}

/* _i: fit (4) x {align 16, align 8 with split_high_below 256, align 32} x coalescing */
START_TEST(tree_and_list_in_lockstep)
{
    carve_fit fit = (carve_fit)(_i % 4);
    int variant = (_i / 4) % 3;
    lockstep_run(fit, variant == 0 ? 16 : variant == 1 ? 8 : 32, _i < 12, variant == 1 ? 256 : 0,
                 test_seed() + 100 + (uint64_t)_i);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("heap_tree");
    TCase *tc = tcase_create("decisions");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, tree_picks_what_a_scan_picks, 0, 24);
    tcase_add_loop_test(tc, tree_and_list_in_lockstep, 0, 24);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(suite)
