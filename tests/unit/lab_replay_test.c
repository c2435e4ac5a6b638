/* tests/unit/lab_replay_test.c: the lab's planner and replayer, on hand-made traces with answers
 * worked out by hand, and on allocators broken on purpose (a broken allocator must never report
 * good figures). */
#include "carve_test.h"
#include "lab.h"

#include <stdlib.h>
#include <string.h>

#include "lab_toy.h"

static void plan_text(const char *text, trace *t, lab_plan *p, FILE *warn)
{
    char err[256];
    ck_assert_msg(trace_parse("t.rep", text, t, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lab_plan_build(t, p, warn, 10), 0);
}

/* The worked example:
 *   op0 a 0 100   live 100   block 16+112 = 128    footprint 128
 *   op1 a 1 200   live 300   block 16+208 = 224    footprint 352
 *   op2 f 0       live 200   (128 bytes free, never reused)
 *   op3 a 2 50    live 250   block 16+64  = 80     footprint 432
 *   op4 r 1 300   live 350   new block 16+304 = 320, old 224 freed; footprint 752   <- the peak
 *   op5 f 1, op6 f 2
 * utilisation = 350 / 752 = 0.46543; internal fragmentation at op4: (304-300) + (64-50) = 18;
 * external: free 128 + 224 = 352, largest 224: 1 - 224/352 = 0.363636. */
static const char *worked = "752\n3\n7\n1\na 0 100\na 1 200\nf 0\na 2 50\nr 1 300\nf 1\nf 2\n";

START_TEST(replay_worked_example)
{
    trace t;
    lab_plan p;
    plan_text(worked, &t, &p, NULL);
    ck_assert_uint_eq(p.peak_live, 350);
    ck_assert_uint_eq(p.peak_op, 4);
    bump_broken = 0;
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, NULL, &r), 0);
    ck_assert_msg(!r.error, "%s", r.message);
    ck_assert_uint_eq(r.ops, 7);
    ck_assert_uint_eq(r.failures, 0);
    ck_assert_uint_eq(r.peak_live, 350);
    ck_assert_uint_eq(r.peak_footprint, 752);
    ck_assert_double_eq_tol(r.utilisation, 350.0 / 752.0, 1e-9);
    ck_assert_uint_eq(r.internal_frag, 18);
    ck_assert_double_eq_tol(r.external_frag, 1.0 - 224.0 / 352.0, 1e-9);
    ck_assert_uint_eq(r.peak_footprint_op, 4);
    ck_assert_uint_ge(r.max_ns, r.p99_ns);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* An allocator that refuses some requests is measured on what it really held: in the worked
 * example with requests over 150 bytes refused, op1 (200) and op4 (300, an alloc since slot 1 is
 * empty) fail; op2 frees slot 0 before op3 takes 50, so live peaks at 100 (op0), over a
 * footprint of 128 + 80 = 208. Counting the refused bytes as live would claim 350 / 208 > 1. */
START_TEST(replay_failures_are_not_live)
{
    trace t;
    lab_plan p;
    plan_text(worked, &t, &p, NULL);
    bump_broken = 6;
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, NULL, &r), 0);
    ck_assert_msg(!r.error, "%s", r.message);
    ck_assert_uint_eq(r.failures, 2);
    ck_assert_uint_eq(r.peak_live, 100);
    ck_assert_uint_eq(r.peak_footprint, 208);
    ck_assert_double_eq_tol(r.utilisation, 100.0 / 208.0, 1e-9);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* Each broken allocator is caught, with the line of the operation that shows it. */
static const struct { int broken; const char *want; } broken[] = {
    {1, "t.rep:7: bump: block of slot 0 (100 bytes) damaged at offset 0"}, /* a 1 overwrote it */
    {2, "t.rep:9: bump: realloc lost the content"},
    {3, "t.rep:5: bump: usable size 50 is below"},
    {4, "t.rep:7: bump: free of a live block failed: double free"},
    {5, "t.rep:5: bump: pointer"},
};

START_TEST(replay_catches_broken_allocator)
{
    trace t;
    lab_plan p;
    plan_text(worked, &t, &p, NULL);
    bump_broken = broken[_i].broken;
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, NULL, &r), -1);
    ck_assert(r.error);
    ck_assert_msg(strncmp(r.message, broken[_i].want, strlen(broken[_i].want)) == 0, "got: %s", r.message);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* Meaningless operations are reported with their line and skipped; the rest replays. */
START_TEST(plan_reports_and_skips_bad_ops)
{
    const char *text = "0\n0\n0\n0\n"
                       "f 7\n"         /* line 5: never allocated      */
                       "a 1 10\n"
                       "a 1 20\n"      /* line 7: already live         */
                       "f 1\n"
                       "f 1\n"         /* line 9: already freed        */
                       "r 1 30\n"      /* line 10: reallocates a freed */
                       "r 2 40\n"      /* line 11: a new id: allocates */
                       "f 2\n";
    char *buf = NULL;
    size_t len = 0;
    FILE *warn = open_memstream(&buf, &len);
    trace t;
    lab_plan p;
    plan_text(text, &t, &p, warn);
    fclose(warn);
    ck_assert_str_eq(buf, "t.rep:5: frees id 7, which was never allocated; skipped\n"
                          "t.rep:7: allocates id 1, which is already live; skipped\n"
                          "t.rep:9: frees id 1, which was already freed; skipped\n"
                          "t.rep:10: reallocates id 1, which was freed; skipped\n");
    ck_assert_uint_eq(p.skipped, 4);
    ck_assert_uint_eq(p.nops, 4);
    ck_assert_uint_eq(p.peak_live, 40);
    ck_assert_uint_eq(p.peak_op, 2);
    bump_broken = 0;
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, NULL, &r), 0);
    ck_assert_uint_eq(r.peak_footprint, 32 + 64);
    free(buf);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* Huge, sparse ids are made dense; the warnings stop at the limit with a count. */
START_TEST(plan_sparse_ids_and_warning_limit)
{
    char text[4096] = "0\n0\n0\n0\na 4000000000 8\na 7 8\nf 4000000000\n";
    for (int i = 0; i < 12; i++) strcat(text, "f 99\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *warn = open_memstream(&buf, &len);
    trace t;
    lab_plan p;
    plan_text(text, &t, &p, warn);
    fclose(warn);
    ck_assert_uint_eq(p.nslots, 3);
    ck_assert_uint_eq(p.skipped, 12);
    ck_assert_ptr_nonnull(strstr(buf, "t.rep: 2 more operations skipped\n"));
    free(buf);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* The C library, replayed in a forked child: a clean run with an RSS footprint. */
START_TEST(replay_libc_in_child)
{
    trace t;
    lab_plan p;
    plan_text(worked, &t, &p, NULL);
    const lab_adapter *libc = lab_find_adapter("libc");
    ck_assert_ptr_nonnull(libc);
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, libc, NULL, &r), 0);
    ck_assert_msg(!r.error, "%s", r.message);
    ck_assert_uint_eq(r.peak_live, 350);
    ck_assert_int_lt(r.external_frag, 0); /* n/a */
    ck_assert_uint_ge(r.internal_frag, 0);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* A churn of n ids, each allocated (16 bytes) and freed at once: any allocator serves it from one
 * block, so its footprint is a few pages, whatever n. The lab's own state is not: 32 bytes of slot
 * and 8 of latency per id and per operation (9.6 MB for n = 200 000), and a sort of the latencies
 * that may allocate as much again. Measured as RSS growth, none of that may count. */
static char *churn_text(size_t n)
{
    size_t cap = 64 + n * 32, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text + len, cap - len, "16\n%zu\n%zu\n1\n", n, 2 * n);
    for (size_t i = 0; i < n; i++) len += (size_t)snprintf(text + len, cap - len, "a %zu 16\nf %zu\n", i, i);
    return text;
}

/* Plan text (then freed) and replay it through ad, which must run clean. */
static void replay_text_ok(char *text, const lab_adapter *ad, lab_result *r)
{
    trace t;
    lab_plan p;
    plan_text(text, &t, &p, NULL);
    free(text);
    ck_assert_int_eq(lab_replay(&p, ad, NULL, r), 0);
    ck_assert_msg(!r->error, "%s", r->message);
    lab_plan_free(&p);
    trace_free(&t);
}

static void check_rss_footprint_is_the_allocator_s(const char *name)
{
    const lab_adapter *ad = lab_find_adapter(name);
    if (ad == NULL) return; /* not built into this carve */
    enum { N = 200000 };
    lab_result r;
    replay_text_ok(churn_text(N), ad, &r);
    ck_assert_uint_eq(r.peak_live, 16);
    size_t lab_state = (size_t)N * 32;
    ck_assert_msg(r.peak_footprint < lab_state / 6, "%s: footprint %zu bytes for one live 16-byte block: the lab's "
                  "%zu bytes of slots (or its latency sort) counted as the allocator's", name, r.peak_footprint, lab_state);
}

START_TEST(rss_footprint_excludes_lab_state)
{
#if !defined(__SANITIZE_ADDRESS__)
    /* Under ASan, the C library's malloc is ASan's, which quarantines every freed block. */
    check_rss_footprint_is_the_allocator_s("libc");
#endif
    check_rss_footprint_is_the_allocator_s("malloc");
}
END_TEST

/* The p99 and max are of operations that called the allocator. A free of a refused allocation
 * calls nothing: 100 refused allocations and their 100 frees give 100 timed operations, and the
 * p99 can never exceed the max. */
START_TEST(latency_only_of_timed_ops)
{
    char text[4096] = "0\n100\n200\n1\n";
    for (int i = 0; i < 100; i++) {
        char line[64];
        snprintf(line, sizeof line, "a %d 200\nf %d\n", i, i);
        strcat(text, line);
    }
    trace t;
    lab_plan p;
    plan_text(text, &t, &p, NULL);
    bump_broken = 6; /* refuses requests over 150 bytes */
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, NULL, &r), 0);
    ck_assert_msg(!r.error, "%s", r.message);
    ck_assert_uint_eq(r.failures, 100);
    ck_assert_uint_eq(r.ops, 200);
    ck_assert_msg(r.p99_ns <= r.max_ns, "p99 %llu ns above the max %llu ns", (unsigned long long)r.p99_ns,
                  (unsigned long long)r.max_ns);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* The progress callback covers both passes: total is twice the operations, done never goes back,
 * and the last call says done. */
typedef struct progress_log { size_t calls, last_done, total; bool backwards; } progress_log;

static void log_progress(void *ctx, size_t done, size_t total)
{
    progress_log *l = ctx;
    if (done < l->last_done) l->backwards = true;
    l->calls++;
    l->last_done = done;
    l->total = total;
}

START_TEST(progress_covers_both_passes)
{
    char *text = churn_text(3000);
    trace t;
    lab_plan p;
    plan_text(text, &t, &p, NULL);
    free(text);
    bump_broken = 0;
    progress_log log = {0};
    lab_replay_opts opts = {.progress = log_progress, .progress_ctx = &log, .progress_after_ns = 1};
    lab_result r;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, &opts, &r), 0);
    ck_assert_uint_ge(log.calls, 2);
    ck_assert(!log.backwards);
    ck_assert_uint_eq(log.total, 2 * 6000);
    ck_assert_uint_eq(log.last_done, 2 * 6000);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* The timing pass runs on memory already in place: for the allocators of the process (malloc,
 * libc) too, whose state carries over from the measuring pass. 2000 blocks of 4 KiB live at
 * once: giving them back between the passes (as carve_trim did) costs about 2000 page faults. */
START_TEST(timing_pass_finds_memory_in_place)
{
    const lab_adapter *ad = lab_find_adapter("malloc");
    if (ad == NULL) return; /* not built into this carve */
    size_t cap = 64 + 4000 * 24, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text, cap, "0\n2000\n4000\n1\n");
    for (int i = 0; i < 2000; i++) len += (size_t)snprintf(text + len, cap - len, "a %d 4072\n", i);
    for (int i = 0; i < 2000; i++) len += (size_t)snprintf(text + len, cap - len, "f %d\n", i);
    lab_result r;
    replay_text_ok(text, ad, &r);
    ck_assert_msg(r.timing_faults < 200, "%zu page faults in the timing pass of 2000 blocks of 4 KiB: its memory "
                  "was given back after the measuring pass", r.timing_faults);
}
END_TEST

START_TEST(alloc_list_parsing)
{
    const lab_adapter *ads[8];
    char err[256];
    ck_assert_int_eq(lab_parse_alloc_list("libc", ads, 8, err, sizeof err), 1);
    ck_assert_int_eq(lab_parse_alloc_list("libc,nope", ads, 8, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown allocator 'nope'"));
    ck_assert_int_eq(lab_parse_alloc_list("libc,,libc", ads, 8, err, sizeof err), -1);
    ck_assert_int_ge(lab_parse_alloc_list("all", ads, 8, err, sizeof err), 1);
}
END_TEST

static char *render(lab_format fmt, const lab_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    lab_print_results(out, fmt, r, 1);
    fclose(out);
    return buf;
}

/* Every output format carries the figures. */
START_TEST(formats)
{
    lab_result r = {.trace = "dir/x.rep", .alloc = "bump", .ops = 7, .peak_live = 350, .peak_footprint = 752,
                    .utilisation = 350.0 / 752.0, .internal_frag = 18, .external_frag = -1, .ns_per_op = 12.5};
    char *buf = render(LAB_CSV, &r);
    ck_assert_ptr_nonnull(strstr(buf, "\ndir/x.rep,bump,7,0,0.465426,350,752,18,,12.50,0,0,\n"));
    free(buf);
    buf = render(LAB_JSON, &r);
    ck_assert_ptr_nonnull(strstr(buf, "\"external_frag\": null"));
    ck_assert_ptr_nonnull(strstr(buf, "\"peak_footprint\": 752"));
    free(buf);
    buf = render(LAB_TABLE, &r);
    ck_assert_ptr_nonnull(strstr(buf, "752 B"));
    ck_assert_ptr_nonnull(strstr(buf, "0.465"));
    free(buf);
}
END_TEST

/* A name with a comma or a quote is one CSV field (RFC 4180 quoting). */
START_TEST(csv_quotes_names)
{
    lab_result r = {.trace = "dir/a,b \"c\".rep", .alloc = "bump", .ops = 7, .external_frag = -1};
    char *buf = render(LAB_CSV, &r);
    ck_assert_msg(strstr(buf, "\n\"dir/a,b \"\"c\"\".rep\",bump,7,") != NULL, "got: %s", buf);
    free(buf);
}
END_TEST

/* A replay over its budget says so in every format: where it stopped, out of how many, after how
 * long, and why the allocator is slow when its adapter knows. */
START_TEST(timeout_rows_say_where_and_why)
{
    lab_result r = {.trace = "x.rep", .alloc = "first", .ops = 1024, .planned_ops = 4096, .timed_out = true,
                    .budget_s = 1, .cost = "searches a list", .external_frag = -1};
    const char *want = "gave up after 1 s (--timeout) at operation 1024 of 4096 (25%): searches a list";
    for (lab_format f = LAB_TABLE; f <= LAB_JSON; f++) {
        char *buf = render(f, &r);
        ck_assert_msg(strstr(buf, want) != NULL, "format %d: %s", (int)f, buf);
        free(buf);
    }
    /* the real list policies carry their cost; the indexed ones (ADDRESS order: treaps) and the
     * O(1) ones do not */
    const lab_adapter *lifo = lab_find_adapter("first:lifo"), *first = lab_find_adapter("first"),
                      *tlsf = lab_find_adapter("tlsf");
    if (lifo != NULL) ck_assert_ptr_nonnull(lifo->cost);
    if (first != NULL) ck_assert_ptr_null(first->cost);
    if (tlsf != NULL) ck_assert_ptr_null(tlsf->cost);
    /* and a replay stopped by its budget reports it: a budget of 1 ns ends at the first check */
    char text[65536] = "0\n0\n0\n1\n";
    for (int i = 0; i < 2048; i++) {
        char line[32];
        snprintf(line, sizeof line, "a %d 8\n", i);
        strcat(text, line);
    }
    trace t;
    lab_plan p;
    plan_text(text, &t, &p, NULL);
    bump_broken = 0;
    lab_replay_opts opts = {.budget_ns = 1};
    lab_result got;
    ck_assert_int_eq(lab_replay(&p, &bump_adapter, &opts, &got), 0);
    ck_assert(got.timed_out);
    ck_assert_uint_eq(got.ops, 1024);
    ck_assert_uint_eq(got.planned_ops, 2048);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

static Suite *lab_replay_suite(void)
{
    Suite *s = suite_create("lab_replay");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, replay_worked_example);
    tcase_add_test(tc, replay_failures_are_not_live);
    tcase_add_loop_test(tc, replay_catches_broken_allocator, 0, (int)(sizeof broken / sizeof broken[0]));
    tcase_add_test(tc, plan_reports_and_skips_bad_ops);
    tcase_add_test(tc, plan_sparse_ids_and_warning_limit);
    tcase_add_test(tc, replay_libc_in_child);
    tcase_add_test(tc, rss_footprint_excludes_lab_state);
    tcase_add_test(tc, latency_only_of_timed_ops);
    tcase_add_test(tc, progress_covers_both_passes);
    tcase_add_test(tc, timing_pass_finds_memory_in_place);
    tcase_add_test(tc, alloc_list_parsing);
    tcase_add_test(tc, formats);
    tcase_add_test(tc, csv_quotes_names);
    tcase_add_test(tc, timeout_rows_say_where_and_why);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(lab_replay_suite)
