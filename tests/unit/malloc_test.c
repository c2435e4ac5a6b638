/* tests/unit/malloc_test.c: carve_malloc's interface, edge by edge: errno values, alignment of
 * every result, usable sizes, realloc content, malloc(0), trim and decommit, the large-block
 * cache, statistics, options, and a randomized run against a shadow model with
 * carve_malloc_check after every step. */
#include "carve/malloc.h"
#include "carve_test.h"
#include "malloc_resident.h"
#include "os/os.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const size_t sizes[] = {0, 1, 8, 15, 16, 17, 24, 100, 128, 129, 1000, 1024, 1025, 4096, 5000,
                               65536, 70000, 131072, 131073, 200000, (size_t)1 << 20,
                               (size_t)2 << 20, ((size_t)2 << 20) + 1, (size_t)3 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 31);
}
static bool same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 31)) return false;
    return true;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (size_t)sysconf(_SC_PAGESIZE);
}

START_TEST(malloc_zero_gives_unique_pointers)
{
    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = carve_malloc(0);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq((uintptr_t)p[i] % CARVE_MALLOC_ALIGN, 0);
        for (int j = 0; j < i; j++) ck_assert_ptr_ne(p[i], p[j]);
    }
    for (int i = 0; i < 64; i++) carve_free(p[i]);
    carve_free(NULL);
    ck_assert_uint_eq(carve_usable_size(NULL), 0);
}
END_TEST

START_TEST(impossible_sizes_give_enomem)
{
    errno = 0;
    ck_assert_ptr_null(carve_malloc(SIZE_MAX));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(carve_malloc(SIZE_MAX / 2));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(carve_calloc(SIZE_MAX / 2 + 1, 2));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(carve_calloc((size_t)1 << 33, (size_t)1 << 33));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(carve_reallocarray(NULL, SIZE_MAX, 2));
    ck_assert_int_eq(errno, ENOMEM);

    unsigned char *p = carve_malloc(100);
    ck_assert_ptr_nonnull(p);
    fill(p, 100, 7);
    errno = 0;
    ck_assert_ptr_null(carve_realloc(p, SIZE_MAX));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(carve_reallocarray(p, (size_t)1 << 40, (size_t)1 << 40));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(carve_aligned_alloc(64, SIZE_MAX - 10));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert(same(p, 100, 7)); /* p is still valid and unchanged */
    carve_free(p);

    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    ck_assert_uint_ge(st.failed, 7);
}
END_TEST

START_TEST(bad_alignment_gives_einval)
{
    void *p = (void *)0x1234;
    ck_assert_int_eq(carve_posix_memalign(&p, 3, 8), EINVAL);
    ck_assert_int_eq(carve_posix_memalign(&p, 0, 8), EINVAL);
    ck_assert_int_eq(carve_posix_memalign(&p, 4, 8), EINVAL); /* not a multiple of void * */
    ck_assert_int_eq(carve_posix_memalign(&p, 24, 8), EINVAL);
    ck_assert_ptr_eq(p, (void *)0x1234);
    errno = 0;
    ck_assert_ptr_null(carve_aligned_alloc(3, 8));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(carve_aligned_alloc(0, 8));
    ck_assert_int_eq(errno, EINVAL);
    errno = 77;
    ck_assert_int_eq(carve_posix_memalign(&p, 64, SIZE_MAX), ENOMEM);
    ck_assert_int_eq(errno, 77); /* posix_memalign reports through its result only */
    ck_assert_ptr_eq(p, (void *)0x1234);
}
END_TEST

START_TEST(every_result_is_aligned_and_big_enough)
{
    for (size_t a = 1; a <= ((size_t)8 << 20); a <<= 1) {
        for (size_t i = 0; i < NSIZES; i++) {
            size_t n = sizes[i];
            unsigned char *p = carve_aligned_alloc(a, n);
            ck_assert_msg(p != NULL, "aligned_alloc(%zu, %zu)", a, n);
            size_t want = a < 16 ? 16 : a;
            ck_assert_msg((uintptr_t)p % want == 0, "aligned_alloc(%zu, %zu) = %p", a, n, (void *)p);
            size_t us = carve_usable_size(p);
            ck_assert_msg(us >= n, "usable %zu < %zu", us, n);
            memset(p, 0x5a, us);
            void *q = NULL;
            if (a >= sizeof(void *)) {
                ck_assert_int_eq(carve_posix_memalign(&q, a, n), 0);
                ck_assert_uint_eq((uintptr_t)q % a, 0);
                ck_assert_uint_ge(carve_usable_size(q), n);
            }
            carve_free(p);
            carve_free(q);
        }
    }
    for (size_t n = 0; n < 5000; n += 7) {
        unsigned char *p = carve_malloc(n), *z = carve_calloc(1, n);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        ck_assert_uint_eq((uintptr_t)z % 16, 0);
        ck_assert_uint_ge(carve_usable_size(p), n);
        for (size_t i = 0; i < n; i++) ck_assert_uint_eq(z[i], 0);
        carve_free(p);
        carve_free(z);
    }
    ck_assert_uint_eq(carve_malloc_check(), 0);
}
END_TEST

START_TEST(realloc_keeps_content)
{
    size_t steps[] = {1, 10, 100, 1000, 20000, 150000, (size_t)3 << 20, 500000, 40, 3, 0};
    unsigned char *p = carve_realloc(NULL, 1);
    ck_assert_ptr_nonnull(p);
    fill(p, 1, 9);
    size_t have = 1;
    for (size_t i = 1; steps[i] != 0; i++) {
        unsigned char *q = carve_realloc(p, steps[i]);
        ck_assert_ptr_nonnull(q);
        size_t keep = have < steps[i] ? have : steps[i];
        ck_assert_msg(same(q, keep, 9), "realloc %zu -> %zu lost content", have, steps[i]);
        fill(q, steps[i], 9);
        have = steps[i];
        p = q;
    }
    errno = 0;
    ck_assert_ptr_null(carve_realloc(p, 0)); /* frees, as glibc does */
    unsigned char *a = carve_reallocarray(NULL, 10, 10);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_ge(carve_usable_size(a), 100);
    carve_free(a);
}
END_TEST

START_TEST(free_preserves_errno)
{
    for (size_t i = 0; i < NSIZES; i++) {
        void *p = carve_malloc(sizes[i]);
        errno = 1234;
        carve_free(p);
        ck_assert_int_eq(errno, 1234);
    }
    errno = 99;
    carve_free(NULL);
    ck_assert_int_eq(errno, 99);
    /* frees that empty pages and segments (decommit, unmap) keep errno too */
    void *many[2000];
    for (int i = 0; i < 2000; i++) many[i] = carve_malloc(2000);
    errno = 4321;
    for (int i = 0; i < 2000; i++) carve_free(many[i]);
    ck_assert_int_eq(errno, 4321);
}
END_TEST

START_TEST(calloc_zeroes_reused_memory)
{
    for (size_t i = 1; i < NSIZES; i++) {
        size_t n = sizes[i];
        unsigned char *p = carve_malloc(n);
        memset(p, 0xAB, n);
        carve_free(p);
        unsigned char *z = carve_calloc(n, 1);
        ck_assert_ptr_nonnull(z);
        for (size_t k = 0; k < n; k++)
            if (z[k] != 0) ck_abort_msg("calloc(%zu) byte %zu is %d", n, k, z[k]);
        carve_free(z);
    }
}
END_TEST

/* calloc of a large block made of slices that hold no data (never written, or decommitted by
 * trim) knows they read as zero and touches none of its pages; on slices just freed it zeroes
 * (calloc_zeroes_reused_memory). */
START_TEST(calloc_of_clean_slices_touches_nothing)
{
    carve_trim(); /* every free slice decommitted */
    const size_t n = (size_t)1 << 20, ps = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *z = carve_calloc(1, n);
    ck_assert_ptr_nonnull(z);
    void *pages[256];
    size_t np = 0;
    for (size_t at = ps; at + ps <= n && np < 256; at += ps) pages[np++] = z + at;
    ck_assert_uint_eq(resident_permille(pages, np), 0); /* no memset ran over them */
    for (size_t k = 0; k < n; k++)
        if (z[k] != 0) ck_abort_msg("calloc byte %zu is %d", k, z[k]);
    memset(z, 0xcd, n);
    carve_free(z);
    z = carve_calloc(1, n); /* the same, now dirty, slices: zeroed */
    for (size_t k = 0; k < n; k++)
        if (z[k] != 0) ck_abort_msg("calloc on dirty slices: byte %zu is %d", k, z[k]);
    carve_free(z);
}
END_TEST

/* Random operations against a shadow model: each live block carries a pattern seeded by its
 * slot, checked at every realloc and free (an overlap or a lost byte breaks it). */
START_TEST(random_operations_match_shadow_model)
{
    uint64_t seed = test_seed();
    test_rng r = {seed};
    enum { SLOTS = 512 };
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    long ops = 20000 * (long)test_scale();
    for (long op = 0; op < ops; op++) {
        unsigned k = (unsigned)test_rng_below(&r, SLOTS);
        size_t n = test_rng_below(&r, 10) < 8 ? (size_t)test_rng_below(&r, 600)
                                              : (size_t)test_rng_below(&r, 300000);
        unsigned kind = (unsigned)test_rng_below(&r, 5);
        if (ptr[k] != NULL) {
            if (!same(ptr[k], len[k], k)) CARVE_FAILF(seed, "op %ld: slot %u corrupted", op, k);
            if (kind == 0 && n == 0) { /* realloc(p, 0) frees p and returns NULL */
                if (carve_realloc(ptr[k], 0) != NULL) CARVE_FAILF(seed, "op %ld: realloc(p, 0)", op);
                ptr[k] = NULL;
            } else if (kind == 0) {
                unsigned char *q = carve_realloc(ptr[k], n);
                if (q == NULL) CARVE_FAILF(seed, "op %ld: realloc failed", op);
                size_t keep = len[k] < n ? len[k] : n;
                if (!same(q, keep, k)) CARVE_FAILF(seed, "op %ld: realloc lost content", op);
                ptr[k] = q;
            } else {
                carve_free(ptr[k]);
                ptr[k] = NULL;
            }
        }
        if (ptr[k] == NULL) {
            size_t a = (size_t)1 << test_rng_below(&r, 14);
            ptr[k] = kind == 1 ? carve_calloc(1, n) : kind == 2 ? carve_aligned_alloc(a, n)
                                                                 : carve_malloc(n);
            if (ptr[k] == NULL) CARVE_FAILF(seed, "op %ld: allocation of %zu failed", op, n);
            if (kind == 2 && (uintptr_t)ptr[k] % a != 0) CARVE_FAILF(seed, "op %ld: misaligned", op);
            if (kind == 1)
                for (size_t i = 0; i < n; i++)
                    if (ptr[k][i] != 0) CARVE_FAILF(seed, "op %ld: calloc not zero", op);
        }
        len[k] = n;
        if (carve_usable_size(ptr[k]) < n) CARVE_FAILF(seed, "op %ld: usable size too small", op);
        fill(ptr[k], n, k);
        size_t bad = carve_malloc_check();
        if (bad != 0) CARVE_FAILF(seed, "op %ld: carve_malloc_check found %zu violations", op, bad);
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        if (ptr[k] != NULL && !same(ptr[k], len[k], k)) CARVE_FAILF(seed, "slot %u corrupted", k);
        carve_free(ptr[k]);
        ptr[k] = NULL;
    }
    ck_assert_uint_eq(carve_malloc_check(), 0);
    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_ge(st.allocs, (uint64_t)ops / 2);
    ck_assert_uint_eq(st.allocs, st.frees);
}
END_TEST

START_TEST(trim_returns_memory)
{
    enum { N = 32768 };
    static void *p[N];
    size_t before = rss_bytes();
    for (int i = 0; i < N; i++) {
        p[i] = carve_malloc(1000); /* 32 MiB */
        memset(p[i], 1, 1000);
    }
    void *big = carve_malloc((size_t)16 << 20);
    memset(big, 1, (size_t)16 << 20);
    size_t full = rss_bytes(), mapped_full = carve_os_mapped_bytes();
    ck_assert_uint_gt(full, before + ((size_t)40 << 20));
    for (int i = 0; i < N; i++) carve_free(p[i]);
    carve_free(big);
    ck_assert(carve_trim());
    size_t after = rss_bytes();
    ck_assert_msg(after + ((size_t)40 << 20) < full, "rss %zu -> %zu after trim", full, after);
    ck_assert_uint_lt(carve_os_mapped_bytes() + ((size_t)16 << 20), mapped_full);
}
END_TEST

START_TEST(empty_pages_are_decommitted_after_the_delay)
{
    ck_assert_int_eq(carve_option_get(CARVE_OPTION_PURGE_DELAY_MS), 100);
    enum { N = 16384 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = carve_malloc(2000); /* 32 MiB */
        memset(p[i], 1, 2000);
    }
    size_t full = rss_bytes();
    for (int i = 0; i < N; i++) carve_free(p[i]);
    /* Page-level operations tick the purge: the first after the delay ages the free slices, the
     * next one a delay later decommits those that stayed free. */
    for (int tick = 0; tick < 2; tick++) {
        struct timespec ts = {0, 150 * 1000 * 1000}; /* the delay (100 ms) and a margin */
        nanosleep(&ts, NULL);
        void *q = carve_malloc(50000);
        carve_free(q);
    }
    size_t after = rss_bytes();
    ck_assert_msg(after + ((size_t)24 << 20) < full, "rss %zu -> %zu", full, after);
}
END_TEST

/* A small-class page taken from slices a purge gave back is faulted in at once (one
 * MADV_POPULATE_WRITE, not a fault per page): the blocks the page has not handed out yet are
 * resident before anyone touches them. A page on fresh slices is not (it faults on first
 * touch, as calloc_of_clean_slices_touches_nothing checks for large blocks). Skipped where the
 * kernel lacks MADV_POPULATE_WRITE (before Linux 5.14). */
START_TEST(pages_on_purged_slices_are_faulted_in_at_once)
{
    enum { N = 64, BS = 24 * 1024 };
    static void *p[N];
    long probe_page = sysconf(_SC_PAGESIZE);
    void *probe = mmap(NULL, (size_t)probe_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(probe, MAP_FAILED);
    int can_populate = madvise(probe, (size_t)probe_page, 23 /* MADV_POPULATE_WRITE */) == 0;
    munmap(probe, (size_t)probe_page);
    if (!can_populate) return;
    void *keep = carve_malloc(64); /* first: its segment stays mapped through the trim */
    for (int i = 0; i < N; i++) { /* several pages of the class, written */
        p[i] = carve_malloc(BS);
        memset(p[i], 1, BS);
    }
    for (int i = 0; i < N; i++) carve_free(p[i]);
    carve_trim(); /* every free slice decommitted */
    ck_assert_uint_eq(resident_permille(p, N), 0);
    ck_assert_uint_eq(carve_malloc_check(), 0);
    unsigned char *first = carve_malloc(BS); /* a new page, on the purged slices */
    ck_assert_ptr_nonnull(first);
    /* the middle of each block the page has not handed out (a page holds at least 4): not
     * even a free-list link there */
    void *later[3];
    size_t bs = carve_usable_size(first);
    for (int k = 0; k < 3; k++) later[k] = first + (size_t)(k + 1) * bs + bs / 2;
    unsigned share = resident_permille(later, 3);
    ck_assert_msg(share == 1000, "%u per mille of the untouched blocks resident", share);
    ck_assert_uint_eq(carve_malloc_check(), 0);
    carve_free(first);
    carve_free(keep);
}
END_TEST

/* The purge runs from the free and refill paths too: a thread that frees 32 MiB and then only
 * allocates and frees one small block (no new page, no large block) still gives the freed pages
 * back, one to two delays later. The deadline (5 s) is only there to end a failing run. */
START_TEST(freed_pages_go_back_while_the_thread_only_churns_small_blocks)
{
    enum { N = 16384 };
    static void *p[N];
    churn_small(1); /* the small class has its page before the big blocks come */
    for (int i = 0; i < N; i++) {
        p[i] = carve_malloc(2000);
        memset(p[i], 1, 2000);
    }
    ck_assert_uint_gt(resident_permille(p, N), 900);
    for (int i = 0; i < N; i++) carve_free(p[i]);
    double start = now_seconds();
    unsigned share = 1000;
    while ((share = resident_permille(p, N)) > 50 && now_seconds() - start < 5) churn_small(1000);
    ck_assert_msg(share <= 50, "%u per mille still resident after %.1f s", share, now_seconds() - start);
}
END_TEST

/* A thread that keeps taking new pages (a large block allocated and freed in a loop, far more
 * slices per tick than it has free) defers the decommit of its free slices, since it is
 * growing into them, but only for a few ticks: the 32 MiB it freed still go back. Every 1024th
 * block stays, so that no segment is left empty (empty ones are unmapped, which would hide the
 * purge). The deadline (5 s) is only there to end a failing run. */
START_TEST(freed_pages_go_back_while_the_thread_keeps_taking_new_pages)
{
    enum { N = 16384 };
    static void *p[N], *freed[N];
    size_t nfreed = 0;
    for (int i = 0; i < N; i++) {
        p[i] = carve_malloc(2000);
        memset(p[i], 1, 2000);
    }
    for (int i = 0; i < N; i++) {
        if (i % 1024 == 0) continue;
        carve_free(p[i]);
        freed[nfreed++] = p[i];
    }
    double start = now_seconds();
    unsigned share = 1000;
    while ((share = resident_permille(freed, nfreed)) > 50 && now_seconds() - start < 5) {
        for (int k = 0; k < 100; k++) {
            volatile char *big = carve_malloc(200000); /* four slices, claimed and freed */
            big[0] = 1;
            carve_free((void *)big);
        }
    }
    ck_assert_msg(share <= 50, "%u per mille still resident after %.1f s", share, now_seconds() - start);
    for (int i = 0; i < N; i += 1024) carve_free(p[i]);
}
END_TEST

/* The huge cache expires the same way: freed huge blocks are unmapped a delay after their free
 * while the thread only churns small blocks. */
START_TEST(cached_huge_blocks_expire_while_the_thread_only_churns_small_blocks)
{
    carve_trim();
    churn_small(1);
    void *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = carve_malloc((size_t)3 << 20);
        ck_assert_ptr_nonnull(b[i]);
    }
    for (int i = 0; i < 4; i++) carve_free(b[i]);
    size_t cached = carve_os_mapped_bytes();
    double start = now_seconds();
    while (carve_os_mapped_bytes() + ((size_t)12 << 20) > cached && now_seconds() - start < 5)
        churn_small(1000);
    ck_assert_msg(carve_os_mapped_bytes() + ((size_t)12 << 20) <= cached,
                  "mapped %zu -> %zu", cached, carve_os_mapped_bytes());
}
END_TEST

START_TEST(large_blocks_are_cached)
{
    size_t n = (size_t)8 << 20;
    void *a = carve_malloc(n);
    ck_assert_ptr_nonnull(a);
    size_t mapped = carve_os_mapped_bytes();
    carve_free(a);
    ck_assert_uint_eq(carve_os_mapped_bytes(), mapped); /* kept for reuse */
    void *b = carve_malloc(n - 4096);
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(carve_os_mapped_bytes(), mapped);
    carve_free(b);
    carve_trim();
    ck_assert_uint_lt(carve_os_mapped_bytes() + n, mapped + 1);
}
END_TEST

/* A freed huge block's range serves later blocks from its head: a smaller request takes whole
 * 4 MiB chunks of it and leaves the rest cached as a range of its own, so three 3 MiB blocks come
 * out of one freed 12 MiB mapping, side by side, without mapping anything; two adjacent freed
 * ranges serve one block across both (calloc zeroes the header that stood between them).
 * Secure mode takes whole ranges only: see huge_blocks_end_in_a_guard_page. */
START_TEST(huge_cache_splits_a_range_and_joins_neighbours)
{
    carve_trim();
    if (carve_option_get(CARVE_OPTION_SECURE)) return;
    const size_t mib = (size_t)1 << 20, chunk = 4 * mib;
    unsigned char *big = carve_malloc(12 * mib - 4096); /* a 12 MiB mapping, header included */
    ck_assert_ptr_nonnull(big);
    memset(big, 0xee, 12 * mib - 4096);
    carve_free(big);
    size_t mapped = carve_os_mapped_bytes();
    unsigned char *blk[3];
    for (int i = 0; i < 3; i++) {
        blk[i] = carve_malloc(3 * mib);
        ck_assert_ptr_eq(blk[i], big + (size_t)i * chunk); /* the next head of the range */
        ck_assert_uint_ge(carve_usable_size(blk[i]), 3 * mib);
        ck_assert_uint_eq(carve_os_mapped_bytes(), mapped);
        fill(blk[i], 3 * mib, (unsigned)i + 1);
        ck_assert_uint_eq(carve_malloc_check(), 0);
    }
    for (int i = 0; i < 3; i++) ck_assert(same(blk[i], 3 * mib, (unsigned)i + 1)); /* no overlap */
    carve_free(blk[1]);
    carve_free(blk[0]);
    unsigned char *joined = carve_calloc(1, 7 * mib);
    ck_assert_ptr_eq(joined, big);
    ck_assert_uint_eq(carve_os_mapped_bytes(), mapped);
    for (size_t i = 0; i < 7 * mib; i += 512) ck_assert_uint_eq(joined[i], 0);
    for (size_t i = chunk - 8192; i < chunk + 8192; i++) ck_assert_uint_eq(joined[i], 0);
    ck_assert(same(blk[2], 3 * mib, 3));
    ck_assert_uint_eq(carve_malloc_check(), 0);
    carve_free(joined);
    carve_free(blk[2]);
    carve_trim();
    ck_assert_uint_le(carve_os_mapped_bytes() + 12 * mib, mapped);
}
END_TEST

/* A huge request that no cached range holds grows the largest one in place: only the missing
 * part is mapped (right below or right after the range), so the block contains the cached
 * range's memory, and calloc still zeroes what the old block had written. */
START_TEST(huge_cache_extends_a_range_in_place)
{
    carve_trim();
    if (carve_option_get(CARVE_OPTION_SECURE)) return; /* its guard page would end up inside */
    size_t small = (size_t)3 << 20, big = (size_t)7 << 20;
    unsigned char *a = carve_malloc(small);
    ck_assert_ptr_nonnull(a);
    memset(a, 0xab, small);
    carve_free(a);
    size_t cached = carve_os_mapped_bytes();
    unsigned char *b = carve_calloc(1, big);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_lt(carve_os_mapped_bytes(), cached + big); /* the 3 MiB were reused */
    ck_assert_uint_ge(carve_usable_size(b), big);
    ck_assert(a >= b && a + small <= b + carve_usable_size(b)); /* in place, not moved */
    /* calloc cleared the 3 MiB it reused and left the fresh 4 MiB alone (they read as zero):
     * before any read below faults them in, at most the reused part is resident */
    static void *pages[(7 << 20) / 4096];
    size_t np = 0;
    for (size_t i = 0; i + 4096 <= big; i += 4096) pages[np++] = b + i;
    ck_assert_uint_lt(resident_permille(pages, np), 600);
    for (size_t i = 0; i < big; i++)
        if (b[i] != 0) ck_abort_msg("calloc byte %zu of the extended range is %d", i, b[i]);
    ck_assert_uint_eq(carve_malloc_check(), 0);
    memset(b, 0xcd, big);
    carve_free(b);
    carve_trim();
}
END_TEST

/* The cache holds at most 64 ranges: freeing 65 huge blocks unmaps the oldest one only, and the
 * 64 cached ones serve 64 requests without a new mapping. */
START_TEST(huge_cache_evicts_oldest_when_full)
{
    carve_trim();
    enum { N = 65 };
    const size_t size = ((size_t)2 << 20) + 65536;
    void *blk[N];
    for (int i = 0; i < N; i++) {
        blk[i] = carve_malloc(size);
        ck_assert_ptr_nonnull(blk[i]);
    }
    size_t live = carve_os_mapped_bytes();
    for (int i = 0; i < N; i++) carve_free(blk[i]);
    size_t cached = carve_os_mapped_bytes();
    ck_assert_uint_lt(cached, live);                      /* one range evicted */
    ck_assert_uint_ge(cached + size + 8192 + 4096, live); /* ... only one      */
    ck_assert_uint_eq(carve_malloc_check(), 0);
    for (int i = 1; i < N; i++) {
        blk[i] = carve_malloc(size);
        ck_assert_ptr_nonnull(blk[i]);
    }
    ck_assert_uint_eq(carve_os_mapped_bytes(), cached); /* all 64 served from the cache */
    ck_assert_uint_eq(carve_malloc_check(), 0);
    for (int i = 1; i < N; i++) carve_free(blk[i]);
    carve_trim();
    ck_assert_uint_le(carve_os_mapped_bytes() + (size_t)(N - 1) * size, cached);
}
END_TEST

/* The permissions of the page holding address a, from /proc/self/maps ("rw-p", "---p"), or "". */
static const char *page_perms(uintptr_t a, char out[8])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    out[0] = '\0';
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
            strcpy(out, perms);
            break;
        }
    }
    if (f != NULL) fclose(f);
    return out;
}

/* Secure mode: the page after every huge block is a guard page (PROT_NONE), whether the block
 * was mapped afresh or is a cached range used again; a reused range is never split or joined
 * (the guard would end up inside a block). Without secure mode the last usable byte is simply
 * there. */
START_TEST(huge_blocks_end_in_a_guard_page)
{
    carve_trim();
    bool secure = carve_option_get(CARVE_OPTION_SECURE) != 0;
    const size_t mib = (size_t)1 << 20;
    const size_t want[] = {3 * mib, 6 * mib, 5 * mib, 4 * mib, 12 * mib, 3 * mib};
    unsigned char *blk[6];
    char perms[8];
    for (int i = 0; i < 6; i++) {
        blk[i] = carve_malloc(want[i]);
        ck_assert_ptr_nonnull(blk[i]);
        if (i == 2) carve_free(blk[1]);      /* 6 MiB cached: the 4 MiB request reuses it */
        if (i == 4) carve_free(blk[3]);      /* ... and the 3 MiB one takes a cached range */
        if (i == 3 || i == 5) ck_assert_ptr_eq(blk[i], blk[1]);
        size_t us = carve_usable_size(blk[i]);
        blk[i][us - 1] = 1;
        if (secure) ck_assert_str_eq(page_perms((uintptr_t)blk[i] + us, perms), "---p");
    }
    for (int i = 0; i < 6; i++)
        if (i != 1 && i != 3) carve_free(blk[i]);
    ck_assert_uint_eq(carve_malloc_check(), 0);
    carve_trim();
}
END_TEST

/* Random huge blocks (2..24 MiB, some aligned to 8 or 16 MiB, some grown or shrunk by realloc),
 * allocated and freed in random order, so that the cache splits, joins and extends ranges:
 * after every step no two live blocks overlap, each keeps its pattern (written at its start,
 * its end and every 1 MiB), and carve_malloc_check (which checks the cached ranges against the
 * live blocks) finds nothing. */
START_TEST(huge_blocks_are_never_handed_out_twice)
{
    uint64_t seed = test_seed();
    test_rng r = {seed};
    enum { SLOTS = 16 };
    unsigned char *ptr[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    const size_t mib = (size_t)1 << 20;
    long steps = 300 * (long)test_scale();
    for (long step = 0; step < steps; step++) {
        unsigned k = (unsigned)test_rng_below(&r, SLOTS);
        size_t n = 2 * mib + (size_t)test_rng_below(&r, 22 * mib);
        unsigned kind = (unsigned)test_rng_below(&r, 6);
        if (ptr[k] != NULL && kind == 0) {
            ptr[k] = carve_realloc(ptr[k], n);
            if (ptr[k] == NULL) CARVE_FAILF(seed, "step %ld: realloc failed", step);
            len[k] = len[k] < n ? len[k] : n;
        } else {
            carve_free(ptr[k]);
            size_t a = kind == 1 ? 8 * mib : kind == 2 ? 16 * mib : 16;
            ptr[k] = carve_aligned_alloc(a, n);
            if (ptr[k] == NULL || (uintptr_t)ptr[k] % a != 0)
                CARVE_FAILF(seed, "step %ld: aligned_alloc(%zu, %zu) failed", step, a, n);
            len[k] = n;
        }
        for (size_t at = 0; at < len[k]; at += mib) ptr[k][at] = (unsigned char)(k + 1);
        ptr[k][len[k] - 1] = (unsigned char)(k + 1);
        for (unsigned i = 0; i < SLOTS; i++) {
            if (ptr[i] == NULL) continue;
            for (size_t at = 0; at < len[i]; at += mib)
                if (ptr[i][at] != (unsigned char)(i + 1)) CARVE_FAILF(seed, "step %ld: slot %u overwritten", step, i);
            if (ptr[i][len[i] - 1] != (unsigned char)(i + 1)) CARVE_FAILF(seed, "step %ld: slot %u end overwritten", step, i);
            for (unsigned j = 0; j < i; j++)
                if (ptr[j] != NULL && ptr[i] < ptr[j] + carve_usable_size(ptr[j]) &&
                    ptr[j] < ptr[i] + carve_usable_size(ptr[i]))
                    CARVE_FAILF(seed, "step %ld: slots %u and %u overlap", step, i, j);
        }
        size_t bad = carve_malloc_check();
        if (bad != 0) CARVE_FAILF(seed, "step %ld: carve_malloc_check found %zu violations", step, bad);
        if (test_rng_below(&r, 100) == 0) carve_trim();
    }
    for (unsigned i = 0; i < SLOTS; i++) carve_free(ptr[i]);
    ck_assert_uint_eq(carve_malloc_check(), 0);
}
END_TEST

START_TEST(stats_follow_the_blocks)
{
    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    uint64_t allocs = st.allocs;
    size_t used = st.used;
    void *p = carve_malloc(1000), *q = carve_malloc((size_t)5 << 20);
    carve_stats_init(&st);
    carve_stats_get(&st);
    ck_assert_uint_eq(st.allocs, allocs + 2);
    ck_assert_uint_ge(st.used, used + 1000 + ((size_t)5 << 20));
    ck_assert_uint_ge(st.capacity, st.used);
    ck_assert_uint_eq(st.free, st.capacity - st.used);
    ck_assert_uint_ge(st.peak_requested, st.used);
    carve_free(p);
    carve_free(q);
    carve_stats_init(&st);
    carve_stats_get(&st);
    ck_assert_uint_eq(st.used, used);
    st.version = 99;
    st.allocs = 12345;
    carve_stats_get(&st); /* refused: nothing written */
    ck_assert_uint_eq(st.allocs, 12345);

    char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    carve_stats_print(f, true);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "\"capacity\":"));
    ck_assert_ptr_nonnull(strstr(buf, "\"CARVE_PURGE_DELAY_MS\":100"));
    f = fmemopen(buf, sizeof buf, "w");
    carve_stats_print(f, false);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "carve malloc statistics"));
    ck_assert_ptr_nonnull(strstr(buf, "allocs"));
}
END_TEST

START_TEST(options_have_defaults_and_descriptions)
{
    ck_assert_int_eq(carve_option_get(CARVE_OPTION_STATS), 0);
    const char *secure = getenv("CARVE_SECURE"); /* test malloc.secure runs this suite with 1 */
    ck_assert_int_eq(carve_option_get(CARVE_OPTION_SECURE), secure != NULL && strcmp(secure, "1") == 0);
    ck_assert_int_eq(carve_option_get(CARVE_OPTION_ON_ERROR), CARVE_ON_ERROR_ABORT);
    ck_assert_int_eq(carve_option_get(CARVE_OPTION_PURGE_DELAY_MS), 100);
    ck_assert_int_eq(carve_option_get((carve_option)CARVE_OPTION_COUNT), -1);
    ck_assert_ptr_null(carve_option_describe((carve_option)CARVE_OPTION_COUNT));
    for (int i = 0; i < CARVE_OPTION_COUNT; i++) {
        const carve_option_info *o = carve_option_describe((carve_option)i);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(strncmp(o->name, "CARVE_", 6), 0);
        for (int j = 0; j < i; j++) ck_assert_str_ne(o->name, carve_option_describe((carve_option)j)->name);
    }
}
END_TEST

/* docs/malloc.md's options table is the option table, row by row. */
START_TEST(docs_table_matches_the_option_table)
{
    FILE *f = fopen(CARVE_SOURCE_DIR "/docs/malloc.md", "r");
    ck_assert_ptr_nonnull(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    for (int i = 0; i < CARVE_OPTION_COUNT; i++) {
        const carve_option_info *o = carve_option_describe((carve_option)i);
        char row[512];
        snprintf(row, sizeof row, "| `%s` | `%s` | `%s` | %s |", o->name, o->values, o->default_str,
                 o->doc);
        ck_assert_msg(strstr(doc, row) != NULL, "docs/malloc.md lacks the row\n%s", row);
    }
}
END_TEST

START_TEST(usable_size_of_every_size)
{
    for (size_t n = 0; n < 140000; n += n < 2048 ? 1 : 997) {
        void *p = carve_malloc(n);
        size_t us = carve_usable_size(p);
        ck_assert_uint_ge(us, n);
        ck_assert_uint_le(us, n + n / 4 + 16 + 65536); /* classes waste at most a quarter */
        carve_free(p);
    }
}
END_TEST

typedef struct walk_seen {
    uintptr_t last;
    size_t used, free, ordered_violations;
    void *const *live;
    size_t nlive, live_found;
} walk_seen;

static void on_block(void *ctx, const carve_block_info *b)
{
    walk_seen *w = ctx;
    if (b->start <= w->last) w->ordered_violations++;
    w->last = b->start;
    if (b->used) w->used++; else w->free++;
    for (size_t i = 0; i < w->nlive; i++)
        if ((uintptr_t)w->live[i] == b->start && b->used && b->payload >= 100) w->live_found++;
}

START_TEST(walk_visits_blocks_in_address_order)
{
    enum { N = 300 };
    void *p[N];
    for (int i = 0; i < N; i++) p[i] = carve_malloc(i % 3 == 0 ? 200000 : 100 + (size_t)(i % 7) * 100);
    for (int i = 0; i < N; i += 2) carve_free(p[i]);
    void *live[N / 2];
    for (int i = 1; i < N; i += 2) live[i / 2] = p[i];
    walk_seen w = {0, 0, 0, 0, live, N / 2, 0};
    carve_malloc_walk(on_block, &w);
    ck_assert_uint_eq(w.ordered_violations, 0);
    ck_assert_uint_eq(w.live_found, N / 2); /* every live block, once, as used */
    ck_assert_uint_ge(w.used, N / 2);
    ck_assert_uint_gt(w.free, 0);
    for (int i = 1; i < N; i += 2) carve_free(p[i]);
}
END_TEST

static Suite *malloc_suite(void)
{
    Suite *s = suite_create("malloc");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, malloc_zero_gives_unique_pointers);
    tcase_add_test(tc, impossible_sizes_give_enomem);
    tcase_add_test(tc, bad_alignment_gives_einval);
    tcase_add_test(tc, every_result_is_aligned_and_big_enough);
    tcase_add_test(tc, realloc_keeps_content);
    tcase_add_test(tc, free_preserves_errno);
    tcase_add_test(tc, calloc_zeroes_reused_memory);
    tcase_add_test(tc, calloc_of_clean_slices_touches_nothing);
    tcase_add_test(tc, pages_on_purged_slices_are_faulted_in_at_once);
    tcase_add_test(tc, random_operations_match_shadow_model);
    tcase_add_test(tc, trim_returns_memory);
    tcase_add_test(tc, empty_pages_are_decommitted_after_the_delay);
    tcase_add_test(tc, freed_pages_go_back_while_the_thread_only_churns_small_blocks);
    tcase_add_test(tc, freed_pages_go_back_while_the_thread_keeps_taking_new_pages);
    tcase_add_test(tc, cached_huge_blocks_expire_while_the_thread_only_churns_small_blocks);
    tcase_add_test(tc, large_blocks_are_cached);
    tcase_add_test(tc, huge_cache_splits_a_range_and_joins_neighbours);
    tcase_add_test(tc, huge_cache_extends_a_range_in_place);
    tcase_add_test(tc, huge_cache_evicts_oldest_when_full);
    tcase_add_test(tc, huge_blocks_end_in_a_guard_page);
    tcase_add_test(tc, huge_blocks_are_never_handed_out_twice);
    tcase_add_test(tc, stats_follow_the_blocks);
    tcase_add_test(tc, options_have_defaults_and_descriptions);
    tcase_add_test(tc, docs_table_matches_the_option_table);
    tcase_add_test(tc, usable_size_of_every_size);
    tcase_add_test(tc, walk_visits_blocks_in_address_order);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(malloc_suite)
