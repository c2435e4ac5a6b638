/*
 * bench/segment_ab.c: versions of src/segment.c against each other in one process, for decisions
 * that a whole-machine noise of 10-30% between runs would hide. Built by bench/segment_ab.sh, which
 * compiles each version with its public names renamed to <name>_alloc and so on, and lists the
 * versions in SEGMENT_AB_VERSIONS(X) as X(name) X(name) ...
 *
 * Method: the trace of bench/segment_trace.h (the one segment_bench replays), the handles each
 * free passes recorded once in trace order (as segment_bench does; --table: from a table by run
 * id), then --reps rounds; each round replays the steady state once through every version and
 * through a harness that does nothing, each on a fresh allocator, in an order that rotates from
 * round to round, and reads this thread's CPU time around the steady ops. Printed per version:
 * the median ns/op, and the median over the rounds of (version - harness) of the same round with
 * its quartiles: versions measured seconds apart in one process share the machine's state, so
 * their difference is steadier than either figure. Every version's carve_segment_check must be 0
 * after every replay, and every version must hand out the same cells as the first.
 * Usage: segment_ab_run [--cells N] [--max N] [--ops N] [--reps N] [--table]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sched_setaffinity, sched_getcpu */
#endif
#include "carve/segment.h"
#include "segment_trace.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DECLARE(P)                                                                                \
    size_t P##_footprint(const carve_segment_config *);                                          \
    carve_segment *P##_init(void *, size_t, const carve_segment_config *);                       \
    uint32_t P##_alloc(carve_segment *, uint32_t);                                               \
    carve_status P##_free(carve_segment *, uint32_t, uint32_t);                                  \
    size_t P##_check(const carve_segment *);
SEGMENT_AB_VERSIONS(DECLARE)

static trace t;
static uint32_t *handles, *record;   /* by run id; by op */
static bool use_table;
static carve_segment_config cfg;
static void *meta;
static volatile uint32_t sink;

static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One replay. recording: through the table, writing every op's handle to record[]; otherwise
 * the handles come from record[] (or the table with --table), and each alloc is checked against
 * the record. */
#define REPLAY(P)                                                                                 \
    static double replay_##P(bool recording)                                                     \
    {                                                                                            \
        carve_segment *s = P##_init(meta, P##_footprint(&cfg), &cfg);                            \
        uint64_t start = 0;                                                                      \
        size_t wrong = 0;                                                                        \
        bool table = use_table || recording;                                                     \
        for (size_t k = 0; k < t.n; k++) {                                                       \
            const op *o = &t.ops[k];                                                             \
            if (k == t.warm) start = cpu_now_ns();                                               \
            if (o->is_free) {                                                                    \
                uint32_t h = table ? handles[o->id] : record[k];                                 \
                if (recording) record[k] = h;                                                    \
                if (h == CARVE_SEGMENT_NONE) continue;                                           \
                P##_free(s, h, o->size);                                                         \
            } else {                                                                             \
                uint32_t h = P##_alloc(s, o->size);                                              \
                if (table) handles[o->id] = h;                                                   \
                if (recording) record[k] = h;                                                    \
                else wrong += h != record[k];                                                    \
            }                                                                                    \
        }                                                                                        \
        double ns = (double)(cpu_now_ns() - start) / (double)(t.n - t.warm);                     \
        if (P##_check(s) != 0 || wrong != 0) {                                                   \
            fprintf(stderr, "segment_ab: %s: check %zu, %zu cells differ from the first version\n", #P, \
                    P##_check(s), wrong);                                                        \
            exit(1);                                                                             \
        }                                                                                        \
        return ns;                                                                               \
    }
SEGMENT_AB_VERSIONS(REPLAY)

static double replay_harness(bool recording)
{
    (void)recording;
    uint64_t start = 0;
    for (size_t k = 0; k < t.n; k++) {
        const op *o = &t.ops[k];
        if (k == t.warm) start = cpu_now_ns();
        if (o->is_free) {
            uint32_t h = use_table ? handles[o->id] : record[k];
            if (h == CARVE_SEGMENT_NONE) continue;
            sink = h + o->size;
        } else {   /* what the versions do around their alloc: store to the table, or compare */
            sink = o->size;
            if (use_table) handles[o->id] = record[k];
            else sink += record[k] != CARVE_SEGMENT_NONE;
        }
    }
    return (double)(cpu_now_ns() - start) / (double)(t.n - t.warm);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of v[0..n), v left unsorted. */
static double quantile(const double *v, size_t n, double q)
{
    double s[256];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    return s[(size_t)(q * (double)(n - 1) + 0.5)];
}

#define NAME(P) #P,
#define REPLAYER(P) replay_##P,

int main(int argc, char **argv)
{
    uint32_t cells = 1u << 20, max_run = 64;
    size_t steady = 1000000, reps = 15;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--table")) use_table = true;
        else if (i + 1 >= argc) break;
        else if (!strcmp(argv[i], "--cells")) cells = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--max")) max_run = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--ops")) steady = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--reps")) reps = strtoull(argv[++i], NULL, 0);
    }
    if (reps < 1 || reps > 256 || cells % 4096 != 0 || cells == 0 || max_run < 1 || max_run > 64) {
        fprintf(stderr, "usage: segment_ab_run [--cells N] [--max 1..64] [--ops N] [--reps 1..256] [--table]\n");
        return 2;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    int cpu = sched_getcpu();
    CPU_SET(cpu < 0 ? 0 : cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
    t = make_trace(cells, max_run, steady, 0x5E6, 1);   /* segment_bench's trace and seed */
    handles = malloc(t.runs * sizeof *handles);
    record = malloc(t.n * sizeof *record);
    cfg = (carve_segment_config){.index_begin = 0, .index_end = cells, .block_size = 4096, .max_size = max_run};
    meta = aligned_alloc(64, 64u << 20);   /* enough for any version up to 2^16 blocks */
    const char *names[] = {"harness", SEGMENT_AB_VERSIONS(NAME)};
    double (*replay[])(bool) = {replay_harness, SEGMENT_AB_VERSIONS(REPLAYER)};
    size_t nv = sizeof replay / sizeof replay[0];
    replay[1](true);                                     /* record the first version's cells */
    for (size_t v = 0; v < nv; v++) replay[v](false);    /* warm-up, and every version checked */
    static double ns[16][256];
    for (size_t r = 0; r < reps; r++)
        for (size_t j = 0; j < nv; j++) {
            size_t v = (j + r) % nv;
            ns[v][r] = replay[v](false);
        }
    printf("segment_ab: %u cells, runs 1..%u, %zu steady ops, %zu rounds, handles %s\n", cells, max_run,
           t.n - t.warm, reps, use_table ? "from a table by run id" : "recorded");
    printf("%-12s %8s | %s\n", "", "ns/op", "minus the harness of the same round: median [quartiles]");
    for (size_t v = 0; v < nv; v++) {
        double net[256];
        for (size_t r = 0; r < reps; r++) net[r] = ns[v][r] - ns[0][r];
        printf("%-12s %8.2f | %6.2f [%.2f .. %.2f]\n", names[v], quantile(ns[v], reps, 0.5), quantile(net, reps, 0.5),
               quantile(net, reps, 0.25), quantile(net, reps, 0.75));
    }
    return 0;
}
