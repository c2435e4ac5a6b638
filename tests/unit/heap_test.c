/* tests/unit/heap_test.c: the region heap, case by case: the placement of every policy and order
 * on a heap laid out by hand, splitting and coalescing, realloc and aligned_alloc, growth, every
 * misuse status (with the heap left unchanged), the counters and the checker. The randomized
 * model test lives in heap_model_*_test.c. */
#include "heap_helpers.h"

#include <string.h>

#define BUF_BYTES ((size_t)1 << 20)
static _Alignas(64) unsigned char buf[BUF_BYTES];

static carve_heap *make(carve_fit fit, carve_order order, bool no_coalesce)
{
    return heap_over(buf, BUF_BYTES, fit, order, no_coalesce);
}

static carve_stats stats_of(const carve_heap *h)
{
    carve_stats st;
    carve_stats_init(&st);
    carve_heap_stats(h, &st);
    return st;
}

/* Allocate whatever is left, so that only the holes we free remain. */
static void *fill_rest(carve_heap *h)
{
    carve_stats st = stats_of(h);
    void *p = carve_heap_alloc(h, st.largest_free - 8);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(stats_of(h).free_blocks, 0);
    return p;
}

/* The hand-laid heap: holes of 64, 192, 96 and 288 bytes (blocks, header included) at rising
 * addresses, freed in that order, separated by used blocks. hole[i] is the payload address. The
 * lowest hole is too small for the 80-byte block the placement tests ask for, so "the lowest
 * hole that fits" differs from "the lowest hole", and "the smallest that fits" from "the
 * smallest". */
#define HOLES 4
static void lay_out(carve_heap *h, unsigned char *hole[HOLES])
{
    static const size_t sizes[HOLES] = {64 - 8, 192 - 8, 96 - 8, 288 - 8};
    for (int i = 0; i < HOLES; i++) {
        hole[i] = carve_heap_alloc(h, sizes[i]);
        ck_assert_ptr_nonnull(hole[i]);
        ck_assert_ptr_nonnull(carve_heap_alloc(h, 1)); /* separator */
    }
    fill_rest(h);
    for (int i = 0; i < HOLES; i++) ck_assert_int_eq(carve_heap_free(h, hole[i]), CARVE_OK);
    ck_assert_uint_eq(stats_of(h).free_blocks, HOLES);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}

/* Which hole a request of 72 bytes (an 80-byte block) lands in, per policy and order. The lists
 * are: LIFO 288 96 192 64; FIFO and ADDRESS 64 192 96 288; SIZE_ASC 64 96 192 288; SIZE_DESC
 * 288 192 96 64. SEGREGATED: 64 and 96 share the class [64, 128), searched first fit (96 was
 * freed last, so it is first); TLSF: 96 is the first non-empty list at or above 80. */
static const int expected_hole[6][5] = {
    /*            LIFO FIFO ADDR ASC DESC */
    [CARVE_FIT_FIRST] = {3, 1, 1, 2, 3},
    [CARVE_FIT_NEXT] = {3, 1, 1, 2, 3},
    [CARVE_FIT_BEST] = {2, 2, 2, 2, 2},
    [CARVE_FIT_WORST] = {3, 3, 3, 3, 3},
    [CARVE_FIT_SEGREGATED] = {2, 2, 2, 2, 2},
    [CARVE_FIT_TLSF] = {2, 2, 2, 2, 2},
};

START_TEST(hand_laid_heap_tells_the_policies_apart)
{
    carve_fit fit = (carve_fit)(_i / 5);
    carve_order order = (carve_order)(_i % 5);
    carve_heap *h = make(fit, order, false);
    unsigned char *hole[HOLES];
    lay_out(h, hole);
    unsigned char *p = carve_heap_alloc(h, 72);
    int want = expected_hole[fit][order];
    ck_assert_msg(p == hole[want], "fit %d order %d: got %p, want hole %d at %p", fit, order, (void *)p,
                  want, (void *)hole[want]);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

START_TEST(next_fit_resumes_where_the_last_search_ended)
{
    for (int fit = CARVE_FIT_FIRST; fit <= CARVE_FIT_NEXT; fit++) {
        carve_heap *h = make((carve_fit)fit, CARVE_ORDER_ADDRESS, false);
        unsigned char *hole[HOLES];
        lay_out(h, hole);
        ck_assert_ptr_eq(carve_heap_alloc(h, 72), hole[1]);  /* 192 -> 80 used + 112 free */
        ck_assert_ptr_eq(carve_heap_alloc(h, 192), hole[3]); /* only the 288 hole fits */
        /* a small request: first fit goes back to the lowest hole, next fit stays at the rover */
        unsigned char *p = carve_heap_alloc(h, 8);
        ck_assert_ptr_eq(p, fit == CARVE_FIT_FIRST ? hole[0] : hole[3] + 208);
        ck_assert_uint_eq(carve_heap_check(h), 0);
    }
}
END_TEST

START_TEST(best_and_worst_take_the_first_of_equals)
{
    for (int fit = CARVE_FIT_BEST; fit <= CARVE_FIT_WORST; fit++) {
        for (int order = CARVE_ORDER_LIFO; order <= CARVE_ORDER_FIFO; order++) {
            carve_heap *h = make((carve_fit)fit, (carve_order)order, false);
            void *a = carve_heap_alloc(h, 100), *s1 = carve_heap_alloc(h, 1);
            void *b = carve_heap_alloc(h, 100), *s2 = carve_heap_alloc(h, 1);
            void *c = carve_heap_alloc(h, 40), *s3 = carve_heap_alloc(h, 1);
            fill_rest(h);
            (void)s1, (void)s2, (void)s3;
            carve_heap_free(h, a);
            carve_heap_free(h, c); /* smaller than both: neither fit takes it for 100 bytes */
            carve_heap_free(h, b); /* LIFO: b first in the list; FIFO: a first */
            ck_assert_ptr_eq(carve_heap_alloc(h, 100), order == CARVE_ORDER_LIFO ? b : a);
            ck_assert_uint_eq(carve_heap_check(h), 0);
        }
    }
}
END_TEST

START_TEST(block_layout_is_documented)
{
    /* 8-byte header, 16-byte alignment, minimum block 32: a request of n bytes takes
     * max(32, round_up(n + 8, 16)) bytes and the payload starts 8 bytes into its block */
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, false);
    static const size_t n[] = {0, 1, 24, 25, 40, 100, 1000};
    static const size_t want[] = {32, 32, 32, 48, 48, 112, 1008};
    unsigned char *prev = NULL;
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        unsigned char *p = carve_heap_alloc(h, n[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        ck_assert_uint_eq(carve_heap_usable_size(h, p), want[i] - 8);
        if (prev != NULL) ck_assert_ptr_eq(p, prev + want[i - 1]); /* address order, no gaps */
        prev = p;
    }
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

typedef struct walk_log {
    carve_block_info b[64];
    size_t n;
} walk_log;
static void log_block(void *ctx, const carve_block_info *b)
{
    walk_log *log = ctx;
    if (log->n < 64) log->b[log->n] = *b;
    log->n++;
}

START_TEST(walk_visits_blocks_in_address_order)
{
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_LIFO, false);
    unsigned char *a = carve_heap_alloc(h, 10), *b = carve_heap_alloc(h, 100);
    (void)b;
    carve_heap_free(h, a);
    walk_log log = {0};
    carve_heap_walk(h, log_block, &log);
    ck_assert_uint_eq(log.n, 3);
    ck_assert(!log.b[0].used && log.b[0].start == (uintptr_t)a - 8 && log.b[0].size == 32);
    ck_assert(log.b[1].used && log.b[1].size == 112 && log.b[1].payload == 104);
    ck_assert(!log.b[2].used && log.b[2].start == log.b[1].start + 112);
    ck_assert_uint_eq(log.b[2].payload, 0);
}
END_TEST

START_TEST(free_coalesces_both_sides_unless_told_not_to)
{
    for (int nc = 0; nc <= 1; nc++) {
        carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, nc);
        void *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100), *c = carve_heap_alloc(h, 100);
        fill_rest(h);
        carve_heap_free(h, a);
        carve_heap_free(h, c);
        ck_assert_uint_eq(stats_of(h).free_blocks, 2);
        carve_heap_free(h, b);
        ck_assert_uint_eq(stats_of(h).free_blocks, nc ? 3 : 1);
        ck_assert_uint_eq(stats_of(h).largest_free, nc ? 112 : 336);
        ck_assert_uint_eq(carve_heap_check(h), 0);
    }
}
END_TEST

START_TEST(split_only_when_the_rest_holds_a_block)
{
    unsigned char *hole[HOLES];
    /* the 96-byte hole: an 80-byte block leaves 16, too few to split, so it takes all 96 */
    carve_heap *b = make(CARVE_FIT_BEST, CARVE_ORDER_ADDRESS, false);
    lay_out(b, hole);
    unsigned char *p = carve_heap_alloc(b, 72);
    ck_assert_ptr_eq(p, hole[2]);
    ck_assert_uint_eq(carve_heap_usable_size(b, p), 88);
    ck_assert_uint_eq(stats_of(b).free_blocks, HOLES - 1);
    /* the 192 hole with a 160-byte block leaves exactly a minimum block (32) */
    p = carve_heap_alloc(b, 152);
    ck_assert_ptr_eq(p, hole[1]);
    ck_assert_uint_eq(carve_heap_usable_size(b, p), 152);
    ck_assert_uint_eq(stats_of(b).free_blocks, HOLES - 1);
    ck_assert_uint_eq(carve_heap_check(b), 0);
}
END_TEST

/* ---- realloc and aligned_alloc ------------------------------------------------------------- */

START_TEST(realloc_grows_and_shrinks_in_place)
{
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 400), *c = carve_heap_alloc(h, 8);
    memset(a, 0x11, 100);
    carve_heap_free(h, b);
    unsigned char *a2 = carve_heap_realloc(h, a, 300); /* into the free block after it */
    ck_assert_ptr_eq(a2, a);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(a2[i], 0x11);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    ck_assert_ptr_eq(carve_heap_realloc(h, a, 20), a); /* shrink: the tail goes back */
    ck_assert_uint_eq(carve_heap_usable_size(h, a), 24);
    ck_assert_uint_eq(stats_of(h).requested, 20 + 8);
    ck_assert_ptr_eq(carve_heap_alloc(h, 100), a + 32); /* the tail is reusable at once */
    ck_assert_uint_eq(carve_heap_check(h), 0);
    (void)c;
}
END_TEST

START_TEST(realloc_moves_and_keeps_contents)
{
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 8);
    for (int i = 0; i < 100; i++) a[i] = (unsigned char)i;
    unsigned char *a2 = carve_heap_realloc(h, a, 5000);
    ck_assert_ptr_ne(a2, a);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(a2[i], i);
    ck_assert_ptr_eq(carve_heap_alloc(h, 100), a); /* the old block was freed */
    ck_assert_ptr_nonnull(carve_heap_realloc(h, NULL, 10));
    ck_assert_uint_eq(carve_heap_check(h), 0);
    (void)b;
}
END_TEST

START_TEST(realloc_slides_into_a_free_block_before)
{
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 400), *b = carve_heap_alloc(h, 100), *c = carve_heap_alloc(h, 8);
    fill_rest(h);
    for (int i = 0; i < 100; i++) b[i] = (unsigned char)(i ^ 0x5a);
    carve_heap_free(h, a);
    unsigned char *b2 = carve_heap_realloc(h, b, 450);
    ck_assert_ptr_eq(b2, a);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(b2[i], i ^ 0x5a);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    ck_assert_int_eq(carve_heap_free(h, b), CARVE_EDOUBLEFREE); /* the old header reads freed */
    (void)c;
}
END_TEST

START_TEST(aligned_alloc_any_power_of_two)
{
    carve_heap *h = make(CARVE_FIT_BEST, CARVE_ORDER_ADDRESS, false);
    void *small = carve_heap_alloc(h, 24);
    for (size_t al = 1; al <= (size_t)256 << 10; al <<= 1) {
        unsigned char *p = carve_heap_aligned_alloc(h, al, 100);
        ck_assert_msg(p != NULL, "alignment %zu", al);
        ck_assert_uint_eq((uintptr_t)p % al, 0);
        memset(p, 1, 100);
        ck_assert_uint_eq(carve_heap_check(h), 0);
        ck_assert_int_eq(carve_heap_free(h, p), CARVE_OK);
    }
    ck_assert_ptr_null(carve_heap_aligned_alloc(h, 3, 10));
    ck_assert_ptr_null(carve_heap_aligned_alloc(h, (size_t)1 << 62, 10));
    ck_assert_ptr_null(carve_heap_aligned_alloc(h, (size_t)1 << 20, 10)); /* the heap is 1 MiB */
    ck_assert_uint_eq(stats_of(h).failed, 3);
    carve_heap_free(h, small);
    ck_assert_uint_eq(stats_of(h).free_blocks, 1);
}
END_TEST

/* ---- growth -------------------------------------------------------------------------------- */

START_TEST(contiguous_growth_extends_the_last_block)
{
    grower g = {buf + 8192, buf + BUF_BYTES, 0, 0};
    carve_heap_config cfg = {.fit = CARVE_FIT_TLSF, .grow = grow_piece, .grow_ctx = &g};
    carve_heap *h = carve_heap_init(buf, 8192, &cfg);
    ck_assert_ptr_nonnull(h);
    unsigned char *p = carve_heap_alloc(h, 100000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(g.calls, 1);
    walk_log log = {0};
    carve_heap_walk(h, log_block, &log);
    ck_assert_uint_eq(log.n, 2); /* the initial free block grew into the used one, one region */
    ck_assert_ptr_eq(p, (unsigned char *)log.b[0].start + 8);
    ck_assert_uint_eq(log.b[1].start, log.b[0].start + log.b[0].size);
    ck_assert_uint_eq(stats_of(h).capacity, (size_t)(g.next - buf));
    /* realloc at the heap's end grows in place through the callback */
    unsigned char *q = carve_heap_realloc(h, p, 300000);
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(g.calls, 2);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    /* nothing more: the failure is counted and nothing changes */
    g.end = g.next;
    ck_assert_ptr_null(carve_heap_alloc(h, 500000));
    ck_assert_ptr_null(carve_heap_realloc(h, p, 500000));
    ck_assert_uint_eq(carve_heap_usable_size(h, p), 300008);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

START_TEST(other_memory_becomes_a_new_region)
{
    grower g = {buf + 8192, buf + BUF_BYTES, 4096, 0};
    carve_heap_config cfg = {.fit = CARVE_FIT_FIRST, .order = CARVE_ORDER_ADDRESS, .grow = grow_piece, .grow_ctx = &g};
    carve_heap *h = carve_heap_init(buf, 8192, &cfg);
    unsigned char *p = carve_heap_alloc(h, 100000);
    ck_assert_ptr_nonnull(p);
    ck_assert(p > buf + 8192 + 4096);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    ck_assert_int_eq(carve_heap_free(h, p), CARVE_OK);
    walk_log log = {0};
    carve_heap_walk(h, log_block, &log);
    ck_assert_uint_ge(log.n, 2);
    for (size_t i = 1; i < log.n; i++) ck_assert(log.b[i].start > log.b[i - 1].start);
}
END_TEST

START_TEST(add_region_by_hand)
{
    carve_heap *h = carve_heap_init(buf, 4096, NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_null(carve_heap_alloc(h, 10000));
    ck_assert_int_eq(carve_heap_add_region(h, buf + 4096, 8192), CARVE_OK);       /* contiguous */
    ck_assert_ptr_nonnull(carve_heap_alloc(h, 10000));
    ck_assert_int_eq(carve_heap_add_region(h, buf + 65536, 65536), CARVE_OK);     /* a new region */
    ck_assert_ptr_nonnull(carve_heap_alloc(h, 60000));
    ck_assert_int_eq(carve_heap_add_region(h, buf + 70000, 100), CARVE_EINVAL);   /* overlaps */
    ck_assert_int_eq(carve_heap_add_region(h, buf + 300000, 16), CARVE_EINVAL);   /* too small */
    ck_assert_int_eq(carve_heap_add_region(h, NULL, 4096), CARVE_EINVAL);
    ck_assert_int_eq(carve_heap_add_region(NULL, buf + 300000, 4096), CARVE_EINVAL);
    ck_assert_uint_eq(stats_of(h).capacity, 4096 + 8192 + 65536);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

/* A TLSF heap started as small as it may be and grown by exact amounts: blocks larger than its
 * list table covers go to one coarse list per row; once blocks are freed, an alloc moves the
 * table into a free block with more rows (a used block without payload, the heap's own, which
 * free refuses). The checker, run after every step, verifies that every free block is in the
 * list of its class (fine or coarse), so a search reads at most two list heads. */
START_TEST(tlsf_table_follows_the_heap)
{
    grower g = {NULL, buf + BUF_BYTES / 2, 0, 0};
    carve_heap_config cfg = {.fit = CARVE_FIT_TLSF, .grow = grow_exact, .grow_ctx = &g};
    carve_heap *h = NULL;
    size_t first = 64;
    while (h == NULL && first < 8192) h = carve_heap_init(buf, first += 64, &cfg); /* the smallest */
    ck_assert_ptr_nonnull(h);
    g.next = buf + first;
    static void *p[300];
    for (size_t i = 0; i < 300; i++) {
        p[i] = carve_heap_alloc(h, 16 + i * 37 % 1500 + (i % 50 == 0 ? 20000 : 0));
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq(carve_heap_check(h), 0);
    }
    for (size_t i = 0; i < 300; i += 2) {
        ck_assert_int_eq(carve_heap_free(h, p[i]), CARVE_OK);
        p[i] = carve_heap_alloc(h, 8);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq(carve_heap_check(h), 0);
    }
    walk_log log = {0};
    carve_heap_walk(h, log_block, &log);
    size_t own = 0;
    for (size_t i = 0; i < log.n && i < 64; i++)
        if (log.b[i].used && log.b[i].payload == 0) own = i + 1;
    ck_assert_uint_ne(own, 0); /* the table moved into the heap */
    ck_assert_int_eq(carve_heap_free(h, (void *)(log.b[own - 1].start + 8)), CARVE_EFOREIGN);
    /* a region added by hand, far larger than the heap so far: its free block goes to a coarse
     * list, and a request only it can serve is found at once, without a growth */
    size_t calls = g.calls;
    ck_assert_int_eq(carve_heap_add_region(h, buf + BUF_BYTES / 2, BUF_BYTES / 2), CARVE_OK);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    void *big = carve_heap_alloc(h, BUF_BYTES / 2 - 4096);
    ck_assert_ptr_nonnull(big);
    ck_assert(big > (void *)(buf + BUF_BYTES / 2));
    ck_assert_uint_eq(g.calls, calls);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    for (size_t i = 0; i < 300; i++) ck_assert_int_eq(carve_heap_free(h, p[i]), CARVE_OK);
    ck_assert_int_eq(carve_heap_free(h, big), CARVE_OK);
    carve_stats st = stats_of(h);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.requested, 0);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

START_TEST(small_blocks_from_the_high_end)
{
    carve_heap_config cfg = {.fit = CARVE_FIT_FIRST, .order = CARVE_ORDER_ADDRESS, .split_high_below = 256};
    carve_heap *h = carve_heap_init(buf, 65536, &cfg);
    ck_assert_ptr_nonnull(h);
    unsigned char *small[8], *large[8];
    for (int i = 0; i < 8; i++) {
        small[i] = carve_heap_alloc(h, 64);
        large[i] = carve_heap_alloc(h, 448);
        ck_assert_ptr_nonnull(small[i]);
        ck_assert_ptr_nonnull(large[i]);
    }
    ck_assert(small[0] > large[7]);
    for (int i = 1; i < 8; i++) {
        ck_assert_ptr_eq(small[i], small[i - 1] - 80); /* downwards from the top */
        ck_assert_ptr_eq(large[i], large[i - 1] + 464); /* upwards from the bottom */
    }
    for (int i = 0; i < 8; i++) carve_heap_free(h, large[i]);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    unsigned char *p = carve_heap_alloc(h, 512 * 7); /* the large blocks left one hole */
    ck_assert_ptr_eq(p, large[0]);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

START_TEST(grow_min_sets_the_smallest_request)
{
    grower g = {buf + 4096, buf + BUF_BYTES, 0, 0};
    carve_heap_config cfg = {.fit = CARVE_FIT_BEST, .grow = grow_piece, .grow_ctx = &g, .grow_min = 65536};
    carve_heap *h = carve_heap_init(buf, 4096, &cfg);
    ck_assert_ptr_nonnull(h);
    for (int i = 0; i < 100; i++) ck_assert_ptr_nonnull(carve_heap_alloc(h, 100));
    ck_assert_uint_eq(g.calls, 1);
    ck_assert_uint_eq((size_t)(g.next - (buf + 4096)), 65536);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

/* ---- misuse -------------------------------------------------------------------------------- */

/* A snapshot of the heap for "unchanged" checks: its stats and a walk. */
typedef struct snapshot {
    carve_stats st;
    walk_log log;
} snapshot;
static snapshot snap(const carve_heap *h)
{
    snapshot s = {.st = stats_of(h)};
    carve_heap_walk(h, log_block, &s.log);
    return s;
}
static void assert_same(const carve_heap *h, const snapshot *before)
{
    snapshot now = snap(h);
    ck_assert(now.st.used == before->st.used && now.st.free == before->st.free &&
              now.st.free_blocks == before->st.free_blocks && now.st.requested == before->st.requested &&
              now.st.allocs == before->st.allocs && now.st.frees == before->st.frees &&
              now.st.failed == before->st.failed && now.st.capacity == before->st.capacity);
    ck_assert_uint_eq(now.log.n, before->log.n);
    for (size_t i = 0; i < now.log.n && i < 64; i++)
        ck_assert(now.log.b[i].start == before->log.b[i].start && now.log.b[i].size == before->log.b[i].size &&
                  now.log.b[i].used == before->log.b[i].used && now.log.b[i].payload == before->log.b[i].payload);
}

START_TEST(misuse_gets_a_status_and_changes_nothing)
{
    carve_heap *h = make((carve_fit)_i, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100), *c = carve_heap_alloc(h, 100);
    static unsigned char outside[64];
    carve_heap_free(h, b);
    snapshot before = snap(h);
    ck_assert_int_eq(carve_heap_free(h, outside), CARVE_EFOREIGN);        /* out of range */
    ck_assert_int_eq(carve_heap_free(h, a + 1), CARVE_EFOREIGN);          /* misaligned */
    ck_assert_int_eq(carve_heap_free(h, a + 32), CARVE_EFOREIGN);         /* inside a block */
    ck_assert_int_eq(carve_heap_free(h, b), CARVE_EDOUBLEFREE);           /* second free */
    ck_assert_int_eq(carve_heap_free(h, (void *)((uintptr_t)buf + BUF_BYTES + 64)), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_heap_free(h, NULL), CARVE_OK);
    ck_assert_int_eq(carve_heap_free(NULL, a), CARVE_EINVAL);
    ck_assert_ptr_null(carve_heap_realloc(h, a + 32, 10));
    ck_assert_uint_eq(carve_heap_usable_size(h, a + 32), 0);
    before.st.failed++; /* the bad realloc counts as a failure */
    assert_same(h, &before);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    (void)c;
}
END_TEST

START_TEST(a_damaged_header_is_caught_not_followed)
{
    carve_heap *h = make(CARVE_FIT_TLSF, CARVE_ORDER_LIFO, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100), *c = carve_heap_alloc(h, 100);
    memset(a, 0x41, 100 + 8 + 8); /* overflow a into b's header (usable is 104) */
    ck_assert_uint_gt(carve_heap_check(h), 0);
    snapshot before = snap(h);
    ck_assert_int_eq(carve_heap_free(h, b), CARVE_ECORRUPT);  /* its own header is damaged */
    ck_assert_int_eq(carve_heap_free(h, a), CARVE_ECORRUPT);  /* its successor's is */
    assert_same(h, &before);
    ck_assert_int_eq(carve_heap_free(h, c), CARVE_OK);        /* c and its neighbours are sound */
    ck_assert_uint_gt(carve_heap_check(h), 0);
}
END_TEST

/* A free block damaged by an overflow from the used block below it (its header and both
 * links) or by a write after free (its links only), for every policy: alloc, aligned_alloc and
 * realloc do not follow it: each gives NULL, counted as failed, and changes nothing; a free that
 * would merge with it reports CARVE_ECORRUPT and changes nothing. */
START_TEST(a_damaged_free_block_is_not_followed)
{
    carve_fit fit = (carve_fit)(_i / 2);
    bool overflow = _i % 2 == 0;
    carve_heap *h = make(fit, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100), *c = carve_heap_alloc(h, 100);
    fill_rest(h);
    ck_assert_int_eq(carve_heap_free(h, b), CARVE_OK); /* the only free block */
    if (overflow) memset(a, 0x41, 104 + 8 + 16);        /* a's usable is 104: b's header and links */
    else memset(b, 0x41, 16);                           /* b's links, after its free */
    ck_assert_uint_gt(carve_heap_check(h), 0);
    snapshot before = snap(h);
    ck_assert_ptr_null(carve_heap_alloc(h, 50));
    ck_assert_ptr_null(carve_heap_aligned_alloc(h, 64, 10));
    ck_assert_ptr_null(carve_heap_realloc(h, a, 150)); /* would grow into b */
    before.st.failed += 3;
    assert_same(h, &before);
    ck_assert_int_eq(carve_heap_free(h, c), CARVE_ECORRUPT); /* would merge with b */
    assert_same(h, &before);
    ck_assert_uint_gt(carve_heap_check(h), 0);
}
END_TEST

/* With a damaged free block somewhere, a request may still be served from a sound block the
 * search reaches first (TLSF and SEGREGATED look only at the request's lists); otherwise it
 * gives NULL and changes nothing. Adding memory whose insert would pass the damaged block
 * (a list kept in address order) reports CARVE_ECORRUPT. */
START_TEST(a_damaged_block_elsewhere_is_left_alone)
{
    carve_fit fit = (carve_fit)_i;
    carve_heap *h = make(fit, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100), *c = carve_heap_alloc(h, 100);
    fill_rest(h);
    (void)c;
    ck_assert_int_eq(carve_heap_free(h, b), CARVE_OK);
    memset(a, 0x41, 104 + 8 + 16);
    snapshot before = snap(h);
    static _Alignas(64) unsigned char extra[65536]; /* a second region */
    carve_status st = carve_heap_add_region(h, extra, sizeof extra);
    if (st != CARVE_OK) {
        ck_assert_int_eq(st, CARVE_ECORRUPT);
        assert_same(h, &before);
        return;
    }
    before = snap(h);
    unsigned char *p = carve_heap_alloc(h, 5000);
    if (p == NULL) {
        before.st.failed++;
        assert_same(h, &before);
    } else {
        ck_assert(p > extra && p + 5000 <= extra + sizeof extra);
        ck_assert_uint_ge(carve_heap_usable_size(h, p), 5000);
        ck_assert(fit == CARVE_FIT_TLSF || fit == CARVE_FIT_SEGREGATED); /* the lists pass b first */
    }
    ck_assert_uint_gt(carve_heap_check(h), 0);
}
END_TEST

START_TEST(check_counts_broken_invariants)
{
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, false);
    unsigned char *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100);
    carve_heap_free(h, a);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    uint64_t *footer = (uint64_t *)(b - 16); /* the free block's footer, just below b's header */
    *footer ^= 16;
    ck_assert_uint_gt(carve_heap_check(h), 0);
    *footer ^= 16;
    ck_assert_uint_eq(carve_heap_check(h), 0);
    void **link = (void **)a; /* the free block's next link */
    void *saved = *link;
    *link = a;                /* a cycle */
    ck_assert_uint_gt(carve_heap_check(h), 0);
    *link = saved;
    ck_assert_uint_eq(carve_heap_check(h), 0);
    ck_assert_uint_eq(carve_heap_check(NULL), 1);
}
END_TEST

START_TEST(impossible_sizes_give_null)
{
    carve_heap *h = make(CARVE_FIT_SEGREGATED, CARVE_ORDER_LIFO, false);
    void *a = carve_heap_alloc(h, 10);
    ck_assert_ptr_null(carve_heap_alloc(h, SIZE_MAX));
    ck_assert_ptr_null(carve_heap_alloc(h, SIZE_MAX - 7));
    ck_assert_ptr_null(carve_heap_alloc(h, BUF_BYTES));
    ck_assert_ptr_null(carve_heap_realloc(h, a, SIZE_MAX));
    ck_assert_ptr_null(carve_heap_aligned_alloc(h, 64, SIZE_MAX - 100));
    ck_assert_uint_eq(carve_heap_usable_size(h, a), 24);
    carve_stats st = stats_of(h);
    ck_assert_uint_eq(st.failed, 5);
    ck_assert_uint_eq(st.allocs, 1);
    ck_assert_ptr_null(carve_heap_alloc(NULL, 1));
}
END_TEST

START_TEST(init_refuses_bad_configs)
{
    carve_heap_config cfg = {.align = 24};
    ck_assert_ptr_null(carve_heap_init(buf, BUF_BYTES, &cfg));
    cfg.align = 4;
    ck_assert_ptr_null(carve_heap_init(buf, BUF_BYTES, &cfg));
    cfg = (carve_heap_config){.fit = (carve_fit)6};
    ck_assert_ptr_null(carve_heap_init(buf, BUF_BYTES, &cfg));
    cfg = (carve_heap_config){.order = (carve_order)5};
    ck_assert_ptr_null(carve_heap_init(buf, BUF_BYTES, &cfg));
    ck_assert_ptr_null(carve_heap_init(NULL, BUF_BYTES, NULL));
    ck_assert_ptr_null(carve_heap_init(buf, 64, NULL));
    cfg = (carve_heap_config){.align = 8};
    carve_heap *h = carve_heap_init(buf, 4096, &cfg);
    ck_assert_ptr_nonnull(h);
    unsigned char *p = carve_heap_alloc(h, 1), *q = carve_heap_alloc(h, 17);
    ck_assert_uint_eq(q - p, 32);
    ck_assert_uint_eq(carve_heap_usable_size(h, q), 24);
}
END_TEST

START_TEST(stats_follow_the_operations)
{
    carve_heap *h = make(CARVE_FIT_TLSF, CARVE_ORDER_LIFO, false);
    carve_stats st = stats_of(h);
    ck_assert_uint_eq(st.capacity, BUF_BYTES);
    ck_assert_uint_lt(st.capacity - st.free, 8192); /* control data and the TLSF lists */
    void *a = carve_heap_alloc(h, 1000), *b = carve_heap_alloc(h, 10);
    carve_heap_free(h, a);
    st = stats_of(h);
    ck_assert_uint_eq(st.requested, 10);
    ck_assert_uint_eq(st.peak_requested, 1010);
    ck_assert_uint_eq(st.used, 32);
    ck_assert_uint_eq(st.allocs, 2);
    ck_assert_uint_eq(st.frees, 1);
    ck_assert_uint_eq(st.free_blocks, 2);
    carve_stats bad;
    carve_stats_init(&bad);
    bad.version = 99;
    carve_heap_stats(h, &bad);
    ck_assert_uint_eq(bad.capacity, 0);
    (void)b;
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("heap");
    TCase *tc = tcase_create("placement");
    tcase_add_loop_test(tc, hand_laid_heap_tells_the_policies_apart, 0, 30);
    tcase_add_test(tc, next_fit_resumes_where_the_last_search_ended);
    tcase_add_test(tc, best_and_worst_take_the_first_of_equals);
    tcase_add_test(tc, block_layout_is_documented);
    tcase_add_test(tc, walk_visits_blocks_in_address_order);
    tcase_add_test(tc, free_coalesces_both_sides_unless_told_not_to);
    tcase_add_test(tc, split_only_when_the_rest_holds_a_block);
    suite_add_tcase(s, tc);
    tc = tcase_create("realloc_aligned_grow");
    tcase_add_test(tc, realloc_grows_and_shrinks_in_place);
    tcase_add_test(tc, realloc_moves_and_keeps_contents);
    tcase_add_test(tc, realloc_slides_into_a_free_block_before);
    tcase_add_test(tc, aligned_alloc_any_power_of_two);
    tcase_add_test(tc, contiguous_growth_extends_the_last_block);
    tcase_add_test(tc, other_memory_becomes_a_new_region);
    tcase_add_test(tc, add_region_by_hand);
    tcase_add_test(tc, tlsf_table_follows_the_heap);
    tcase_add_test(tc, small_blocks_from_the_high_end);
    tcase_add_test(tc, grow_min_sets_the_smallest_request);
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse_and_views");
    tcase_add_loop_test(tc, misuse_gets_a_status_and_changes_nothing, 0, 6);
    tcase_add_test(tc, a_damaged_header_is_caught_not_followed);
    tcase_add_loop_test(tc, a_damaged_free_block_is_not_followed, 0, 12);
    tcase_add_loop_test(tc, a_damaged_block_elsewhere_is_left_alone, 0, 6);
    tcase_add_test(tc, check_counts_broken_invariants);
    tcase_add_test(tc, impossible_sizes_give_null);
    tcase_add_test(tc, init_refuses_bad_configs);
    tcase_add_test(tc, stats_follow_the_operations);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(suite)
