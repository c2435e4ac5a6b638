/* tests/unit/malloc_interior_test.c: the free fast path's checks, exhaustively. Run with
 * CARVE_ON_ERROR=ignore (tests/malloc.cmake), so that each rejected free is simply ignored:
 * every pointer inside a block (each offset below 64 and each 16-byte offset of blocks of every size class up to 64 KiB)
 * and every slot of a page not carved yet must be rejected; one that slipped through would put
 * a bad block on a free list, which carve_malloc_check reports, or change the statistics. */
#include "carve/malloc.h"
#include "carve_test.h"

#include <string.h>

static size_t used_bytes(void)
{
    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    return st.used;
}

START_TEST(interior_and_uncarved_pointers_are_rejected)
{
    ck_assert_int_eq(carve_option_get(CARVE_OPTION_ON_ERROR), CARVE_ON_ERROR_IGNORE);
    for (size_t n = 16; n <= 65536; n += n < 128 ? 16 : n / 8) {
        unsigned char *a = carve_malloc(n), *b = carve_malloc(n);
        size_t bs = carve_usable_size(a), before = used_bytes();
        memset(a, 0x11, bs);
        memset(b, 0x22, bs);
        for (size_t k = 1; k < bs; k += k < 64 ? 1 : 16) { /* misaligned ones too */
            carve_free(a + k);
            carve_free(b + k);
        }
        /* slots far past the last carved block (inside the page, never handed out) */
        for (size_t k = 1; k < 64; k++) carve_free(b + k * 4 * bs);
        ck_assert_msg(carve_malloc_check() == 0, "size %zu: a bad pointer reached a free list", n);
        ck_assert_uint_eq(used_bytes(), before);
        for (size_t i = 0; i < bs; i++) ck_assert(a[i] == 0x11 && b[i] == 0x22);
        carve_free(a);
        carve_free(a); /* a double free, ignored too */
        carve_free(b);
        ck_assert_uint_eq(carve_malloc_check(), 0);
    }
}
END_TEST

static Suite *malloc_interior_suite(void)
{
    Suite *s = suite_create("malloc_interior");
    TCase *tc = tcase_create("interior");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, interior_and_uncarved_pointers_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(malloc_interior_suite)
