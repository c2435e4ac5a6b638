/*
 * tools/carve/cmd_map.c: carve map --alloc NAME [-o FILE.svg] [--at OP] [--rows N] TRACE
 * Writes FILE.svg and FILE.html (the page that embeds it). Default FILE: TRACE-NAME in the
 * current directory.
 */
#include "map.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: carve map --alloc NAME [-o FILE.svg] [--at OP] [--rows N] TRACE\n"
                 "  draws the heap of allocator NAME replaying TRACE: FILE.svg and FILE.html\n"
                 "  --at OP    the side view shows the layout after operation OP (0-based) instead of at the peak\n"
                 "  --rows N   sampled rows of the time view (default 120)\n"
                 "  allocators with a walk:");
    for (size_t i = 0; lab_adapters[i] != NULL; i++)
        if (lab_adapters[i]->walk != NULL) fprintf(out, " %s", lab_adapters[i]->name);
    fputc('\n', out);
}

static int parse_count(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0) return -1;
    *out = v;
    return 0;
}

int lab_cmd_map(int argc, char **argv)
{
    static const struct option longs[] = {
        {"alloc", required_argument, NULL, 'a'}, {"output", required_argument, NULL, 'o'},
        {"at", required_argument, NULL, 't'},    {"rows", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *out_path = NULL;
    lab_map_opts opts = {.at = -1};
    long rows = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:o:h", longs, NULL)) != -1) {
        switch (c) {
        case 'a': name = optarg; break;
        case 'o': out_path = optarg; break;
        case 't':
            if (parse_count(optarg, &opts.at) != 0) {
                fprintf(stderr, "carve map: --at needs an operation number, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'r':
            if (parse_count(optarg, &rows) != 0 || rows < 1 || rows > 2000) {
                fprintf(stderr, "carve map: --rows needs a number from 1 to 2000\n");
                return 2;
            }
            opts.rows = (int)rows;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (name == NULL || optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const lab_adapter *ad = lab_find_adapter(name);
    if (ad == NULL) {
        fprintf(stderr, "carve map: unknown allocator '%s'\n", name);
        usage(stderr);
        return 2;
    }
    char err[512], def[4096], html_path[4096];
    trace t;
    if (trace_load(argv[optind], &t, err, sizeof err) != 0) {
        fprintf(stderr, "carve map: %s\n", err);
        return 2;
    }
    if (out_path == NULL) {
        const char *base = strrchr(t.path, '/') ? strrchr(t.path, '/') + 1 : t.path;
        size_t len = strcspn(base, ".");
        snprintf(def, sizeof def, "%.*s-%s.svg", (int)len, base, name);
        out_path = def;
    }
    size_t n = strlen(out_path);
    snprintf(html_path, sizeof html_path, "%.*s.html", (int)(n > 4 && strcmp(out_path + n - 4, ".svg") == 0 ? n - 4 : n), out_path);
    lab_plan plan;
    int status = 2;
    if (lab_plan_build(&t, &plan, stderr, 10) != 0) {
        fprintf(stderr, "carve map: out of memory\n");
        trace_free(&t);
        return 2;
    }
    FILE *svg = fopen(out_path, "w");
    lab_map_info info;
    if (svg == NULL) {
        perror(out_path);
    } else if (lab_map_write(&plan, ad, &opts, svg, &info, err, sizeof err) != 0) {
        fclose(svg);
        remove(out_path);
        fprintf(stderr, "carve map: %s\n", err);
    } else if (fclose(svg) != 0) {
        perror(out_path);
    } else {
        FILE *html = fopen(html_path, "w");
        char title[512];
        snprintf(title, sizeof title, "carve map: %s on %s", name, t.path);
        if (html == NULL || lab_map_write_html(html, out_path, title, &info) != 0 || fclose(html) != 0) {
            perror(html_path);
        } else {
            fprintf(stderr, "carve map: wrote %s and %s (%zu rows; side view after op %zu: %zu blocks)\n", out_path,
                    html_path, info.rows, info.side_op, info.side_blocks);
            status = 0;
        }
    }
    lab_plan_free(&plan);
    trace_free(&t);
    return status;
}
