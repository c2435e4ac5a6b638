/* tests/unit/common_test.c: status names, the stats-version contract, the output channel, and
 * the OS layer's fault injection. */
#include "carve/common.h"
#include "carve_test.h"
#include "internal.h"
#include "os/os.h"

#include <errno.h>
#include <string.h>

START_TEST(strerror_names_every_status)
{
    const char *seen[CARVE_STATUS_COUNT];
    for (int s = 0; s < CARVE_STATUS_COUNT; s++) {
        seen[s] = carve_strerror((carve_status)s);
        ck_assert_ptr_nonnull(seen[s]);
        ck_assert_str_ne(seen[s], "unknown status");
        for (int t = 0; t < s; t++) ck_assert_str_ne(seen[s], seen[t]);
    }
    ck_assert_str_eq(carve_strerror((carve_status)99), "unknown status");
}
END_TEST

START_TEST(stats_begin_refuses_wrong_version_or_size)
{
    carve_stats st;
    carve_stats_init(&st);
    st.allocs = 7;
    ck_assert(carve_stats_begin(&st));
    ck_assert_uint_eq(st.allocs, 0);
    ck_assert_uint_eq(st.version, CARVE_STATS_VERSION);

    st.version = CARVE_STATS_VERSION + 1;
    ck_assert(!carve_stats_begin(&st));
    carve_stats_init(&st);
    st.size = 8;
    ck_assert(!carve_stats_begin(&st));
    ck_assert(!carve_stats_begin(NULL));
}
END_TEST

static char captured[256];
static void capture(void *ctx, const char *msg)
{
    (void)ctx;
    snprintf(captured, sizeof captured, "%s", msg);
}

START_TEST(output_goes_through_the_configured_function)
{
    carve_set_output(capture, NULL);
    carve_outputf("carve: %s of %p\n", "double free", (void *)0x10);
    ck_assert_str_eq(captured, "carve: double free of 0x10\n");
    carve_set_output(NULL, NULL);
}
END_TEST

START_TEST(os_map_is_aligned_and_injectable)
{
    size_t before = carve_os_mapped_bytes();
    void *p = carve_os_map(100, 1u << 20);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % (1u << 20), 0);
    memset(p, 1, 100);
    ck_assert_uint_eq(carve_os_mapped_bytes(), before + carve_os_page_size());

    carve_os_fail_after(1);
    void *q = carve_os_map(1, 0);
    ck_assert_ptr_nonnull(q);
    errno = 0;
    ck_assert_ptr_null(carve_os_map(1, 0));
    ck_assert_int_eq(errno, ENOMEM);
    carve_os_fail_after(-1);

    ck_assert_int_eq(carve_os_unmap(p, 100), 0);
    ck_assert_int_eq(carve_os_unmap(q, 1), 0);
    ck_assert_uint_eq(carve_os_mapped_bytes(), before);
    errno = 0;
    ck_assert_ptr_null(carve_os_map(0, 0));
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* carve_os_map_at maps exactly where it is told, only where nothing is mapped: it extends a
 * mapping in place (one range unmapped at once afterwards), refuses a taken range with EEXIST,
 * and obeys the fault injection. */
START_TEST(os_map_at_extends_in_place_only)
{
    size_t ps = carve_os_page_size(), before = carve_os_mapped_bytes();
    unsigned char *p = carve_os_map(4 * ps, 1u << 20);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(carve_os_unmap(p + 2 * ps, 2 * ps), 0); /* a hole after two pages */
    errno = 0;
    ck_assert_int_eq(carve_os_map_at(p + ps, ps), -1); /* taken: never replaced */
    ck_assert_int_eq(errno, EEXIST);
    p[0] = 7;
    ck_assert_int_eq(carve_os_map_at(p + 2 * ps, 2 * ps), 0);
    p[4 * ps - 1] = 9; /* the extension is read-write */
    ck_assert_uint_eq(p[0], 7);
    ck_assert_uint_eq(carve_os_mapped_bytes(), before + 4 * ps);
    carve_os_fail_after(0);
    errno = 0;
    ck_assert_int_eq(carve_os_map_at(p + 4 * ps, ps), -1);
    ck_assert_int_eq(errno, ENOMEM);
    carve_os_fail_after(-1);
    ck_assert_int_eq(carve_os_unmap(p, 4 * ps), 0); /* both parts at once */
    ck_assert_uint_eq(carve_os_mapped_bytes(), before);
}
END_TEST

START_TEST(checked_arithmetic_catches_overflow)
{
    size_t out;
    ck_assert(!carve_align_up_checked(SIZE_MAX - 3, 16, &out));
    ck_assert(carve_align_up_checked(17, 16, &out));
    ck_assert_uint_eq(out, 32);
    ck_assert(carve_mul_overflow(SIZE_MAX / 2 + 1, 2, &out));
    ck_assert_uint_eq(carve_log2_ceil(17), 5);
    ck_assert_uint_eq(carve_log2_floor(17), 4);
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, strerror_names_every_status);
    tcase_add_test(tc, stats_begin_refuses_wrong_version_or_size);
    tcase_add_test(tc, output_goes_through_the_configured_function);
    tcase_add_test(tc, os_map_is_aligned_and_injectable);
    tcase_add_test(tc, os_map_at_extends_in_place_only);
    tcase_add_test(tc, checked_arithmetic_catches_overflow);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(common_suite)
