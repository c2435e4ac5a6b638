/* tests/unit/heap_model_classes_test.c: the randomized model test (heap_model.h) for the two
 * class-indexed policies, CARVE_FIT_SEGREGATED and CARVE_FIT_TLSF (the order does not apply to
 * them), with and without coalescing. */
#include "heap_model.h"

START_TEST(model_segregated) { model_case(CARVE_FIT_SEGREGATED, _i); }
END_TEST

START_TEST(model_tlsf) { model_case(CARVE_FIT_TLSF, _i); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("heap_model_classes");
    TCase *tc = tcase_create("coalescing");
    tcase_add_loop_test(tc, model_segregated, 0, 2);
    tcase_add_loop_test(tc, model_tlsf, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(suite)
