/* tests/unit/lab_sim_test.c: carve sim's policies, orders, coalescing, headers and alignment,
 * each on a case small enough to work out by hand. */
#include "carve_test.h"
#include "sim.h"

#include <stdlib.h>
#include <string.h>

static char *sim(const char *policy, const char *order, const char *ops, const char *extra)
{
    char *argv[32], buf[512];
    snprintf(buf, sizeof buf, "sim -c -S 100 -b 1000 -p %s -l %s -A %s %s", policy, order, ops, extra);
    int argc = 0;
    for (char *tok = strtok(buf, " "); tok != NULL && argc < 31; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    sim_config c;
    char err[256];
    ck_assert_msg(sim_parse_args(argc, argv, &c, err, sizeof err) == 0, "%s", err);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ck_assert_int_eq(sim_run(&c, f, err, sizeof err), 0);
    fclose(f);
    return out;
}

static void expect(const char *out, const char *want)
{
    ck_assert_msg(strstr(out, want) != NULL, "missing \"%s\" in:\n%s", want, out);
}

/* Heap: [0]1000/10 [1]1010/20 [2]1030/30 [3]1060/40, all 100 bytes used. Freeing 0 and 2
 * leaves the holes 1000/10 and 1030/30; a request of 10 goes to the first, the best (the exact
 * fit) or the worst of them. */
#define HOLES "+10,+20,+30,+40,-0,-2"

START_TEST(policies_pick_by_rule)
{
    char *o = sim("FIRST", "ADDRSORT", HOLES ",+10", "");
    expect(o, "ptr[4] = Alloc(10) returned 1000 (searched 1 elements)");
    free(o);
    o = sim("BEST", "ADDRSORT", HOLES ",+10", "");
    expect(o, "ptr[4] = Alloc(10) returned 1000 (searched 2 elements)");
    free(o);
    o = sim("WORST", "ADDRSORT", HOLES ",+10", "");
    expect(o, "ptr[4] = Alloc(10) returned 1030 (searched 2 elements)");
    expect(o, "Free List [ Size 2 ]: [ addr:1000 sz:10 ][ addr:1040 sz:20 ]");
    free(o);
    /* NEXT: first fit from where the last search stopped. After +10,+10 the list is 1020/80;
     * freeing 0 puts 1000/10 at its front; the search resumes at index 0 (where it stopped). */
    o = sim("NEXT", "ADDRSORT", "+10,+10,-0,+5,+5", "");
    expect(o, "ptr[2] = Alloc(5) returned 1000");
    expect(o, "ptr[3] = Alloc(5) returned 1005");
    free(o);
}
END_TEST

START_TEST(orders_place_the_freed_chunk)
{
    char *o = sim("FIRST", "INSERT-FRONT", "+10,+20,-1,-0", "");
    expect(o, "Free List [ Size 3 ]: [ addr:1000 sz:10 ][ addr:1010 sz:20 ][ addr:1030 sz:70 ]");
    free(o);
    o = sim("FIRST", "INSERT-BACK", "+10,+20,-1,-0", "");
    expect(o, "Free List [ Size 3 ]: [ addr:1030 sz:70 ][ addr:1010 sz:20 ][ addr:1000 sz:10 ]");
    free(o);
    o = sim("FIRST", "SIZESORT+", "+10,+20,-1,-0", "");
    expect(o, "Free List [ Size 3 ]: [ addr:1000 sz:10 ][ addr:1010 sz:20 ][ addr:1030 sz:70 ]");
    free(o);
    o = sim("FIRST", "SIZESORT-", "+10,+20,-1,-0", "");
    expect(o, "Free List [ Size 3 ]: [ addr:1030 sz:70 ][ addr:1010 sz:20 ][ addr:1000 sz:10 ]");
    free(o);
}
END_TEST

START_TEST(coalesce_merges_list_neighbours)
{
    char *o = sim("FIRST", "ADDRSORT", "+10,+20,-1,-0", "-C");
    expect(o, "coalesce True");
    expect(o, "Free(ptr[0])\nreturned 0\nFree List [ Size 1 ]: [ addr:1000 sz:100 ]");
    free(o);
}
END_TEST

START_TEST(header_alignment_and_bad_frees)
{
    /* 5 rounds to 8, plus a 4-byte header: 12 bytes. -A prints the chunk address (no header). */
    char *o = sim("FIRST", "ADDRSORT", "+5,-0,-0,-7,+200", "-H 4 -a 8");
    expect(o, "ptr[0] = Alloc(5) returned 1000 (searched 1 elements)\nFree List [ Size 1 ]: [ addr:1012 sz:88 ]");
    expect(o, "Free(ptr[0])\nreturned -1\n"); /* the second free of the same pointer */
    expect(o, "Invalid Free: Skipping\n");    /* -7: no such allocation */
    expect(o, "ptr[1] = Alloc(200) returned -1 (searched 2 elements)");
    free(o);
}
END_TEST

START_TEST(min_split_hands_out_whole_chunk)
{
    char *o = sim("FIRST", "ADDRSORT", "+90", "--min-split 16");
    expect(o, "Free List [ Size 0 ]: \n"); /* 10 bytes would remain: below 16, not split */
    free(o);
}
END_TEST

START_TEST(bad_arguments)
{
    static const char *const cases[][3] = {
        {"-p", "LAST", "unknown policy 'LAST'"},
        {"-l", "X", "unknown list order 'X'"},
        {"-S", "1e3", "option -S needs an integer, not '1e3'"},
        {"-a", "-3", "alignment must be -1 (none) or positive"},
        {"-P", "0", "percentAlloc must be positive"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[] = {"sim", (char *)cases[i][0], (char *)cases[i][1], NULL};
        sim_config c;
        char err[256] = "";
        ck_assert_int_eq(sim_parse_args(3, argv, &c, err, sizeof err), -1);
        ck_assert_msg(strncmp(err, cases[i][2], strlen(cases[i][2])) == 0, "got %s", err);
    }
    char *argv[] = {"sim", "-A", "+1,*2", NULL};
    sim_config c;
    char err[256] = "";
    ck_assert_int_eq(sim_parse_args(3, argv, &c, err, sizeof err), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ck_assert_int_eq(sim_run(&c, f, err, sizeof err), -1);
    fclose(f);
    ck_assert_str_eq(err, "badly specified operand '*2': must be +Size or -Index");
    free(out);
}
END_TEST

/* Integer options are read as malloc.py's optparse reads them: hexadecimal, binary, octal (a
 * leading 0, or 0o), decimal with a sign; what Python's int() refuses in that base is refused. */
START_TEST(integer_options_like_optparse)
{
    static const struct { const char *opt, *val; long want; } ok[] = {
        {"-S", "0x40", 64}, {"-S", "0X1f", 31}, {"-b", "010", 8}, {"-b", "0o17", 15}, {"-H", "0b11", 3},
        {"-H", "0b", 0},    {"-H", "0", 0},     {"-s", "-5", -5}, {"-s", "+7", 7},    {"-n", "12", 12},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *argv[] = {"sim", (char *)ok[i].opt, (char *)ok[i].val, NULL};
        sim_config c;
        char err[256] = "";
        ck_assert_msg(sim_parse_args(3, argv, &c, err, sizeof err) == 0, "%s %s: %s", ok[i].opt, ok[i].val, err);
        long got = ok[i].opt[1] == 'S' ? c.size : ok[i].opt[1] == 'b' ? c.base : ok[i].opt[1] == 'H' ? c.header
                 : ok[i].opt[1] == 's' ? c.seed : c.numops;
        ck_assert_msg(got == ok[i].want, "%s %s read as %ld, not %ld", ok[i].opt, ok[i].val, got, ok[i].want);
    }
    static const char *const bad[] = {"08", "0x", "0xg", "-0x10", "0b2", "1e3", "", "12a", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"sim", "-S", (char *)bad[i], NULL};
        sim_config c;
        char err[256] = "";
        ck_assert_msg(sim_parse_args(3, argv, &c, err, sizeof err) == -1, "-S '%s' was accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "needs an integer"));
    }
}
END_TEST

/* Random mode draws like malloc.py (Python's MT19937; tests/lab/sim_golden.sh compares the
 * operations with Python's own generator). Here: a seed gives one run, in malloc.py's format. */
START_TEST(random_mode_is_deterministic)
{
    char *argv[] = {"sim", "-s", "3", "-n", "20", NULL};
    sim_config c;
    char err[256];
    ck_assert_int_eq(sim_parse_args(5, argv, &c, err, sizeof err), 0);
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    FILE *f = open_memstream(&a, &la);
    sim_run(&c, f, err, sizeof err);
    fclose(f);
    f = open_memstream(&b, &lb);
    sim_run(&c, f, err, sizeof err);
    fclose(f);
    ck_assert_str_eq(a, b);
    expect(a, "List? \n");
    free(a);
    free(b);
}
END_TEST

static Suite *lab_sim_suite(void)
{
    Suite *s = suite_create("lab_sim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, policies_pick_by_rule);
    tcase_add_test(tc, orders_place_the_freed_chunk);
    tcase_add_test(tc, coalesce_merges_list_neighbours);
    tcase_add_test(tc, header_alignment_and_bad_frees);
    tcase_add_test(tc, min_split_hands_out_whole_chunk);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, integer_options_like_optparse);
    tcase_add_test(tc, random_mode_is_deterministic);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(lab_sim_suite)
