/* tests/unit/buddy_test.c: the binary buddy. Init arguments, rounding and splitting, block
 * alignment, full merge back to one block, the remainder of a region that is not a power of
 * two, every status carve_buddy_free returns (and that nothing changes on an error), damaged
 * links, and a randomized run against an ownership model with the checker after every step. */
#include "carve/buddy.h"
#include "carve_test.h"

#include <string.h>

static _Alignas(4096) unsigned char arena[1 << 20];

typedef struct blocks { size_t n; carve_block_info b[4096]; } blocks;
static void collect(void *ctx, const carve_block_info *info)
{
    blocks *bl = ctx;
    if (bl->n < 4096) bl->b[bl->n] = *info;
    bl->n++;
}
static void walk(const carve_buddy *b, blocks *bl)
{
    bl->n = 0;
    carve_buddy_walk(b, collect, bl);
}
static bool same_walk(const blocks *x, const blocks *y)
{
    if (x->n != y->n) return false;
    for (size_t i = 0; i < x->n && i < 4096; i++)
        if (x->b[i].start != y->b[i].start || x->b[i].size != y->b[i].size || x->b[i].used != y->b[i].used ||
            x->b[i].payload != y->b[i].payload)
            return false;
    return true;
}
static void snapshot(const carve_buddy *b, carve_stats *st)
{
    carve_stats_init(st);
    carve_buddy_stats(b, st);
}

/* A buddy whose managed range is exactly `managed` bytes (a power of two): one free block. */
static carve_buddy *pow2_buddy(size_t managed, size_t min_block)
{
    static blocks bl;
    carve_buddy *b = carve_buddy_init(arena, carve_buddy_region_bytes(managed, min_block), min_block);
    ck_assert_ptr_nonnull(b);
    walk(b, &bl);
    ck_assert_uint_eq(bl.n, 1);
    ck_assert_uint_eq(bl.b[0].size, managed);
    ck_assert_uint_eq(carve_buddy_usable_size(b, (void *)bl.b[0].start), 0);
    return b;
}

START_TEST(init_rejects_bad_arguments)
{
    ck_assert_ptr_null(carve_buddy_init(NULL, sizeof arena, 64));
    ck_assert_ptr_null(carve_buddy_init(arena, 16, 64));
    ck_assert_ptr_null(carve_buddy_init(arena, sizeof arena, (size_t)1 << 41));
    carve_buddy *b = carve_buddy_init(arena, sizeof arena, 0);
    ck_assert_uint_eq(carve_buddy_min_block(b), 16);
    b = carve_buddy_init(arena, sizeof arena, 100);
    ck_assert_uint_eq(carve_buddy_min_block(b), 128);
    ck_assert_uint_eq(carve_buddy_check(b), 0);
}
END_TEST

START_TEST(requests_round_up_and_split_halves)
{
    carve_buddy *b = pow2_buddy(1024, 64);
    static blocks bl;
    void *p = carve_buddy_alloc(b, 1);
    ck_assert_uint_eq(carve_buddy_usable_size(b, p), 64);
    walk(b, &bl);
    /* 1024 halved down to 64: 64 used, then free 64, 128, 256, 512 */
    size_t want[] = {64, 64, 128, 256, 512};
    ck_assert_uint_eq(bl.n, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(bl.b[i].size, want[i]);
        ck_assert(bl.b[i].used == (i == 0));
    }
    ck_assert_uint_eq(bl.b[0].start, (uintptr_t)p);
    void *q = carve_buddy_alloc(b, 65);
    ck_assert_uint_eq(carve_buddy_usable_size(b, q), 128);
    ck_assert_uint_eq((uintptr_t)q - (uintptr_t)p, 128);
    void *r = carve_buddy_alloc(b, 0);
    ck_assert_uint_eq(carve_buddy_usable_size(b, r), 64);
    ck_assert_uint_eq((uintptr_t)r - (uintptr_t)p, 64);
    memset(p, 1, 64);
    memset(q, 2, 128);
    memset(r, 3, 64);
    ck_assert_ptr_null(carve_buddy_alloc(b, 1024)); /* 512 is the largest free block */
    ck_assert_ptr_null(carve_buddy_alloc(b, SIZE_MAX));
    ck_assert_ptr_nonnull(carve_buddy_alloc(b, 512));
    ck_assert_uint_eq(carve_buddy_check(b), 0);
    carve_stats st;
    snapshot(b, &st);
    ck_assert_uint_eq(st.failed, 2);
    ck_assert_uint_eq(st.allocs, 4);
    ck_assert_uint_eq(st.used, 64 + 128 + 64 + 512);
    ck_assert_uint_eq(st.free, 256);
    ck_assert_uint_eq(st.largest_free, 256);
}
END_TEST

START_TEST(freeing_everything_merges_to_one_block)
{
    carve_buddy *b = pow2_buddy(1 << 16, 32);
    void *p[64];
    for (int i = 0; i < 64; i++) p[i] = carve_buddy_alloc(b, (size_t)(i * 37 % 300) + 1);
    for (int i = 0; i < 64; i += 2) ck_assert_int_eq(carve_buddy_free(b, p[i]), CARVE_OK);
    for (int i = 63; i > 0; i -= 2) ck_assert_int_eq(carve_buddy_free(b, p[i]), CARVE_OK);
    static blocks bl;
    walk(b, &bl);
    ck_assert_uint_eq(bl.n, 1);
    ck_assert_uint_eq(bl.b[0].size, 1 << 16);
    ck_assert(!bl.b[0].used);
    ck_assert_uint_eq(carve_buddy_check(b), 0);
}
END_TEST

START_TEST(remainder_is_used_as_smaller_blocks)
{
    /* 7 min blocks of 64 (plus control data): tiled 256 + 128 + 64. */
    carve_buddy *b = NULL;
    static blocks bl;
    for (size_t bytes = 7 * 64; bytes < 9 * 64 + 256 && b == NULL; bytes++) {
        carve_buddy *c = carve_buddy_init(arena, bytes, 64);
        if (c == NULL) continue;
        walk(c, &bl);
        size_t total = 0;
        for (size_t i = 0; i < bl.n; i++) total += bl.b[i].size;
        if (total == 7 * 64) b = c;
    }
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(bl.n, 3);
    ck_assert_uint_eq(bl.b[0].size, 256);
    ck_assert_uint_eq(bl.b[1].size, 128);
    ck_assert_uint_eq(bl.b[2].size, 64);
    int n = 0;
    while (carve_buddy_alloc(b, 64) != NULL) n++;
    ck_assert_int_eq(n, 7); /* every min block, the remainder included */
    ck_assert_uint_eq(carve_buddy_check(b), 0);
    ck_assert_uint_gt(carve_buddy_high_water(b), 7 * 64);
}
END_TEST

START_TEST(every_status_and_nothing_changes_on_error)
{
    carve_buddy *b = pow2_buddy(4096, 64);
    unsigned char *big = carve_buddy_alloc(b, 256);
    unsigned char *small = carve_buddy_alloc(b, 64);
    unsigned char *gone = carve_buddy_alloc(b, 64);
    ck_assert_int_eq(carve_buddy_free(b, gone), CARVE_OK);
    carve_stats before, after;
    snapshot(b, &before);
    static blocks bw, aw;
    walk(b, &bw);

    ck_assert_int_eq(carve_buddy_free(b, gone), CARVE_EDOUBLEFREE);       /* a free block start */
    ck_assert_int_eq(carve_buddy_free(b, big + 64), CARVE_EFOREIGN);      /* inside a live block */
    ck_assert_int_eq(carve_buddy_free(b, big + 1), CARVE_EFOREIGN);       /* not on a boundary */
    ck_assert_int_eq(carve_buddy_free(b, big - 64 * 1000), CARVE_EFOREIGN); /* below the range */
    ck_assert_int_eq(carve_buddy_free(b, big + 4096), CARVE_EFOREIGN);    /* past the range */
    ck_assert_int_eq(carve_buddy_free(b, NULL), CARVE_OK);
    ck_assert_int_eq(carve_buddy_free(b, small), CARVE_OK);
    ck_assert_int_eq(carve_buddy_free(b, small), CARVE_EDOUBLEFREE);
    ck_assert_int_eq(carve_buddy_free(b, gone), CARVE_EDOUBLEFREE); /* now inside a merged free block */
    small = carve_buddy_alloc(b, 64);
    snapshot(b, &before);
    walk(b, &bw);
    ck_assert_int_eq(carve_buddy_free(b, big + 128), CARVE_EFOREIGN);
    snapshot(b, &after);
    walk(b, &aw);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert(same_walk(&bw, &aw));
    ck_assert_uint_eq(carve_buddy_check(b), 0);
    ck_assert_uint_eq(carve_buddy_usable_size(b, big), 256);
    ck_assert_uint_eq(carve_buddy_usable_size(b, big + 64), 0);
    ck_assert_uint_eq(carve_buddy_usable_size(b, gone + 4096), 0);
}
END_TEST

/* A write after free over a free block's links: alloc refuses the damaged list, the checker
 * counts it, and a free that would merge with it returns CARVE_ECORRUPT and changes nothing. */
START_TEST(damaged_links_are_refused)
{
    carve_buddy *b = pow2_buddy(4096, 64);
    unsigned char *a = carve_buddy_alloc(b, 64);
    unsigned char *c = carve_buddy_alloc(b, 64); /* a's buddy */
    ck_assert_int_eq(carve_buddy_free(b, c), CARVE_OK);
    ck_assert_uint_eq(carve_buddy_check(b), 0);
    memset(c, 0x41, 8); /* the write after free */
    ck_assert_uint_gt(carve_buddy_check(b), 0);
    carve_stats before, after;
    snapshot(b, &before);
    ck_assert_int_eq(carve_buddy_free(b, a), CARVE_ECORRUPT);
    snapshot(b, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_uint_eq(carve_buddy_usable_size(b, a), 64); /* still live */
    ck_assert_ptr_null(carve_buddy_alloc(b, 64)); /* would pop c */
    snapshot(b, &after);
    ck_assert_uint_eq(after.failed, before.failed + 1);
}
END_TEST

/* Growing a block whose buddy is free but damaged cannot merge, and must not move either:
 * the move's free of the old block would fail and leave it live behind the caller's back. */
START_TEST(realloc_refuses_to_move_past_damaged_links)
{
    carve_buddy *b = pow2_buddy(4096, 64);
    unsigned char *a = carve_buddy_alloc(b, 64);
    unsigned char *c = carve_buddy_alloc(b, 64); /* a's buddy */
    memset(a, 0x5a, 64);
    ck_assert_int_eq(carve_buddy_free(b, c), CARVE_OK);
    memset(c, 0x41, 8); /* the write after free */
    carve_stats before, after;
    snapshot(b, &before);
    ck_assert_ptr_null(carve_buddy_realloc(b, a, 128));
    snapshot(b, &after);
    ck_assert_uint_eq(after.failed, before.failed + 1);
    ck_assert_uint_eq(after.allocs, before.allocs); /* nothing allocated or freed on the way */
    ck_assert_uint_eq(after.frees, before.frees);
    ck_assert_uint_eq(after.used, before.used);
    ck_assert_uint_eq(carve_buddy_usable_size(b, a), 64); /* a still live, contents kept */
    for (int i = 0; i < 64; i++) ck_assert_uint_eq(a[i], 0x5a);
}
END_TEST

START_TEST(region_bytes_is_exact)
{
    for (size_t mb = 16; mb <= 8192; mb *= 2) {
        size_t bytes = carve_buddy_region_bytes(1 << 18, mb);
        ck_assert_uint_gt(bytes, 1 << 18);
        carve_buddy *b = carve_buddy_init(arena, bytes - 1, mb);
        static blocks bl;
        walk(b, &bl);
        ck_assert_uint_gt(bl.n, 1); /* one byte less: no longer one block */
        pow2_buddy(1 << 18, mb);
    }
    ck_assert_uint_eq(carve_buddy_region_bytes(0, 64), 0);
    ck_assert_uint_eq(carve_buddy_region_bytes(64, (size_t)1 << 41), 0);
}
END_TEST

START_TEST(realloc_shrinks_and_grows_in_place_or_moves)
{
    carve_buddy *b = pow2_buddy(4096, 64);
    static blocks bl;
    unsigned char *p = carve_buddy_alloc(b, 1024);
    memset(p, 7, 1024);
    ck_assert_ptr_eq(carve_buddy_realloc(b, p, 100), p); /* shrink in place */
    ck_assert_uint_eq(carve_buddy_usable_size(b, p), 128);
    walk(b, &bl);
    ck_assert_uint_eq(bl.b[1].size, 128); /* the upper halves are free again */
    ck_assert(!bl.b[1].used);
    ck_assert_ptr_eq(carve_buddy_realloc(b, p, 2048), p); /* grow in place over free buddies */
    ck_assert_uint_eq(carve_buddy_usable_size(b, p), 2048);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(p[i], 7);
    ck_assert_uint_eq(carve_buddy_check(b), 0);
    unsigned char *q = carve_buddy_alloc(b, 64); /* sits in p's upper buddy */
    memset(p, 9, 2048);
    ck_assert_ptr_null(carve_buddy_realloc(b, p, 4096)); /* no room: p untouched */
    ck_assert_uint_eq(carve_buddy_usable_size(b, p), 2048);
    ck_assert_int_eq(carve_buddy_free(b, q), CARVE_OK);
    ck_assert_int_eq(carve_buddy_free(b, p), CARVE_OK);
    p = carve_buddy_alloc(b, 64);
    q = carve_buddy_alloc(b, 64); /* p's buddy: p must move to grow */
    memset(p, 5, 64);
    unsigned char *r = carve_buddy_realloc(b, p, 500);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_ne(r, p);
    for (int i = 0; i < 64; i++) ck_assert_uint_eq(r[i], 5);
    ck_assert_uint_eq(carve_buddy_usable_size(b, p), 0);
    ck_assert_ptr_null(carve_buddy_realloc(b, p, 10)); /* p is no longer live */
    ck_assert_ptr_null(carve_buddy_realloc(b, r + 64, 10));
    unsigned char *n = carve_buddy_realloc(b, NULL, 64);
    ck_assert_uint_eq(carve_buddy_usable_size(b, n), 64);
    ck_assert_ptr_null(carve_buddy_realloc(b, q, SIZE_MAX));
    ck_assert_uint_eq(carve_buddy_usable_size(b, q), 64);
    ck_assert_uint_eq(carve_buddy_check(b), 0);
}
END_TEST

START_TEST(realloc_slides_down_into_a_free_lower_buddy)
{
    carve_buddy *b = pow2_buddy(4096, 64);
    unsigned char *lo = carve_buddy_alloc(b, 64), *hi = carve_buddy_alloc(b, 64);
    ck_assert_uint_eq((uintptr_t)hi - (uintptr_t)lo, 64);
    for (int i = 0; i < 64; i++) hi[i] = (unsigned char)i;
    ck_assert_int_eq(carve_buddy_free(b, lo), CARVE_OK);
    unsigned char *r = carve_buddy_realloc(b, hi, 128);
    ck_assert_ptr_eq(r, lo); /* merged with the lower buddy, contents moved down */
    for (int i = 0; i < 64; i++) ck_assert_uint_eq(r[i], (unsigned char)i);
    ck_assert_uint_eq(carve_buddy_usable_size(b, r), 128);
    ck_assert_uint_eq(carve_buddy_usable_size(b, hi), 0);
    ck_assert_int_eq(carve_buddy_free(b, hi), CARVE_EFOREIGN); /* inside the live block now */
    ck_assert_uint_eq(carve_buddy_check(b), 0);
}
END_TEST

typedef struct live { unsigned char *p; size_t size, usable; uint8_t fill; } live;

/* Random allocs and frees against an ownership map of min blocks; the checker, the alignment
 * rule and the fill patterns are verified after every step. */
START_TEST(randomized_against_model)
{
    uint64_t seed = test_seed() + (uint64_t)_i;
    test_rng rng = {seed};
    size_t min_block = (size_t)1 << test_rng_range(&rng, 4, 7);
    bool pow2 = _i % 2 == 0;
    carve_buddy *b = pow2 ? pow2_buddy(1 << 18, min_block)
                          : carve_buddy_init(arena, (size_t)test_rng_range(&rng, 100000, 300000), min_block);
    static blocks initial, now;
    walk(b, &initial);
    uintptr_t base = initial.b[0].start;
    size_t managed = 0;
    for (size_t i = 0; i < initial.n; i++) managed += initial.b[i].size;
    size_t nmin = managed / min_block;
    live *lv = calloc(4096, sizeof *lv);
    size_t nlive = 0;
    int32_t *owner = malloc(nmin * sizeof *owner);
    for (size_t i = 0; i < nmin; i++) owner[i] = -1;
    size_t steps = 20000 * test_scale();
    for (size_t s = 0; s < steps; s++) {
        uint64_t op = test_rng_below(&rng, 100);
        if (op < 50 && nlive < 4096) {
            size_t size = test_rng_below(&rng, 4) == 0 ? (size_t)test_rng_range(&rng, 0, 20000)
                                                        : (size_t)test_rng_range(&rng, 0, 300);
            unsigned char *p = carve_buddy_alloc(b, size);
            if (p != NULL) {
                size_t u = carve_buddy_usable_size(b, p);
                size_t want = min_block;
                while (want < size) want *= 2;
                if (u != want) CARVE_FAILF(seed, "step %zu: usable %zu for %zu, want %zu", s, u, size, want);
                size_t off = (uintptr_t)p - base;
                if (off % u != 0) CARVE_FAILF(seed, "step %zu: block of %zu at offset %zu", s, u, off);
                for (size_t m = off / min_block; m < (off + u) / min_block; m++) {
                    if (owner[m] != -1) CARVE_FAILF(seed, "step %zu: min block %zu handed out twice", s, m);
                    owner[m] = (int32_t)nlive;
                }
                lv[nlive] = (live){p, size, u, (uint8_t)s};
                memset(p, (uint8_t)s, u);
                nlive++;
            }
        } else if (op < 60 && nlive > 0) {
            size_t k = (size_t)test_rng_below(&rng, nlive);
            live l = lv[k];
            size_t size = (size_t)test_rng_range(&rng, 0, test_rng_below(&rng, 4) == 0 ? 20000 : 600);
            unsigned char *q = carve_buddy_realloc(b, l.p, size);
            if (q == NULL) {
                if (carve_buddy_usable_size(b, l.p) != l.usable) CARVE_FAILF(seed, "step %zu: failed realloc changed the block", s);
            } else {
                size_t u = carve_buddy_usable_size(b, q), keep = u < l.usable ? u : l.usable;
                for (size_t x = 0; x < keep; x++)
                    if (q[x] != l.fill) CARVE_FAILF(seed, "step %zu: realloc lost byte %zu", s, x);
                size_t off = (uintptr_t)l.p - base, o2 = (uintptr_t)q - base;
                for (size_t m = off / min_block; m < (off + l.usable) / min_block; m++) owner[m] = -1;
                if (o2 % u != 0) CARVE_FAILF(seed, "step %zu: realloc block of %zu at offset %zu", s, u, o2);
                for (size_t m = o2 / min_block; m < (o2 + u) / min_block; m++) {
                    if (owner[m] != -1) CARVE_FAILF(seed, "step %zu: realloc overlaps min block %zu", s, m);
                    owner[m] = (int32_t)k;
                }
                lv[k] = (live){q, size, u, (uint8_t)(s + 1)};
                memset(q, (uint8_t)(s + 1), u);
            }
        } else if (op < 90 && nlive > 0) {
            size_t k = (size_t)test_rng_below(&rng, nlive);
            live l = lv[k];
            for (size_t x = 0; x < l.usable; x++)
                if (l.p[x] != l.fill) CARVE_FAILF(seed, "step %zu: block %p overwritten at %zu", s, (void *)l.p, x);
            carve_status st = carve_buddy_free(b, l.p);
            if (st != CARVE_OK) CARVE_FAILF(seed, "step %zu: free gave %d", s, st);
            size_t off = (uintptr_t)l.p - base;
            for (size_t m = off / min_block; m < (off + l.usable) / min_block; m++) owner[m] = -1;
            lv[k] = lv[--nlive];
            if (k < nlive) {
                size_t o2 = (uintptr_t)lv[k].p - base;
                for (size_t m = o2 / min_block; m < (o2 + lv[k].usable) / min_block; m++) owner[m] = (int32_t)k;
            }
        } else {
            /* A bad free at a random min-block boundary that is no live block start. */
            size_t m = (size_t)test_rng_below(&rng, nmin);
            unsigned char *p = (unsigned char *)(base + m * min_block);
            bool is_start = owner[m] != -1 && lv[owner[m]].p == p;
            if (!is_start) {
                carve_status st = carve_buddy_free(b, p);
                carve_status want = owner[m] != -1 ? CARVE_EFOREIGN : CARVE_EDOUBLEFREE;
                if (st != want) CARVE_FAILF(seed, "step %zu: bad free of min block %zu gave %d, want %d", s, m, st, want);
            }
        }
        size_t bad = carve_buddy_check(b);
        if (bad != 0) CARVE_FAILF(seed, "step %zu: check found %zu violations", s, bad);
        walk(b, &now);
        for (size_t i = 0; i < now.n && i < 4096; i++)
            if ((now.b[i].start - base) % now.b[i].size != 0)
                CARVE_FAILF(seed, "step %zu: block of %zu at offset %zu", s, now.b[i].size, (size_t)(now.b[i].start - base));
    }
    while (nlive > 0) ck_assert_int_eq(carve_buddy_free(b, lv[--nlive].p), CARVE_OK);
    walk(b, &now);
    if (!same_walk(&now, &initial))
        CARVE_FAILF(seed, "after freeing everything: %zu blocks, %zu at init", now.n, initial.n);
    if (pow2 && now.n != 1) CARVE_FAILF(seed, "power-of-two region is %zu blocks", now.n);
    free(lv);
    free(owner);
}
END_TEST

static Suite *buddy_suite(void)
{
    Suite *s = suite_create("buddy");
    TCase *tc = tcase_create("buddy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, init_rejects_bad_arguments);
    tcase_add_test(tc, requests_round_up_and_split_halves);
    tcase_add_test(tc, freeing_everything_merges_to_one_block);
    tcase_add_test(tc, remainder_is_used_as_smaller_blocks);
    tcase_add_test(tc, every_status_and_nothing_changes_on_error);
    tcase_add_test(tc, damaged_links_are_refused);
    tcase_add_test(tc, realloc_refuses_to_move_past_damaged_links);
    tcase_add_test(tc, region_bytes_is_exact);
    tcase_add_test(tc, realloc_shrinks_and_grows_in_place_or_moves);
    tcase_add_test(tc, realloc_slides_down_into_a_free_lower_buddy);
    tcase_add_loop_test(tc, randomized_against_model, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(buddy_suite)
