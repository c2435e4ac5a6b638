/* tests/oom/malloc_oom_rlimit.c: out of memory for real. The address space is capped with
 * setrlimit(RLIMIT_AS) a little above what the process uses, then threads allocate (the worker
 * of tests/unit/malloc_oom_test.c): every call returns a usable block or NULL with ENOMEM and
 * nothing crashes. Not in the sanitizer builds (their shadow memory needs the address space). */
#define CARVE_OOM_NO_MAIN
#include "../unit/malloc_oom_test.c"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static size_t vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

START_TEST(rlimit_as_gives_enomem_not_crashes)
{
    uint64_t seed = test_seed();
    /* Threads' stacks are mapped before the cap: start and stop one set first. */
    ck_assert_int_ge(carve_oom_threads(seed, 4, 10), 0);
    struct rlimit lim = {vm_bytes() + ((size_t)96 << 20), RLIM_INFINITY};
    lim.rlim_max = lim.rlim_cur;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    int nulls = carve_oom_threads(seed, 4, 4000 * (long)test_scale());
    if (nulls < 0) CARVE_FAILF(seed, "a NULL without ENOMEM, or a damaged block");
    if (nulls == 0) CARVE_FAILF(seed, "nothing failed under RLIMIT_AS");
    ck_assert_uint_eq(carve_malloc_check(), 0);
}
END_TEST

static Suite *oom_rlimit_suite(void)
{
    Suite *s = suite_create("malloc_oom_rlimit");
    TCase *tc = tcase_create("rlimit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rlimit_as_gives_enomem_not_crashes);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(oom_rlimit_suite)
