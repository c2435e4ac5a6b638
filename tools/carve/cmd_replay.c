/*
 * tools/carve/cmd_replay.c: carve replay [--alloc LIST] [--format table|csv|json] [--check] TRACE...
 *
 * Exit status: 0 when every replay ran clean; 1 when an allocator corrupted content, broke its
 * own invariants or crashed; 2 for a usage error or a trace that cannot be read.
 */
#include "lab.h"
#include "measure.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct progress {
    const char *trace, *alloc;
    bool drawn;
} progress;

static void draw_progress(void *ctx, size_t done, size_t total)
{
    progress *p = ctx;
    int width = 30, fill = total ? (int)((double)done / (double)total * width) : width;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %s %s", fill, "##############################", width - fill, "",
            total ? (int)(100.0 * (double)done / (double)total) : 100, p->alloc, p->trace);
    p->drawn = true;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: carve replay [--alloc LIST] [--format table|csv|json] [--check] [--timeout S] TRACE...\n"
                 "  --alloc LIST   comma-separated allocators, or all (default). This carve has:");
    for (size_t i = 0; lab_adapters[i] != NULL; i++) fprintf(out, " %s", lab_adapters[i]->name);
    fprintf(out, "\n  --format F     table (default), csv or json\n"
                 "  --check        run the allocator's invariant checker after every operation (slow)\n"
                 "  --timeout S    give up a (trace, allocator) pair whose measuring pass runs over S seconds\n"
                 "  --verbose      say how long each replay took, on stderr\n"
                 "  TRACE          a CS:APP .rep trace or a carve recording (.rep or .rep.gz)\n");
}

int lab_cmd_replay(int argc, char **argv)
{
    static const struct option longs[] = {
        {"alloc", required_argument, NULL, 'a'}, {"format", required_argument, NULL, 'f'},
        {"check", no_argument, NULL, 'c'},       {"help", no_argument, NULL, 'h'},
        {"timeout", required_argument, NULL, 't'}, {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    const lab_adapter *ads[64];
    int nads = -1;
    lab_format fmt = LAB_TABLE;
    lab_replay_opts opts = {0};
    bool verbose = false;
    char err[512];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:f:ch", longs, NULL)) != -1) {
        switch (c) {
        case 'a':
            nads = lab_parse_alloc_list(optarg, ads, 64, err, sizeof err);
            if (nads < 0) {
                fprintf(stderr, "carve replay: %s\n", err);
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0) fmt = LAB_TABLE;
            else if (strcmp(optarg, "csv") == 0) fmt = LAB_CSV;
            else if (strcmp(optarg, "json") == 0) fmt = LAB_JSON;
            else {
                fprintf(stderr, "carve replay: unknown format '%s' (table, csv or json)\n", optarg);
                return 2;
            }
            break;
        case 'c': opts.check_every_op = true; break;
        case 'v': verbose = true; break;
        case 't': {
            char *end;
            double sec = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(sec > 0)) {
                fprintf(stderr, "carve replay: --timeout needs a number of seconds, not '%s'\n", optarg);
                return 2;
            }
            opts.budget_ns = (uint64_t)(sec * 1e9);
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (nads < 0) nads = lab_parse_alloc_list("all", ads, 64, err, sizeof err);
    int ntraces = argc - optind;
    if (ntraces <= 0) {
        usage(stderr);
        return 2;
    }
    trace *traces = calloc((size_t)ntraces, sizeof *traces);
    lab_plan *plans = calloc((size_t)ntraces, sizeof *plans);
    lab_result *results = calloc((size_t)ntraces * (size_t)nads, sizeof *results);
    int status = 0;
    if (traces == NULL || plans == NULL || results == NULL) {
        fprintf(stderr, "carve replay: out of memory\n");
        status = 2;
        goto out;
    }
    for (int t = 0; t < ntraces; t++) {
        if (trace_load(argv[optind + t], &traces[t], err, sizeof err) != 0) {
            fprintf(stderr, "carve replay: %s\n", err);
            status = 2;
            goto out;
        }
        if (lab_plan_build(&traces[t], &plans[t], stderr, 10) != 0) {
            fprintf(stderr, "carve replay: %s: out of memory\n", traces[t].path);
            status = 2;
            goto out;
        }
    }
    size_t n = 0;
    bool tty = isatty(STDERR_FILENO);
    for (int t = 0; t < ntraces; t++) {
        for (int k = 0; k < nads; k++) {
            progress pr = {.trace = traces[t].path, .alloc = ads[k]->name};
            opts.progress = tty ? draw_progress : NULL;
            opts.progress_ctx = &pr;
            uint64_t t0 = measure_now_ns();
            int rc = lab_replay(&plans[t], ads[k], &opts, &results[n]);
            if (verbose)
                fprintf(stderr, "carve replay: %s through %s: %zu operations in %.3f s (both passes, content checks "
                                "included)\n", traces[t].path, ads[k]->name, results[n].ops,
                        (double)(measure_now_ns() - t0) / 1e9);
            /* the bar may have been drawn by a forked child (libc, malloc): pr.drawn is not
             * enough to know; a replay under a second drew none */
            bool drawn = pr.drawn || (tty && measure_now_ns() - t0 >= 1000000000u);
            if (drawn) fprintf(stderr, "\r%*s\r", 110, "");
            if (rc != 0) {
                status = 1;
                fprintf(stderr, "carve replay: %s\n", results[n].message);
            }
            n++;
        }
    }
    lab_print_results(stdout, fmt, results, n);
out:
    for (int t = 0; t < ntraces && traces != NULL; t++) {
        if (plans != NULL) lab_plan_free(&plans[t]);
        trace_free(&traces[t]);
    }
    free(traces);
    free(plans);
    free(results);
    return status;
}
