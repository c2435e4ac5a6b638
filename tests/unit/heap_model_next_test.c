/* tests/unit/heap_model_next_test.c: the randomized model test (heap_model.h) for
 * CARVE_FIT_NEXT, in each of the five list orders, with and without coalescing. */
#include "heap_model.h"

START_TEST(model_next) { model_case(CARVE_FIT_NEXT, _i); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("heap_model_next");
    TCase *tc = tcase_create("orders_x_coalescing");
    tcase_add_loop_test(tc, model_next, 0, 10);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(suite)
