/* tests/unit/malloc_oom_test.c: running out of memory. Threads allocate while carve_os_map is
 * made to fail (carve_os_fail_after): every call returns a usable block or NULL with ENOMEM,
 * realloc failures leave the old block intact, nothing crashes, and everything works again once
 * the OS does. (The same under setrlimit(RLIMIT_AS) is test malloc.oom_rlimit, outside the
 * sanitizer builds.) */
#include "carve/malloc.h"
#include "carve_test.h"
#include "os/os.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

int carve_oom_threads(uint64_t seed, int nthreads, long ops);

typedef struct oom_arg {
    uint64_t seed;
    long ops, nulls, bad;
} oom_arg;

static void *oom_worker(void *arg)
{
    oom_arg *a = arg;
    test_rng r = {a->seed};
    enum { SLOTS = 256 };
    unsigned char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    for (long op = 0; op < a->ops; op++) {
        unsigned k = (unsigned)test_rng_below(&r, SLOTS);
        size_t n = test_rng_below(&r, 4) == 0 ? (size_t)test_rng_range(&r, 100000, 12000000)
                                               : (size_t)test_rng_range(&r, 1, 4000);
        if (slot[k] != NULL && test_rng_below(&r, 2) == 0) {
            errno = 0;
            unsigned char *q = carve_realloc(slot[k], n);
            if (q == NULL) {
                a->nulls++;
                if (errno != ENOMEM) a->bad++;
                if (len[k] > 0 && slot[k][len[k] - 1] != (unsigned char)k) a->bad++; /* p intact */
                continue;
            }
            slot[k] = q;
        } else {
            carve_free(slot[k]);
            errno = 0;
            slot[k] = test_rng_below(&r, 3) == 0 ? carve_calloc(1, n) : carve_malloc(n);
            if (slot[k] == NULL) {
                a->nulls++;
                if (errno != ENOMEM) a->bad++;
                len[k] = 0;
                continue;
            }
        }
        len[k] = n;
        if (n > 0) {
            slot[k][0] = (unsigned char)k;
            slot[k][n - 1] = (unsigned char)k;
        }
    }
    for (unsigned k = 0; k < SLOTS; k++) carve_free(slot[k]);
    return NULL;
}

/* Shared with malloc_oom_rlimit.c: run nthreads workers; returns the NULL count, -1 on a bad
 * result (a NULL without ENOMEM, or a realloc failure that damaged the block). */
int carve_oom_threads(uint64_t seed, int nthreads, long ops)
{
    pthread_t th[8];
    oom_arg args[8];
    for (int i = 0; i < nthreads; i++) {
        args[i] = (oom_arg){seed + (uint64_t)i * 101, ops, 0, 0};
        if (pthread_create(&th[i], NULL, oom_worker, &args[i]) != 0) {
            args[i].ops = 0;
            oom_worker(&args[i]); /* no thread to be had: run it here */
            th[i] = 0;
        }
    }
    long nulls = 0, bad = 0;
    for (int i = 0; i < nthreads; i++) {
        if (th[i] != 0) pthread_join(th[i], NULL);
        nulls += args[i].nulls;
        bad += args[i].bad;
    }
    return bad != 0 ? -1 : (int)(nulls > 1000000 ? 1000000 : nulls);
}

#ifndef CARVE_OOM_NO_MAIN
START_TEST(mmap_failures_give_enomem_not_crashes)
{
    uint64_t seed = test_seed();
    for (long after = 0; after < 40; after += 7) {
        carve_os_fail_after(after);
        int nulls = carve_oom_threads(seed + (uint64_t)after, 4, 3000 * (long)test_scale());
        carve_os_fail_after(-1);
        if (nulls < 0) CARVE_FAILF(seed, "fail_after(%ld): a NULL without ENOMEM, or a damaged block", after);
        if (nulls == 0) CARVE_FAILF(seed, "fail_after(%ld): no allocation failed", after);
        ck_assert_uint_eq(carve_malloc_check(), 0);
    }
    /* The OS is back: everything succeeds again. */
    ck_assert_int_eq(carve_oom_threads(seed, 2, 2000), 0);
    void *big = carve_malloc((size_t)64 << 20);
    ck_assert_ptr_nonnull(big);
    carve_free(big);
}
END_TEST

START_TEST(first_allocation_of_a_thread_can_fail)
{
    carve_os_fail_after(0);
    errno = 0;
    void *p = carve_malloc((size_t)10 << 20);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(errno, ENOMEM);
    carve_os_fail_after(-1);
    p = carve_malloc((size_t)10 << 20);
    ck_assert_ptr_nonnull(p);
    carve_free(p);
}
END_TEST

static Suite *malloc_oom_suite(void)
{
    Suite *s = suite_create("malloc_oom");
    TCase *tc = tcase_create("oom");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mmap_failures_give_enomem_not_crashes);
    tcase_add_test(tc, first_allocation_of_a_thread_can_fail);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(malloc_oom_suite)
#endif
