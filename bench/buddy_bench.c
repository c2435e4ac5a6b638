/*
 * bench/buddy_bench.c: the buddy on the CS:APP malloc-lab traces, beside the published
 * buddy_alloc figure (0.852 mean utilisation, 136 ns/op; /work/shared/traces/README.md).
 *
 * Replay: `a` allocates, `f` frees, `r` goes through carve_buddy_realloc (in place when the
 * block shrinks or its following buddies are free, else alloc + copy + free).
 * Utilisation = peak live requested bytes / footprint, with two footprints:
 *   arena      the smallest `bytes` given to carve_buddy_init (control data included) that
 *              replays the trace without a failed alloc, found by binary search (the README's
 *              definition for the published figures);
 *   highwater  carve_buddy_high_water after a replay in a 256 MiB power-of-two region (one
 *              block at the start): control data plus the end of the highest block ever
 *              handed out.
 * Time: wall-clock ns per trace operation, the median of R replays in the smallest arena.
 *
 *   buddy_bench [--runs R] [--min-block B] TRACE...
 */
#include "carve/buddy.h"
#include "internal.h"
#include "measure.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct replay { void **ptr; } replay;

/* Replay t in [mem, mem + bytes). 0 when every alloc succeeded; -1 otherwise. */
static int run(const trace *t, replay *r, void *mem, size_t bytes, size_t min_block, size_t *high_water)
{
    carve_buddy *b = carve_buddy_init(mem, bytes, min_block);
    if (b == NULL) return -1;
    memset(r->ptr, 0, t->nids * sizeof *r->ptr);
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        void **slot = &r->ptr[op->id];
        if (op->kind == TRACE_FREE) {
            if (*slot != NULL) carve_buddy_free(b, *slot);
            *slot = NULL;
            continue;
        }
        if (op->kind == TRACE_REALLOC && *slot != NULL) {
            void *n = carve_buddy_realloc(b, *slot, op->size);
            if (n == NULL) return -1;
            *slot = n;
            continue;
        }
        *slot = carve_buddy_alloc(b, op->size);
        if (*slot == NULL) return -1;
    }
    if (high_water != NULL) *high_water = carve_buddy_high_water(b);
    return 0;
}

static size_t peak_live(const trace *t)
{
    size_t *sz = calloc(t->nids, sizeof *sz), live = 0, peak = 0;
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        live -= sz[op->id];
        sz[op->id] = op->kind == TRACE_FREE ? 0 : op->size;
        live += sz[op->id];
        if (live > peak) peak = live;
    }
    free(sz);
    return peak;
}

int main(int argc, char **argv)
{
    size_t runs = 9, min_block = 16;
    int first = 1;
    while (first + 1 < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--runs") == 0) runs = strtoull(argv[first + 1], NULL, 0);
        else if (strcmp(argv[first], "--min-block") == 0) min_block = strtoull(argv[first + 1], NULL, 0);
        first += 2;
    }
    if (runs > 64) runs = 64;
    size_t big = carve_buddy_region_bytes((size_t)256 << 20, min_block);
    unsigned char *mem = aligned_alloc(4096, carve_align_up(big, 4096));
    printf("buddy, min_block %zu: utilisation = peak live bytes / footprint; ns/op median of %zu replays\n", min_block, runs);
    printf("%-22s %9s %10s %7s %10s %7s %8s\n", "trace", "peak_live", "arena", "util", "highwater", "util_hw", "ns/op");
    double sum_u = 0, sum_hw = 0, sum_ns = 0, sum_ns_norealloc = 0;
    size_t ntr = 0, nnr = 0;
    for (int a = first; a < argc; a++) {
        trace t;
        char err[256];
        if (trace_load(argv[a], &t, err, sizeof err) != 0) {
            fprintf(stderr, "buddy_bench: %s\n", err);
            return 1;
        }
        replay r = {calloc(t.nids, sizeof(void *))};
        size_t peak = peak_live(&t), hw = 0;
        if (run(&t, &r, mem, big, min_block, &hw) != 0) {
            fprintf(stderr, "buddy_bench: %s does not fit in %zu bytes\n", argv[a], big);
            return 1;
        }
        size_t lo = peak, hi = big; /* run(lo) fails (or lo is the floor), run(hi) succeeds */
        while (hi - lo > 16) {
            size_t mid = lo + (hi - lo) / 2;
            if (run(&t, &r, mem, mid, min_block, NULL) == 0) hi = mid;
            else lo = mid;
        }
        double ns[64];
        for (size_t k = 0; k < runs; k++) {
            uint64_t t0 = measure_now_ns();
            run(&t, &r, mem, hi, min_block, NULL);
            ns[k] = (double)(measure_now_ns() - t0) / (double)t.nops;
        }
        double med = measure_median_double(ns, runs);
        double u = (double)peak / (double)hi, uh = (double)peak / (double)hw;
        const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
        printf("%-22s %9zu %10zu %7.3f %10zu %7.3f %8.1f\n", name, peak, hi, u, hw, uh, med);
        sum_u += u;
        sum_hw += uh;
        sum_ns += med;
        ntr++;
        if (strstr(name, "realloc") == NULL) {
            sum_ns_norealloc += med;
            nnr++;
        }
        free(r.ptr);
        trace_free(&t);
    }
    if (ntr > 0)
        printf("%-22s %9s %10s %7.3f %10s %7.3f %8.1f   (mean over %zu traces; %.1f ns/op without realloc traces)\n",
               "mean", "", "", sum_u / (double)ntr, "", sum_hw / (double)ntr, sum_ns / (double)ntr, ntr,
               nnr ? sum_ns_norealloc / (double)nnr : 0.0);
    printf("published buddy_alloc (64-byte blocks): 0.852 mean utilisation, 136 ns/op (all 11 traces)\n");
    free(mem);
    return 0;
}
