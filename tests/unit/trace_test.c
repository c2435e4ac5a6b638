/* tests/unit/trace_test.c: the .rep reader accepts the CS:APP format and names the file and line
 * of every malformed one. */
#include "carve_test.h"
#include "trace.h"

#include <string.h>

START_TEST(parses_a_trace)
{
    trace t;
    char err[256] = "";
    ck_assert_int_eq(trace_parse("t.rep", "20000\n2\n3\n1\na 0 10\n\n# c\nr 0 20\nf 0\n", &t, err, sizeof err), 0);
    ck_assert_uint_eq(t.nops, 3);
    ck_assert_uint_eq(t.nids, 1);
    ck_assert_uint_eq(t.suggested_heap, 20000);
    ck_assert_int_eq(t.ops[1].kind, 'r');
    ck_assert_uint_eq(t.ops[1].size, 20);
    ck_assert_uint_eq(t.ops[2].line, 9);
    trace_free(&t);
}
END_TEST

static const struct { const char *text, *want; } bad[] = {
    {"1\n2\n", "t.rep:2: truncated header: 2 of 4 lines"},
    {"1\n2\nx\n1\n", "t.rep:3: header line 3: expected one number"},
    {"1\n1\n1\n1\nq 0 1\n", "t.rep:5: unknown operation 'q' (expected a, r or f)"},
    {"1\n1\n1\n1\na\n", "t.rep:5: 'a' needs an id (0 to 4294967294)"},
    {"1\n1\n1\n1\na 0\n", "t.rep:5: 'a' needs a size"},
    {"1\n1\n1\n1\nf 0 9\n", "t.rep:5: unexpected text after the operation"},
    {"1\n1\n1\n1\na -1 5\n", "t.rep:5: 'a' needs an id (0 to 4294967294)"},
};

START_TEST(names_file_and_line_of_each_error)
{
    trace t;
    char err[256] = "";
    ck_assert_int_eq(trace_parse("t.rep", bad[_i].text, &t, err, sizeof err), -1);
    ck_assert_str_eq(err, bad[_i].want);
    ck_assert_ptr_null(t.ops);
}
END_TEST

START_TEST(load_reports_missing_file)
{
    trace t;
    char err[256] = "";
    ck_assert_int_eq(trace_load("/nonexistent/x.rep", &t, err, sizeof err), -1);
    ck_assert_str_eq(err, "/nonexistent/x.rep:0: No such file or directory");
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parses_a_trace);
    tcase_add_loop_test(tc, names_file_and_line_of_each_error, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, load_reports_missing_file);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(trace_suite)
