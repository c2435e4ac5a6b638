/* tests/unit/measure_test.c: the labkit's order statistics. measure_select_u64 (selection, used
 * by the lab's p99) must give exactly what measure_quantile_u64 (a full sort) gives, on random,
 * sorted, reversed, constant and few-valued data of every small length. */
#include "carve_test.h"
#include "measure.h"

#include <string.h>

static const double qs[] = {0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0};

static void fill_kind(uint64_t *v, size_t n, int kind, test_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: v[i] = test_rng_next(rng); break;
        case 1: v[i] = i; break;
        case 2: v[i] = n - i; break;
        case 3: v[i] = 42; break;
        default: v[i] = test_rng_below(rng, 3); break;
        }
    }
}

START_TEST(select_equals_sorted_quantile)
{
    uint64_t seed = test_seed();
    test_rng rng = {seed};
    enum { MAX = 600 };
    static uint64_t a[MAX], b[MAX];
    for (size_t n = 1; n <= MAX; n += n < 40 ? 1 : 37) {
        for (int kind = 0; kind < 5; kind++) {
            for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
                fill_kind(a, n, kind, &rng);
                memcpy(b, a, n * sizeof *a);
                uint64_t want = measure_quantile_u64(a, n, qs[qi]);
                uint64_t got = measure_select_u64(b, n, qs[qi]);
                if (got != want)
                    CARVE_FAILF(seed, "n %zu kind %d q %g: select %llu, sort %llu", n, kind, qs[qi],
                                (unsigned long long)got, (unsigned long long)want);
            }
        }
    }
    ck_assert_uint_eq(measure_select_u64(a, 0, 0.99), 0);
}
END_TEST

static Suite *measure_suite(void)
{
    Suite *s = suite_create("measure");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, select_equals_sorted_quantile);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(measure_suite)
