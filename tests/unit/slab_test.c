/* tests/unit/slab_test.c: the slab cache. Config rules, routing to the smallest class, growth
 * and release of slabs (at most one empty per class), grow failures, a grow callback with
 * misaligned memory, every status carve_slab_free returns (random and unmapped pointers
 * included, and a double free after the slab went back), per-class stats, walk, and a
 * randomized run against a model of the classes' slabs (double frees included) with the
 * checker after every step. */
#include "carve/slab.h"
#include "carve_test.h"
#include "walk_log.h"
#include "internal.h"
#include "os/os.h"

#include <stdlib.h>
#include <string.h>

/* A grow callback over a static arena: bump allocation, `skew` bytes off alignment, counting
 * the bytes it has out (release only counts; the arena is reset per test). */
typedef struct bump {
    unsigned char *mem;
    size_t size, top, out, grows, releases;
    size_t skew;
    long fail_after; /* grows left before failing; -1 never */
} bump;
static _Alignas(65536) unsigned char bump_mem[(size_t)256 << 20]; /* bss: only touched pages cost */

static void *bump_grow(void *ctx, size_t min_bytes, size_t *got)
{
    bump *b = ctx;
    if (b->fail_after == 0) return NULL;
    if (b->fail_after > 0) b->fail_after--;
    size_t at = carve_align_up(b->top, 65536) + b->skew;
    if (at + min_bytes > b->size) return NULL;
    b->top = at + min_bytes;
    b->out += min_bytes;
    b->grows++;
    *got = min_bytes;
    return b->mem + at;
}
static void bump_release(void *ctx, void *mem, size_t bytes)
{
    bump *b = ctx;
    ck_assert_ptr_nonnull(mem);
    b->out -= bytes;
    b->releases++;
}
static bump new_bump(size_t skew) { return (bump){bump_mem, sizeof bump_mem, 0, 0, 0, 0, skew, -1}; }

static void snapshot(const carve_slab *s, carve_stats *st)
{
    carve_stats_init(st);
    carve_slab_stats(s, st);
}

START_TEST(create_checks_the_config)
{
    carve_slab *s = carve_slab_create(NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(carve_slab_class_count(s), 9);
    carve_slab_class_stats cs;
    ck_assert(carve_slab_class_info(s, 0, &cs));
    ck_assert_uint_eq(cs.block_size, 16);
    ck_assert(carve_slab_class_info(s, 8, &cs));
    ck_assert_uint_eq(cs.block_size, 4096);
    ck_assert(!carve_slab_class_info(s, 9, &cs));
    carve_slab_destroy(s);

    size_t zero[] = {16, 0}, big[] = {1 << 20}, many[CARVE_SLAB_MAX_CLASSES + 1];
    for (size_t i = 0; i < CARVE_SLAB_MAX_CLASSES + 1; i++) many[i] = 8 * (i + 1);
    bump b = new_bump(0);
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.sizes = zero, .nsizes = 2}));
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.sizes = zero, .nsizes = 0}));
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.sizes = many, .nsizes = CARVE_SLAB_MAX_CLASSES + 1}));
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.sizes = big, .nsizes = 1, .slab_bytes = 1 << 20}));
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.sizes = (size_t[]){(size_t)1 << 39}, .nsizes = 1}));
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.grow = bump_grow, .ctx = &b}));
    b.fail_after = 0;
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.grow = bump_grow, .release = bump_release, .ctx = &b}));
    carve_os_fail_after(0);
    ck_assert_ptr_null(carve_slab_create(NULL));
    carve_os_fail_after(-1);
}
END_TEST

START_TEST(requests_go_to_the_smallest_class_that_fits)
{
    carve_slab *s = carve_slab_create(NULL);
    struct { size_t ask, want; } cases[] = {{0, 16}, {1, 16}, {16, 16}, {17, 32}, {33, 64}, {1000, 1024},
                                            {2049, 4096}, {4096, 4096}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = carve_slab_alloc(s, cases[i].ask);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(carve_slab_usable_size(s, p), cases[i].want);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        memset(p, 0x5A, cases[i].want);
    }
    ck_assert_ptr_null(carve_slab_alloc(s, 4097));
    carve_stats st;
    snapshot(s, &st);
    ck_assert_uint_eq(st.failed, 1);
    ck_assert_uint_eq(st.allocs, 8);
    ck_assert_uint_eq(carve_slab_check(s), 0);
    carve_slab_destroy(s);

    size_t custom[] = {100, 24, 8, 20};
    s = carve_slab_create(&(carve_slab_config){.sizes = custom, .nsizes = 4, .slab_bytes = 5000});
    ck_assert_uint_eq(carve_slab_class_count(s), 3); /* 8, 24, 104 (20 and 24 merge) */
    ck_assert_uint_eq(carve_slab_usable_size(s, carve_slab_alloc(s, 9)), 24);
    ck_assert_uint_eq(carve_slab_usable_size(s, carve_slab_alloc(s, 101)), 104);
    ck_assert_uint_eq(carve_slab_usable_size(s, carve_slab_alloc(s, 8)), 8);
    ck_assert_ptr_null(carve_slab_alloc(s, 105));
    carve_slab_destroy(s);

    /* classes above the lookup table's range are found by a scan */
    size_t large[] = {64, 10000, 20000};
    s = carve_slab_create(&(carve_slab_config){.sizes = large, .nsizes = 3});
    ck_assert_uint_eq(carve_slab_usable_size(s, carve_slab_alloc(s, 9000)), 10000);
    ck_assert_uint_eq(carve_slab_usable_size(s, carve_slab_alloc(s, 10001)), 20000);
    ck_assert_uint_eq(carve_slab_usable_size(s, carve_slab_alloc(s, 65)), 10000);
    ck_assert_ptr_null(carve_slab_alloc(s, 20001));
    ck_assert_uint_eq(carve_slab_check(s), 0);
    carve_slab_destroy(s);

    /* slab_bytes 0 grows to fit 4 blocks of a large class; an explicit one does not */
    size_t huge[] = {1 << 20};
    s = carve_slab_create(&(carve_slab_config){.sizes = huge, .nsizes = 1});
    ck_assert_ptr_nonnull(s);
    void *p = carve_slab_alloc(s, 700000);
    ck_assert_uint_eq(carve_slab_usable_size(s, p), 1 << 20);
    snapshot(s, &st);
    ck_assert_uint_ge(st.capacity, (size_t)4 << 20);
    carve_slab_destroy(s);
    ck_assert_ptr_null(carve_slab_create(&(carve_slab_config){.sizes = huge, .nsizes = 1, .slab_bytes = 1 << 20}));
}
END_TEST

START_TEST(classes_grow_and_give_back_slabs)
{
    bump b = new_bump(0);
    carve_slab *s = carve_slab_create(&(carve_slab_config){.slab_bytes = 8192, .grow = bump_grow,
                                                           .release = bump_release, .ctx = &b});
    ck_assert_ptr_nonnull(s);
    size_t base_out = b.out;
    enum { N = 300 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = carve_slab_alloc(s, 64);
        ck_assert_ptr_nonnull(p[i]);
        memset(p[i], i, 64);
    }
    carve_slab_class_stats cs;
    ck_assert(carve_slab_class_info(s, 2, &cs));
    ck_assert_uint_eq(cs.block_size, 64);
    ck_assert_uint_ge(cs.slabs, N * 64 / 8192 + 1);
    ck_assert_uint_eq(cs.used_blocks, N);
    ck_assert_uint_eq(cs.empty_slabs, 0);
    /* every slab of the class holds the same number of blocks; the last one has the free ones */
    size_t per_slab = (cs.used_blocks + cs.free_blocks) / cs.slabs;
    ck_assert_uint_eq((cs.used_blocks + cs.free_blocks) % cs.slabs, 0);
    ck_assert_uint_lt(cs.free_blocks, per_slab);
    ck_assert_uint_eq(cs.free_blocks, cs.slabs * per_slab - N);
    carve_stats st;
    snapshot(s, &st);
    ck_assert_uint_eq(st.capacity, b.out);
    ck_assert_uint_ge(st.capacity, cs.slabs * 8192);
    size_t slabs_full = cs.slabs;
    ck_assert_uint_eq(carve_slab_check(s), 0);
    for (int i = 0; i < N; i++) {
        for (int x = 0; x < 64; x++) ck_assert_uint_eq(((unsigned char *)p[i])[x], (unsigned char)i);
        ck_assert_int_eq(carve_slab_free(s, p[i]), CARVE_OK);
        ck_assert_uint_eq(carve_slab_check(s), 0);
        ck_assert(carve_slab_class_info(s, 2, &cs));
        ck_assert_uint_le(cs.empty_slabs, 1);
        ck_assert_uint_eq(cs.used_blocks, N - 1 - (size_t)i);
        ck_assert_uint_eq(cs.free_blocks, cs.slabs * per_slab - cs.used_blocks);
    }
    ck_assert(carve_slab_class_info(s, 2, &cs));
    ck_assert_uint_eq(cs.slabs, 1); /* the one empty slab kept */
    ck_assert_uint_eq(cs.free_blocks, per_slab);
    ck_assert_uint_eq(b.releases, slabs_full - 1);
    ck_assert_uint_eq(carve_slab_peak_footprint(s), slabs_full * 8192 + base_out);
    snapshot(s, &st);
    ck_assert_uint_eq(st.capacity, b.out);
    carve_slab_destroy(s);
    ck_assert_uint_eq(b.out, 0);
}
END_TEST

START_TEST(grow_failure_is_a_null_and_a_count)
{
    bump b = new_bump(0);
    carve_slab *s = carve_slab_create(&(carve_slab_config){.slab_bytes = 8192, .grow = bump_grow,
                                                           .release = bump_release, .ctx = &b});
    b.fail_after = 0;
    ck_assert_ptr_null(carve_slab_alloc(s, 32));
    carve_slab_class_stats cs;
    ck_assert(carve_slab_class_info(s, 1, &cs));
    ck_assert_uint_eq(cs.failed, 1);
    ck_assert_uint_eq(cs.slabs, 0);
    b.fail_after = -1;
    ck_assert_ptr_nonnull(carve_slab_alloc(s, 32));
    ck_assert_uint_eq(carve_slab_check(s), 0);
    carve_slab_destroy(s);

    size_t before = carve_os_mapped_bytes();
    s = carve_slab_create(NULL);
    carve_os_fail_after(0);
    ck_assert_ptr_null(carve_slab_alloc(s, 32));
    carve_os_fail_after(-1);
    void *p = carve_slab_alloc(s, 32);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(carve_slab_free(s, p), CARVE_OK);
    carve_slab_destroy(s);
    ck_assert_uint_eq(carve_os_mapped_bytes(), before);
}
END_TEST

START_TEST(misaligned_grow_memory_is_realigned)
{
    bump b = new_bump(8);
    carve_slab *s = carve_slab_create(&(carve_slab_config){.slab_bytes = 8192, .grow = bump_grow,
                                                           .release = bump_release, .ctx = &b});
    ck_assert_ptr_nonnull(s);
    void *p[200];
    for (int i = 0; i < 200; i++) {
        p[i] = carve_slab_alloc(s, 100);
        ck_assert_ptr_nonnull(p[i]);
    }
    ck_assert_uint_eq(carve_slab_check(s), 0);
    for (int i = 0; i < 200; i++) ck_assert_int_eq(carve_slab_free(s, p[i]), CARVE_OK);
    ck_assert_uint_eq(carve_slab_check(s), 0);
    carve_slab_destroy(s);
    ck_assert_uint_eq(b.out, 0);
}
END_TEST

START_TEST(every_status_and_nothing_changes_on_error)
{
    carve_slab *s = carve_slab_create(NULL);
    unsigned char *a = carve_slab_alloc(s, 64), *b = carve_slab_alloc(s, 64);
    ck_assert_int_eq(carve_slab_free(s, b), CARVE_OK);
    carve_stats before, after;
    snapshot(s, &before);
    void *m = malloc(64);
    int local;
    ck_assert_int_eq(carve_slab_free(s, b), CARVE_EDOUBLEFREE);
    ck_assert_int_eq(carve_slab_free(s, a + 8), CARVE_EFOREIGN);  /* inside a block */
    ck_assert_int_eq(carve_slab_free(s, (void *)((uintptr_t)a & ~(uintptr_t)0xFFFF)), CARVE_EFOREIGN); /* header */
    ck_assert_int_eq(carve_slab_free(s, m), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_slab_free(s, &local), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_slab_free(s, (void *)(uintptr_t)0x1000), CARVE_EFOREIGN);           /* unmapped */
    ck_assert_int_eq(carve_slab_free(s, (void *)(uintptr_t)0x7ffdeadbe000ull), CARVE_EFOREIGN); /* unmapped */
    ck_assert_int_eq(carve_slab_free(s, NULL), CARVE_OK);
    free(m);
    snapshot(s, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_uint_eq(carve_slab_check(s), 0);

    /* An overwritten slab header: the free is refused and the checker sees it. */
    uint64_t *hdr = (uint64_t *)((uintptr_t)a & ~(uintptr_t)(CARVE_SLAB_DEFAULT_BYTES - 1));
    uint64_t saved = hdr[0];
    hdr[0] ^= 1;
    ck_assert_int_eq(carve_slab_free(s, a), CARVE_ECORRUPT);
    ck_assert_uint_gt(carve_slab_check(s), 0);
    hdr[0] = saved;
    ck_assert_uint_eq(carve_slab_check(s), 0);
    ck_assert_uint_eq(carve_slab_usable_size(s, a), 64);
    ck_assert_int_eq(carve_slab_free(s, a), CARVE_OK);
    ck_assert_uint_eq(carve_slab_usable_size(s, a), 0);
    ck_assert_uint_eq(carve_slab_usable_size(s, &local), 0);
    carve_slab_destroy(s);
    carve_slab_destroy(NULL);
}
END_TEST


/* A second free of a block whose slab has gone back through release cannot be told from a
 * foreign pointer (the memory is no longer the cache's): CARVE_EFOREIGN, nothing changes. A
 * block of the kept empty slab still gets CARVE_EDOUBLEFREE. */
START_TEST(double_free_after_the_slab_went_back_is_foreign)
{
    bump b = new_bump(0);
    carve_slab *s = carve_slab_create(&(carve_slab_config){.slab_bytes = 8192, .grow = bump_grow,
                                                           .release = bump_release, .ctx = &b});
    enum { N = 300 };
    void *p[N];
    for (int i = 0; i < N; i++) p[i] = carve_slab_alloc(s, 64);
    for (int i = 0; i < N; i++) ck_assert_int_eq(carve_slab_free(s, p[i]), CARVE_OK);
    ck_assert_uint_gt(b.releases, 0); /* the first slab to empty is kept, later ones go back */
    carve_stats before, after;
    snapshot(s, &before);
    ck_assert_int_eq(carve_slab_free(s, p[N - 1]), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_slab_free(s, p[0]), CARVE_EDOUBLEFREE);
    snapshot(s, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_uint_eq(carve_slab_check(s), 0);
    carve_slab_destroy(s);
    ck_assert_uint_eq(b.out, 0);
}
END_TEST

START_TEST(walk_and_stats_agree)
{
    carve_slab *s = carve_slab_create(&(carve_slab_config){.slab_bytes = 8192});
    void *p[500];
    size_t want = 0;
    for (int i = 0; i < 500; i++) {
        p[i] = carve_slab_alloc(s, (size_t)(i % 7) * 100 + 1);
        want += carve_slab_usable_size(s, p[i]);
    }
    for (int i = 0; i < 500; i += 5) {
        want -= carve_slab_usable_size(s, p[i]);
        ck_assert_int_eq(carve_slab_free(s, p[i]), CARVE_OK);
    }
    walk_log w = {0};
    carve_slab_walk(s, walk_log_block, &w);
    ck_assert_uint_eq(w.used, 400);
    ck_assert_uint_eq(w.used_bytes, want);
    carve_stats st;
    snapshot(s, &st);
    ck_assert_uint_eq(st.used, want);
    ck_assert_uint_eq(st.requested, want);
    ck_assert_uint_eq(w.n, 400 + st.free_blocks);
    ck_assert_uint_eq(st.allocs, 500);
    ck_assert_uint_eq(st.frees, 100);
    ck_assert_uint_ge(st.capacity, st.used + st.free);
    size_t slabs = 0;
    for (size_t ci = 0; ci < carve_slab_class_count(s); ci++) {
        carve_slab_class_stats cs;
        ck_assert(carve_slab_class_info(s, ci, &cs));
        slabs += cs.slabs;
    }
    ck_assert_uint_ge(st.capacity, slabs * 8192);
    ck_assert_uint_eq(carve_slab_check(s), 0);
    carve_slab_destroy(s);
}
END_TEST

typedef struct live { unsigned char *p; size_t usable; uint8_t fill; } live;

/* The model of the slabs: each slab the test has seen a block of, with its class and its live
 * blocks. A slab that empties is kept when its class has no empty slab, else released (the
 * cache's rule), and then forgotten. */
typedef struct mslab { uintptr_t addr; size_t cls, live; } mslab;
typedef struct model {
    mslab *slabs;
    size_t n, cap, slab_bytes;
    size_t slabs_of[CARVE_SLAB_MAX_CLASSES], empty[CARVE_SLAB_MAX_CLASSES], used[CARVE_SLAB_MAX_CLASSES];
    size_t per_slab[CARVE_SLAB_MAX_CLASSES]; /* blocks per slab, learnt from the first look */
} model;

static size_t class_index(size_t usable)
{
    size_t ci = 0;
    for (size_t z = CARVE_SLAB_DEFAULT_MIN; z < usable; z *= 2) ci++;
    return ci;
}
static mslab *model_find(model *m, const void *p)
{
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(m->slab_bytes - 1);
    for (size_t i = 0; i < m->n; i++)
        if (m->slabs[i].addr == a) return &m->slabs[i];
    return NULL;
}
static void model_alloc(model *m, const void *p, size_t cls)
{
    mslab *sl = model_find(m, p);
    if (sl == NULL) { /* a new slab */
        if (m->n == m->cap) {
            m->cap = m->cap * 2 + 16;
            m->slabs = realloc(m->slabs, m->cap * sizeof *m->slabs);
        }
        sl = &m->slabs[m->n++];
        *sl = (mslab){(uintptr_t)p & ~(uintptr_t)(m->slab_bytes - 1), cls, 0};
        m->slabs_of[cls]++;
    } else if (sl->live == 0) {
        m->empty[cls]--;
    }
    sl->live++;
    m->used[cls]++;
}
/* Returns whether the slab went back (its blocks are then no longer the cache's). */
static bool model_free(model *m, const void *p)
{
    mslab *sl = model_find(m, p);
    size_t cls = sl->cls;
    m->used[cls]--;
    if (--sl->live > 0) return false;
    if (m->empty[cls] == 0) {
        m->empty[cls]++;
        return false;
    }
    m->slabs_of[cls]--;
    *sl = m->slabs[--m->n];
    return true;
}

START_TEST(randomized_against_model)
{
    uint64_t seed = test_seed() + (uint64_t)_i;
    test_rng rng = {seed};
    size_t before = carve_os_mapped_bytes();
    bump bm = new_bump((size_t)_i * 8);
    carve_slab_config cfg = {.slab_bytes = (size_t)8192 << test_rng_below(&rng, 3)};
    if (_i == 1) {
        cfg.grow = bump_grow;
        cfg.release = bump_release;
        cfg.ctx = &bm;
    }
    carve_slab *s = carve_slab_create(&cfg);
    if (s == NULL) CARVE_FAILF(seed, "create failed");
    enum { MAXLIVE = 3000, NFREED = 64 };
    live *lv = calloc(MAXLIVE, sizeof *lv);
    model m = {.slab_bytes = cfg.slab_bytes};
    void *freed[NFREED]; /* recently freed blocks whose slab is still the cache's */
    size_t nfreed = 0;
    size_t nlive = 0, steps = 20000 * test_scale();
    for (size_t st = 0; st < steps; st++) {
        uint64_t op = test_rng_below(&rng, 100);
        if (op < 55 && nlive < MAXLIVE) {
            size_t size = (size_t)test_rng_range(&rng, 0, test_rng_below(&rng, 8) == 0 ? 4200 : 300);
            unsigned char *p = carve_slab_alloc(s, size);
            if (size > CARVE_SLAB_DEFAULT_MAX) {
                if (p != NULL) CARVE_FAILF(seed, "step %zu: %zu bytes served", st, size);
            } else {
                if (p == NULL) CARVE_FAILF(seed, "step %zu: alloc %zu failed", st, size);
                size_t u = carve_slab_usable_size(s, p);
                size_t want = CARVE_SLAB_DEFAULT_MIN;
                while (want < size) want *= 2;
                if (u != want) CARVE_FAILF(seed, "step %zu: usable %zu for %zu", st, u, size);
                lv[nlive] = (live){p, u, (uint8_t)st};
                memset(p, (uint8_t)st, u);
                nlive++;
                model_alloc(&m, p, class_index(u));
                for (size_t k = 0; k < nfreed; k++) /* handed out again: no longer free */
                    if (freed[k] == p) freed[k--] = freed[--nfreed];
            }
        } else if (op < 88 && nlive > 0) {
            size_t k = (size_t)test_rng_below(&rng, nlive);
            for (size_t x = 0; x < lv[k].usable; x++)
                if (lv[k].p[x] != lv[k].fill) CARVE_FAILF(seed, "step %zu: block overwritten", st);
            carve_status r = carve_slab_free(s, lv[k].p);
            if (r != CARVE_OK) CARVE_FAILF(seed, "step %zu: free gave %d", st, r);
            uintptr_t slab = (uintptr_t)lv[k].p & ~(uintptr_t)(cfg.slab_bytes - 1);
            if (model_free(&m, lv[k].p)) { /* the slab went back: forget its freed blocks */
                for (size_t j = 0; j < nfreed; j++)
                    if (((uintptr_t)freed[j] & ~(uintptr_t)(cfg.slab_bytes - 1)) == slab) freed[j--] = freed[--nfreed];
            } else {
                if (nfreed == NFREED) freed[test_rng_below(&rng, NFREED)] = lv[k].p;
                else freed[nfreed++] = lv[k].p;
            }
            lv[k] = lv[--nlive];
        } else if (op < 94 && nfreed > 0) {
            void *p = freed[test_rng_below(&rng, nfreed)];
            carve_status r = carve_slab_free(s, p);
            if (r != CARVE_EDOUBLEFREE) CARVE_FAILF(seed, "step %zu: double free gave %d", st, r);
        } else if (nlive > 0) {
            size_t k = (size_t)test_rng_below(&rng, nlive);
            carve_status r = carve_slab_free(s, lv[k].p + 8 * test_rng_range(&rng, 1, lv[k].usable / 8 - 1));
            if (r != CARVE_EFOREIGN) CARVE_FAILF(seed, "step %zu: interior free gave %d", st, r);
        }
        size_t bad = carve_slab_check(s);
        if (bad != 0) CARVE_FAILF(seed, "step %zu: check found %zu violations", st, bad);
        for (size_t ci = 0; ci < carve_slab_class_count(s); ci++) {
            carve_slab_class_stats cs;
            if (!carve_slab_class_info(s, ci, &cs)) CARVE_FAILF(seed, "step %zu: class %zu missing", st, ci);
            if (m.per_slab[ci] == 0 && cs.slabs > 0) m.per_slab[ci] = (cs.used_blocks + cs.free_blocks) / cs.slabs;
            if (cs.slabs != m.slabs_of[ci] || cs.empty_slabs != m.empty[ci] || cs.used_blocks != m.used[ci] ||
                cs.free_blocks != cs.slabs * m.per_slab[ci] - m.used[ci])
                CARVE_FAILF(seed, "step %zu: class %zu has slabs %zu empty %zu used %zu free %zu, model %zu %zu %zu", st,
                            ci, cs.slabs, cs.empty_slabs, cs.used_blocks, cs.free_blocks, m.slabs_of[ci], m.empty[ci],
                            m.used[ci]);
        }
    }
    while (nlive > 0) ck_assert_int_eq(carve_slab_free(s, lv[--nlive].p), CARVE_OK);
    for (size_t ci = 0; ci < carve_slab_class_count(s); ci++) {
        carve_slab_class_stats cs;
        ck_assert(carve_slab_class_info(s, ci, &cs));
        if (cs.slabs > 1 || cs.used_blocks != 0) CARVE_FAILF(seed, "class %zu: %zu slabs left", ci, cs.slabs);
    }
    carve_slab_destroy(s);
    if (carve_os_mapped_bytes() != before || bm.out != 0) CARVE_FAILF(seed, "memory not given back");
    free(lv);
    free(m.slabs);
}
END_TEST

static Suite *slab_suite(void)
{
    Suite *s = suite_create("slab");
    TCase *tc = tcase_create("slab");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, create_checks_the_config);
    tcase_add_test(tc, requests_go_to_the_smallest_class_that_fits);
    tcase_add_test(tc, classes_grow_and_give_back_slabs);
    tcase_add_test(tc, grow_failure_is_a_null_and_a_count);
    tcase_add_test(tc, misaligned_grow_memory_is_realigned);
    tcase_add_test(tc, every_status_and_nothing_changes_on_error);
    tcase_add_test(tc, double_free_after_the_slab_went_back_is_foreign);
    tcase_add_test(tc, walk_and_stats_agree);
    tcase_add_loop_test(tc, randomized_against_model, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(slab_suite)
