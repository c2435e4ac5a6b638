/* tests/misuse/misuse_test.c: runs each misuse program (one misuse each, in this directory) as
 * a child process with its environment, captures stdout and stderr, and checks the exact
 * outcome: the signal (SIGABRT) or the exit status, and the exact one-line message, built from
 * the pointer (and block size) the program announced on stdout. */
#include "carve_test.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_result {
    int status;
    char out[4096], err[4096];
} run_result;

static void read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)got;
    buf[n] = '\0';
}

static void run(const char *prog, const char *env1, const char *env2, run_result *r)
{
    int out[2], err[2];
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        unsetenv("CARVE_ON_ERROR");
        unsetenv("CARVE_SECURE");
        unsetenv("CARVE_PURGE_DELAY_MS");
        if (env1 != NULL) putenv((char *)env1);
        if (env2 != NULL) putenv((char *)env2);
        char path[1024];
        snprintf(path, sizeof path, "%s/misuse_%s", CARVE_MISUSE_DIR, prog);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    read_all(out[0], r->out, sizeof r->out); /* small outputs: no deadlock between the pipes */
    read_all(err[0], r->err, sizeof r->err);
    close(out[0]);
    close(err[0]);
    ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
}

/* The first stdout line that looks like a pointer, and the first that is a number. */
static void announced(const run_result *r, char *ptr, char *num)
{
    ptr[0] = num[0] = '\0';
    const char *line = r->out;
    while (*line != '\0') {
        size_t len = strcspn(line, "\n");
        if (len < 64) {
            if (strncmp(line, "0x", 2) == 0 && ptr[0] == '\0') memcpy(ptr, line, len), ptr[len] = '\0';
            else if (line[0] >= '0' && line[0] <= '9' && num[0] == '\0') memcpy(num, line, len), num[len] = '\0';
        }
        line += len + (line[len] == '\n');
    }
}

enum outcome { ABORTS, SEGFAULTS, CONTINUES };

/* Run prog; expect the outcome and exactly the message fmt (%1$s the pointer, %2$s the number). */
static void expect(const char *prog, const char *env1, const char *env2, enum outcome how,
                   const char *fmt)
{
    run_result r;
    run(prog, env1, env2, &r);
    char ptr[64], num[64], want[512];
    announced(&r, ptr, num);
    snprintf(want, sizeof want, fmt, ptr, num);
    if (how == ABORTS) {
        ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT,
                      "%s: expected SIGABRT, status 0x%x, stderr: %s", prog, r.status, r.err);
        ck_assert_msg(strstr(r.out, "continued") == NULL, "%s went on after the misuse", prog);
    } else if (how == SEGFAULTS) {
        ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV,
                      "%s: expected SIGSEGV, status 0x%x, stderr: %s", prog, r.status, r.err);
    } else {
        ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
                      "%s: expected exit 0, status 0x%x, stderr: %s", prog, r.status, r.err);
    }
    ck_assert_msg(strcmp(r.err, want) == 0, "%s: stderr\n  got:  '%s'\n  want: '%s'", prog, r.err, want);
}

START_TEST(double_free_aborts)
{
    expect("double_free", NULL, NULL, ABORTS, "carve: double free of %1$s (block of 64 bytes)\n");
}
END_TEST

/* A double free of a block whose size the program announced. */
static const char double_free_msg[] = "carve: double free of %1$s (block of %2$s bytes)\n";

START_TEST(double_free_of_a_large_block_aborts)
{
    expect("double_free_large", NULL, NULL, ABORTS, double_free_msg);
}
END_TEST

/* The blocks whose first free gives their memory back: a large block's span returns to its
 * segment, the lone block of a page of 2 KiB blocks empties the page, and a huge block is
 * unmapped at once when the purge delay is 0. The second free must still be named a double free. */
static const struct { const char *prog, *env1, *env2; enum outcome how; } released[] = {
    {"double_free_span", NULL, NULL, ABORTS},
    {"double_free_span", "CARVE_PURGE_DELAY_MS=0", NULL, ABORTS},
    {"double_free_span", "CARVE_SECURE=1", NULL, ABORTS},
    {"double_free_lone", NULL, NULL, ABORTS},
    {"double_free_lone", "CARVE_PURGE_DELAY_MS=0", NULL, ABORTS},
    {"double_free_lone", "CARVE_ON_ERROR=warn", NULL, CONTINUES},
    {"double_free_large", "CARVE_PURGE_DELAY_MS=0", NULL, ABORTS},
    {"double_free_large", "CARVE_PURGE_DELAY_MS=0", "CARVE_SECURE=1", ABORTS},
};

START_TEST(double_free_of_released_memory_is_named)
{
    expect(released[_i].prog, released[_i].env1, released[_i].env2, released[_i].how,
           double_free_msg);
}
END_TEST

START_TEST(double_free_after_a_remote_free_aborts)
{
    expect("double_free_remote", NULL, NULL, ABORTS, "carve: double free of %1$s (block of 64 bytes)\n");
}
END_TEST

START_TEST(free_of_a_stack_pointer_aborts)
{
    expect("free_stack", NULL, NULL, ABORTS, "carve: free of invalid pointer %1$s (not allocated by carve)\n");
}
END_TEST

START_TEST(free_of_a_global_aborts)
{
    expect("free_global", NULL, NULL, ABORTS, "carve: free of invalid pointer %1$s (not allocated by carve)\n");
}
END_TEST

START_TEST(free_inside_a_block_aborts)
{
    expect("free_inside", NULL, NULL, ABORTS,
           "carve: free of invalid pointer %1$s (inside a block of 64 bytes)\n");
}
END_TEST

START_TEST(misaligned_free_aborts)
{
    expect("free_misaligned", NULL, NULL, ABORTS, "carve: free of invalid pointer %1$s (misaligned)\n");
}
END_TEST

START_TEST(realloc_of_a_freed_block_aborts)
{
    expect("realloc_freed", NULL, NULL, ABORTS,
           "carve: realloc of freed pointer %1$s (block of 64 bytes)\n");
}
END_TEST

START_TEST(overwritten_canary_aborts_in_secure_mode)
{
    expect("canary", "CARVE_SECURE=1", NULL, ABORTS,
           "carve: heap overflow past the end of %1$s (block of 40 bytes, canary overwritten)\n");
}
END_TEST

START_TEST(write_past_a_span_hits_the_guard_page_in_secure_mode)
{
    /* (in the ASan build, ASan must leave SIGSEGV alone) */
    expect("guard_page", "CARVE_SECURE=1", "ASAN_OPTIONS=handle_segv=0", SEGFAULTS, "");
}
END_TEST

START_TEST(write_past_a_huge_block_hits_the_guard_page_in_secure_mode)
{
    expect("guard_huge", "CARVE_SECURE=1", "ASAN_OPTIONS=handle_segv=0", SEGFAULTS, "");
}
END_TEST

START_TEST(warn_policy_reports_and_goes_on)
{
    expect("double_free", "CARVE_ON_ERROR=warn", NULL, CONTINUES,
           "carve: double free of %1$s (block of 64 bytes)\n");
    expect("free_inside", "CARVE_ON_ERROR=warn", NULL, CONTINUES,
           "carve: free of invalid pointer %1$s (inside a block of 64 bytes)\n");
    expect("realloc_freed", "CARVE_ON_ERROR=warn", NULL, CONTINUES,
           "carve: realloc of freed pointer %1$s (block of 64 bytes)\n");
    expect("free_stack", "CARVE_ON_ERROR=warn", NULL, CONTINUES,
           "carve: free of invalid pointer %1$s (not allocated by carve)\n");
}
END_TEST

START_TEST(ignore_policy_is_silent)
{
    expect("double_free", "CARVE_ON_ERROR=ignore", NULL, CONTINUES, "");
    expect("free_global", "CARVE_ON_ERROR=ignore", NULL, CONTINUES, "");
    expect("canary", "CARVE_ON_ERROR=ignore", "CARVE_SECURE=1", CONTINUES, "");
}
END_TEST

START_TEST(bad_option_values_warn_once_and_keep_the_default)
{
    run_result r;
    run("bad_option", "CARVE_PURGE_DELAY_MS=abc", NULL, &r);
    ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    ck_assert_str_eq(r.err, "carve: ignoring CARVE_PURGE_DELAY_MS=abc (expected 0..60000); using 100\n");
    ck_assert_str_eq(r.out, "100\n");
    run("bad_option", "CARVE_PURGE_DELAY_MS=70000", NULL, &r);
    ck_assert_str_eq(r.err, "carve: ignoring CARVE_PURGE_DELAY_MS=70000 (expected 0..60000); using 100\n");
    run("bad_option", "CARVE_PURGE_DELAY_MS=250", NULL, &r);
    ck_assert_str_eq(r.err, "");
    ck_assert_str_eq(r.out, "250\n");
    run("bad_option", "CARVE_ON_ERROR=explode", NULL, &r);
    ck_assert_str_eq(r.err, "carve: ignoring CARVE_ON_ERROR=explode (expected abort, warn, ignore); using abort\n");
    expect("double_free", "CARVE_ON_ERROR=explode", NULL, ABORTS,
           "carve: ignoring CARVE_ON_ERROR=explode (expected abort, warn, ignore); using abort\n"
           "carve: double free of %1$s (block of 64 bytes)\n");
}
END_TEST

/* CARVE_STATS=1 prints the table at exit: the counters of the program's own calls, and the
 * options in effect. */
START_TEST(stats_option_prints_the_table_at_exit)
{
    run_result r;
    run("report_exit", "CARVE_STATS=1", NULL, &r);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status 0x%x", r.status);
    ck_assert_msg(strncmp(r.err, "carve malloc statistics\n", 24) == 0, "stderr: %s", r.err);
    char line[128];
    const char *want[][2] = {{"allocs", "3"}, {"frees", "1"}, {"failed", "1"}};
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "\n  %-12s %14s\n", want[i][0], want[i][1]);
        ck_assert_msg(strstr(r.err, line) != NULL, "no '%s' in: %s", line, r.err);
    }
    const char *opts[][2] = {{"CARVE_STATS", "1"}, {"CARVE_VERBOSE", "0"}, {"CARVE_PURGE_DELAY_MS", "100"}};
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "\n  %-20s %6s\n", opts[i][0], opts[i][1]);
        ck_assert_msg(strstr(r.err, line) != NULL, "no '%s' in: %s", line, r.err);
    }
    ck_assert_ptr_nonnull(strstr(r.err, "\n  used "));
    run("report_exit", NULL, NULL, &r);
    ck_assert_str_eq(r.err, ""); /* and nothing without it */
}
END_TEST

/* CARVE_VERBOSE=1: the options line at start-up, then one line per failed OS mapping. */
START_TEST(verbose_option_reports_options_and_failed_mappings)
{
    run_result r;
    run("report_exit", "CARVE_VERBOSE=1", "CARVE_PURGE_DELAY_MS=250", &r);
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status 0x%x", r.status);
    char want[512];
    snprintf(want, sizeof want,
             "carve: options: CARVE_STATS=0 CARVE_STATS_JSON=0 CARVE_VERBOSE=1 "
             "CARVE_PURGE_DELAY_MS=250 CARVE_SECURE=0 CARVE_ON_ERROR=0 CARVE_VALGRIND=1\n"
             "carve: mapping %zu bytes failed (errno 12)\n", ((size_t)10 << 20) + 4096);
    ck_assert_str_eq(r.err, want);
}
END_TEST

static Suite *misuse_suite(void)
{
    Suite *s = suite_create("malloc_misuse");
    TCase *tc = tcase_create("misuse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, double_free_aborts);
    tcase_add_test(tc, double_free_of_a_large_block_aborts);
    tcase_add_loop_test(tc, double_free_of_released_memory_is_named, 0,
                        (int)(sizeof released / sizeof released[0]));
    tcase_add_test(tc, double_free_after_a_remote_free_aborts);
    tcase_add_test(tc, free_of_a_stack_pointer_aborts);
    tcase_add_test(tc, free_of_a_global_aborts);
    tcase_add_test(tc, free_inside_a_block_aborts);
    tcase_add_test(tc, misaligned_free_aborts);
    tcase_add_test(tc, realloc_of_a_freed_block_aborts);
    tcase_add_test(tc, overwritten_canary_aborts_in_secure_mode);
    tcase_add_test(tc, write_past_a_span_hits_the_guard_page_in_secure_mode);
    tcase_add_test(tc, write_past_a_huge_block_hits_the_guard_page_in_secure_mode);
    tcase_add_test(tc, warn_policy_reports_and_goes_on);
    tcase_add_test(tc, ignore_policy_is_silent);
    tcase_add_test(tc, bad_option_values_warn_once_and_keep_the_default);
    tcase_add_test(tc, stats_option_prints_the_table_at_exit);
    tcase_add_test(tc, verbose_option_reports_options_and_failed_mappings);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(misuse_suite)
