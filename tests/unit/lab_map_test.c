/* tests/unit/lab_map_test.c: the heap map is well-formed XML (xmllint, a real parser: the test
 * fails when it is missing; scripts/deps.sh test installs it) and draws the blocks the
 * allocator's walk reports. */
#include "carve_test.h"
#include "lab_toy.h"
#include "map.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) n++;
    return n;
}

/* The worked example of lab_replay_test.c: the footprint peaks at op 4 (752 bytes), when the
 * bump arena holds four blocks: 128 free, 224 free (the realloc's old block), 80 used, 320 used. */
static const char *worked = "752\n3\n7\n1\na 0 100\na 1 200\nf 0\na 2 50\nr 1 300\nf 1\nf 2\n";

static char *draw(const char *text, long at, lab_map_info *info, char *path, size_t pathlen)
{
    trace t;
    lab_plan p;
    char err[256];
    ck_assert_int_eq(trace_parse("worked.rep", text, &t, err, sizeof err), 0);
    ck_assert_int_eq(lab_plan_build(&t, &p, NULL, 0), 0);
    snprintf(path, pathlen, "/tmp/carve_map_test_%ld.svg", (long)getpid());
    FILE *f = fopen(path, "w+");
    ck_assert_ptr_nonnull(f);
    bump_broken = 0;
    lab_map_opts opts = {.at = at};
    ck_assert_msg(lab_map_write(&p, &bump_adapter, &opts, f, info, err, sizeof err) == 0, "%s", err);
    long len = ftell(f);
    char *svg = calloc(1, (size_t)len + 1);
    rewind(f);
    ck_assert_uint_eq(fread(svg, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    lab_plan_free(&p);
    trace_free(&t);
    return svg;
}

static void xml_valid(const char *path)
{
    ck_assert_msg(system("command -v xmllint >/dev/null 2>&1") == 0,
                  "xmllint is missing: the SVG cannot be checked (scripts/deps.sh test installs libxml2-utils)");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    ck_assert_msg(system(cmd) == 0, "xmllint rejects %s", path);
}

START_TEST(map_at_peak)
{
    lab_map_info info;
    char path[256];
    char *svg = draw(worked, -1, &info, path, sizeof path);
    xml_valid(path);
    ck_assert_uint_eq(info.peak_op, 4);
    ck_assert_uint_eq(info.peak_footprint, 752);
    ck_assert_uint_eq(info.side_blocks, 4);
    const char *layout = strstr(svg, "<g id=\"layout\">");
    ck_assert_ptr_nonnull(layout);
    ck_assert_uint_eq(count(layout, "<g class=\"blk\">"), 4);
    ck_assert_uint_eq(count(layout, "<title>free: "), 2);
    ck_assert_ptr_nonnull(strstr(layout, "allocation slot 1: 304 usable bytes, block of 320 at +432"));
    ck_assert_ptr_nonnull(strstr(svg, "peak footprint 752 B after op 4"));
    ck_assert_uint_eq(info.rows, 7); /* 7 operations, one row each */
    char *timeline = strstr(svg, "<g id=\"timeline\">"), *end = strstr(timeline, "</g>");
    *end = '\0';
    /* A rectangle that stays the same from row to row is drawn once, as a run. The hatched
     * background (what the allocator holds) changes with the footprint: 128, 352, 352, 432,
     * 752, 752, 752 after ops 0..6, so 4 runs. The free blocks: block 0 from op 2 on, the old
     * block of id 1 from op 4, the new one from op 5, block 2 at op 6: 4 runs. */
    ck_assert_uint_eq(count(timeline, "<rect class=\"ctl\""), 4);
    ck_assert_uint_eq(count(timeline, "<rect class=\"free\""), 4);
    free(svg);
    FILE *html = fopen("/tmp/carve_map_test.html", "w");
    ck_assert_int_eq(lab_map_write_html(html, path, "t", &info), 0);
    fclose(html);
    unlink("/tmp/carve_map_test.html");
    unlink(path);
}
END_TEST

START_TEST(map_at_op)
{
    lab_map_info info;
    char path[256];
    char *svg = draw(worked, 1, &info, path, sizeof path);
    xml_valid(path);
    ck_assert_uint_eq(info.side_op, 1);
    ck_assert_uint_eq(info.side_blocks, 2); /* after a 0 and a 1: two used blocks */
    ck_assert_ptr_nonnull(strstr(svg, "Layout after op 1"));
    ck_assert_uint_eq(count(strstr(svg, "<g id=\"layout\">"), "<title>allocation slot"), 2);
    free(svg);
    unlink(path);
}
END_TEST

START_TEST(map_refuses)
{
    trace t;
    lab_plan p;
    char err[256];
    ck_assert_int_eq(trace_parse("w.rep", worked, &t, err, sizeof err), 0);
    ck_assert_int_eq(lab_plan_build(&t, &p, NULL, 0), 0);
    lab_map_info info;
    lab_map_opts opts = {.at = 7};
    FILE *f = fopen("/dev/null", "w");
    ck_assert_int_eq(lab_map_write(&p, &bump_adapter, &opts, f, &info, err, sizeof err), -1);
    ck_assert_str_eq(err, "--at 7: the trace has operations 0 to 6");
    opts.at = -1;
    ck_assert_int_eq(lab_map_write(&p, lab_find_adapter("libc"), &opts, f, &info, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "libc has no walk"));
    fclose(f);
    lab_plan_free(&p);
    trace_free(&t);
}
END_TEST

/* The HTML page's legend shows the colours the SVG uses: free, a run of tiny blocks, the hatch. */
static void svg_colour(const char *svg, const char *rule, char *out, size_t len)
{
    const char *p = strstr(svg, rule);
    ck_assert_msg(p != NULL, "no %s in the SVG", rule);
    p += strlen(rule);
    size_t n = strcspn(p, "}\"");
    ck_assert_uint_lt(n, len);
    memcpy(out, p, n);
    out[n] = '\0';
}

START_TEST(legend_matches_svg)
{
    lab_map_info info;
    char path[256];
    char *svg = draw(worked, -1, &info, path, sizeof path);
    unlink(path);
    char *html = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&html, &len);
    ck_assert_int_eq(lab_map_write_html(f, "x.svg", "x", &info), 0);
    fclose(f);
    static const struct { const char *rule, *legend; } pairs[] = {
        {".free{fill:", "\"></span>free"},
        {".c36{fill:", "\"></span>many blocks under a pixel"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char colour[32], want[96];
        svg_colour(svg, pairs[i].rule, colour, sizeof colour);
        snprintf(want, sizeof want, "background:%s%s", colour, pairs[i].legend);
        ck_assert_msg(strstr(html, want) != NULL, "the legend lacks %s", want);
    }
    char ink[32], paper[32], want[128];
    svg_colour(svg, "stroke=\"", ink, sizeof ink);
    svg_colour(svg, "<rect width=\"4\" height=\"4\" fill=\"", paper, sizeof paper);
    snprintf(want, sizeof want, "gradient(135deg,%s 0 1px,%s 1px 4px)", ink, paper);
    ck_assert_msg(strstr(html, want) != NULL, "the legend's hatch is not the SVG's: %s", want);
    free(html);
    free(svg);
}
END_TEST

static Suite *lab_map_suite(void)
{
    Suite *s = suite_create("lab_map");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, map_at_peak);
    tcase_add_test(tc, map_at_op);
    tcase_add_test(tc, map_refuses);
    tcase_add_test(tc, legend_matches_svg);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(lab_map_suite)
