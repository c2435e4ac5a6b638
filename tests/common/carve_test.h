/*
 * tests/common/carve_test.h: what every carve test shares.
 *
 * - A seeded RNG (splitmix64). The seed comes from CARVE_TEST_SEED, or a fixed default, and is
 *   printed by CARVE_FAILF so that a failing randomized run can be replayed exactly.
 * - CARVE_TEST_SCALE (env, default 1) multiplies the operation counts of randomized tests; the
 *   stress and fuzz targets raise it.
 * - CARVE_TEST_MAIN(suite_fn): a main() that runs a Check suite and returns its failure count.
 */
#ifndef CARVE_TEST_H
#define CARVE_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct test_rng { uint64_t state; } test_rng;

static inline uint64_t test_rng_next(test_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* Uniform in [0, n); n > 0. */
static inline uint64_t test_rng_below(test_rng *r, uint64_t n) { return test_rng_next(r) % n; }
/* Uniform in [lo, hi]. */
static inline uint64_t test_rng_range(test_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + test_rng_below(r, hi - lo + 1);
}

static inline uint64_t test_seed(void)
{
    const char *s = getenv("CARVE_TEST_SEED");
    return s != NULL ? strtoull(s, NULL, 0) : 0xC0FFEEull;
}

static inline uint64_t test_scale(void)
{
    const char *s = getenv("CARVE_TEST_SCALE");
    uint64_t v = s != NULL ? strtoull(s, NULL, 0) : 1;
    return v == 0 ? 1 : v;
}

/* Fail the current Check test with a message that carries the seed to replay it. */
#define CARVE_FAILF(seed, ...)                                                                 \
    do {                                                                                       \
        char carve_msg_[512];                                                                  \
        snprintf(carve_msg_, sizeof carve_msg_, __VA_ARGS__);                                  \
        ck_abort_msg("%s (replay with CARVE_TEST_SEED=0x%llx)", carve_msg_,                    \
                     (unsigned long long)(seed));                                              \
    } while (0)

#define CARVE_TEST_MAIN(suite_fn)                                                              \
    int main(void)                                                                             \
    {                                                                                          \
        SRunner *sr = srunner_create(suite_fn());                                              \
        srunner_run_all(sr, CK_NORMAL);                                                        \
        int failed = srunner_ntests_failed(sr);                                                \
        srunner_free(sr);                                                                      \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                      \
    }

#endif /* CARVE_TEST_H */
