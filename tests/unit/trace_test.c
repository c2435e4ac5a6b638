/* tests/unit/trace_test.c: the .rep reader accepts the CS:APP format and names the file and line
 * of every malformed one: one case per error path of trace_parse and trace_load, out of memory
 * included (malloc and realloc are wrapped at link time, see tests/labkit.cmake, so that the
 * reader's n-th allocation can be made to fail). */
#include "carve_test.h"
#include "trace.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- failing the n-th allocation (ld --wrap=malloc,--wrap=realloc) ---------------------------- */

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_in = -1; /* -1: never; else the number of allocations left before one fails */

static bool fail_now(void)
{
    if (fail_in < 0) return false;
    return fail_in-- == 0;
}
void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

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
    /* numbers out of range: the id's limit, an id past 64 bits, the size's limit, a size past
     * 64 bits, a header number past 64 bits */
    {"1\n1\n1\n1\na 4294967295 5\n", "t.rep:5: 'a' needs an id (0 to 4294967294)"},
    {"1\n1\n1\n1\nf 99999999999999999999\n", "t.rep:5: 'f' needs an id (0 to 4294967294)"},
    {"1\n1\n1\n1\nr 0 9223372036854775808\n", "t.rep:5: 'r' needs a size"},
    {"1\n1\n1\n1\na 0 99999999999999999999\n", "t.rep:5: 'a' needs a size"},
    {"99999999999999999999\n1\n1\n1\n", "t.rep:1: header line 1: expected one number"},
    {"1\n2 3\n1\n1\n", "t.rep:2: header line 2: expected one number"},
    {"", "t.rep:0: truncated header: 0 of 4 lines"},
    {"1\n1\n1\n1\nax 0 1\n", "t.rep:5: 'a' needs an id (0 to 4294967294)"},
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

START_TEST(parse_line_too_long)
{
    char text[1200] = "1\n1\n1\n1\na 0 ";
    memset(text + strlen(text), '7', 600);
    trace t;
    char err[256] = "";
    ck_assert_int_eq(trace_parse("t.rep", text, &t, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.rep:5: line too long");
}
END_TEST

/* A scratch directory, and a file in it with the given bytes. */
static char scratch[64];

static const char *scratch_file(const char *name, const char *bytes, size_t len, char *path, size_t pathlen)
{
    if (scratch[0] == '\0') {
        snprintf(scratch, sizeof scratch, "/tmp/carve-trace-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(scratch));
    }
    snprintf(path, pathlen, "%s/%s", scratch, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    return path;
}

static void load_fails(const char *path, const char *want_suffix)
{
    trace t;
    char err[4400] = "";
    ck_assert_int_eq(trace_load(path, &t, err, sizeof err), -1);
    ck_assert_ptr_null(t.ops);
    size_t n = strlen(err), m = strlen(want_suffix);
    ck_assert_msg(n >= m && strcmp(err + n - m, want_suffix) == 0, "got: %s", err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "the message names another file: %s", err);
}

/* A .gz name goes to gzip through the shell, inside single quotes: a quote in it is refused. */
START_TEST(load_refuses_quote_in_gz_name)
{
    char path[256];
    scratch_file("it's.rep.gz", "x", 1, path, sizeof path);
    load_fails(path, ":0: unsupported file name (a .gz name with a ' in it)");
}
END_TEST

/* A missing .gz file is found missing before gzip runs. */
START_TEST(load_reports_missing_gz_file)
{
    load_fails("/nonexistent/x.rep.gz", ":0: No such file or directory");
}
END_TEST

START_TEST(load_reports_bad_gzip)
{
    char path[256];
    scratch_file("bad.rep.gz", "not gzip", 8, path, sizeof path);
    load_fails(path, ":0: gzip could not decompress it");
}
END_TEST

START_TEST(load_reports_binary_data)
{
    char path[256];
    scratch_file("nul.rep", "1\n1\n1\n1\na 0 1\0\n", 15, path, sizeof path);
    load_fails(path, ":0: binary data in a text trace");
}
END_TEST

/* A directory opens, but cannot be read. */
START_TEST(load_reports_read_error)
{
    char path[256];
    scratch_file("x.rep", "", 0, path, sizeof path);
    load_fails(scratch, ":0: Is a directory");
}
END_TEST

/* A syntax error in a file names the file and the line, as trace_parse does. */
START_TEST(load_names_file_and_line)
{
    char path[256];
    const char *text = "1\n1\n1\n1\nz 0 1\n";
    scratch_file("op.rep", text, strlen(text), path, sizeof path);
    load_fails(path, ":5: unknown operation 'z' (expected a, r or f)");
}
END_TEST

/* Out of memory at each allocation the reader makes: the first, the growths of its operation
 * array (1024 at first) and of its text buffer (64 KiB at first), the copy of the name. Each
 * fails cleanly with "out of memory" and leaves *out empty; with no failure the trace loads. */
START_TEST(out_of_memory_at_every_allocation)
{
    /* 3000 operations (two growths of the operation array) in about 25 KiB, after 124 KiB of
     * comment lines: 150 KiB of text, so the 64 KiB text buffer grows twice */
    size_t cap = 256 * 1024, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text, cap, "1\n1\n3000\n1\n");
    for (int i = 0; i < 1200; i++) len += (size_t)snprintf(text + len, cap - len, "# %0100d\n", i);
    for (int i = 0; i < 3000; i++) len += (size_t)snprintf(text + len, cap - len, "a %d 8\n", i);
    char path[256];
    scratch_file("big.rep", text, len, path, sizeof path);
    trace t;
    char err[512];
    int failures = 0;
    for (int n = 0;; n++) {
        fail_in = n;
        int rc = trace_load(path, &t, err, sizeof err);
        bool injected = fail_in < 0;
        fail_in = -1;
        if (!injected) { /* the n-th allocation was never made: everything succeeded */
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(t.nops, 3000);
            trace_free(&t);
            break;
        }
        ck_assert_msg(rc == -1, "allocation %d failed, yet the load succeeded", n);
        ck_assert_ptr_null(t.ops);
        ck_assert_ptr_nonnull(strstr(err, "out of memory"));
        failures++;
    }
    /* the text buffer (1 + 2 growths), the operation array (1 + 2), the name */
    ck_assert_int_ge(failures, 7);
    free(text);
}
END_TEST

static void remove_scratch(void)
{
    if (scratch[0] == '\0') return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch);
}

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parses_a_trace);
    tcase_add_loop_test(tc, names_file_and_line_of_each_error, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, load_reports_missing_file);
    tcase_add_test(tc, parse_line_too_long);
    tcase_add_test(tc, load_refuses_quote_in_gz_name);
    tcase_add_test(tc, load_reports_missing_gz_file);
    tcase_add_test(tc, load_reports_bad_gzip);
    tcase_add_test(tc, load_reports_binary_data);
    tcase_add_test(tc, load_reports_read_error);
    tcase_add_test(tc, load_names_file_and_line);
    tcase_add_test(tc, out_of_memory_at_every_allocation);
    tcase_add_unchecked_fixture(tc, NULL, remove_scratch);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(trace_suite)
