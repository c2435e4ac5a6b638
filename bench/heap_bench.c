/*
 * bench/heap_bench.c: the region heap on the CS:APP malloc-lab traces, next to glibc malloc.
 *
 * For each trace and each heap configuration:
 * - utilisation = peak live requested payload / peak footprint, where the footprint is the
 *   high-water mark of the memory the heap took: its initial region (as small as the heap
 *   accepts, control data included) plus every byte the grow callback handed out. The callback
 *   hands out the next bytes of one reserved buffer, exactly as many as asked (rounded to 16),
 *   like sbrk, so the footprint is tight.
 * - ns per trace operation: the median of --runs replays, each on a fresh heap initialised
 *   over one fixed 64 MiB arena (pre-faulted at start), with no grow callback. That is how the
 *   reference figures in ../shared/traces/README.md time TLSF 3.1 (a fixed arena), and it
 *   keeps the bench's own sbrk stand-in out of the time: growing by exact amounts makes one
 *   allocation in five call the callback, which no real program's sbrk does. The TLSF time in
 *   that growth mode is printed too (tlsf-grow), for comparison with earlier figures.
 * - glibc replays the same operations in the same process (time: same loop, the final frees of
 *   the blocks still live are outside the timed part); its utilisation comes from a separate
 *   untimed replay in a forked child: peak of mallinfo2 arena + hblkhd (bytes from sbrk and
 *   mmap) after each alloc/realloc, minus the value before the replay (approximate: free
 *   chunks the child inherited may be reused, which favours glibc).
 * Latency (latency_report): pinned to one CPU, 7 repetitions of every trace through TLSF (fresh
 * heap on the fixed arena) and glibc, timing each alloc and free alone with rdtsc (minus the
 * median cost of an empty timer pair, converted with a TSC rate calibrated against
 * CLOCK_MONOTONIC), and again timing runs of 16 consecutive allocs/frees with one pair (free of
 * the timer's granularity). Two regimes: warm (each trace is replayed twice untimed right
 * before each timed replay, on the same memory, as the ns/op medians are) and cold (each
 * repetition replays every trace once, TLSF then glibc, so a trace's memory was last touched a
 * whole repetition earlier). Printed: the median over repetitions of each repetition's p50,
 * p99, p99.9 (all traces pooled) and runs-of-16 p99.9 per op, with the lowest and highest.
 *
 * Usage: heap_bench [--runs N] [--sweep] [--only NAME [--grow] [--time]] TRACE...
 *   --sweep  also try every policy x order x alignment (8, 16) x variant (plain, no_coalesce,
 *            split_high_below 64 or 256, each with grow_min 0 or 4096) for utilisation and print
 *            the best configuration per trace.
 *   --only   replay only that standard configuration (first ... tlsf) once per trace in the
 *            fixed arena (with --grow: growing from the smallest heap), nothing else: for
 *            instruction counts, e.g.
 *            valgrind --tool=callgrind --toggle-collect=replay_heap heap_bench --only tlsf ...
 *            With --time: the --runs replays per trace of the table instead, and the mean of the
 *            per-trace medians (for quick comparisons of builds, alternated in one script).
 */
#include "carve/heap.h"
#include "measure.h"
#include "trace.h"

#include <malloc.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

typedef struct config {
    const char *name;
    carve_heap_config cfg;
} config;

static const config standard[] = {
    {"first", {.fit = CARVE_FIT_FIRST, .order = CARVE_ORDER_ADDRESS}},
    {"next", {.fit = CARVE_FIT_NEXT, .order = CARVE_ORDER_ADDRESS}},
    {"best", {.fit = CARVE_FIT_BEST, .order = CARVE_ORDER_ADDRESS}},
    {"worst", {.fit = CARVE_FIT_WORST, .order = CARVE_ORDER_ADDRESS}},
    {"segregated", {.fit = CARVE_FIT_SEGREGATED}},
    {"tlsf", {.fit = CARVE_FIT_TLSF}},
    {"first-hi", {.fit = CARVE_FIT_FIRST, .order = CARVE_ORDER_ADDRESS, .align = 8, .split_high_below = 256,
                  .grow_min = 4096}},
    {"tlsf-hi", {.fit = CARVE_FIT_TLSF, .align = 8, .split_high_below = 256, .grow_min = 4096}},
};
#define NSTD (sizeof standard / sizeof standard[0])

static const config *standard_named(const char *name)
{
    for (size_t i = 0; i < NSTD; i++)
        if (strcmp(standard[i].name, name) == 0) return &standard[i];
    return NULL;
}

/* ---- the sbrk-like arena ------------------------------------------------------------------ */

typedef struct arena {
    unsigned char *base, *brk, *end;
} arena;

static void *arena_grow(void *ctx, size_t min_bytes, size_t *got)
{
    arena *a = ctx;
    size_t bytes = (min_bytes + 15) & ~(size_t)15;
    if ((size_t)(a->end - a->brk) < bytes) return NULL;
    void *p = a->brk;
    a->brk += bytes;
    *got = bytes;
    return p;
}

/* A heap on a fresh arena whose initial region is as small as the heap accepts. */
static carve_heap *arena_heap(arena *a, const carve_heap_config *cfg)
{
    carve_heap_config c = *cfg;
    c.grow = arena_grow;
    c.grow_ctx = a;
    for (size_t bytes = 256;; bytes += 64) {
        carve_heap *h = carve_heap_init(a->base, bytes, &c);
        if (h != NULL) {
            a->brk = a->base + bytes;
            return h;
        }
    }
}

/* The fixed arena for timing: 64 MiB, 2 MiB-aligned, pre-faulted once. */
#define FIXED_BYTES ((size_t)64 << 20)
static unsigned char *fixed_arena;

static bool fixed_arena_init(void)
{
    size_t align = (size_t)2 << 20;
    unsigned char *m = mmap(NULL, FIXED_BYTES + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    fixed_arena = (unsigned char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
    memset(fixed_arena, 0, FIXED_BYTES);
    return true;
}

/* A heap over the whole fixed arena, without a grow callback. */
static carve_heap *fixed_heap(const carve_heap_config *cfg)
{
    carve_heap_config c = *cfg;
    c.grow = NULL;
    c.grow_ctx = NULL;
    return carve_heap_init(fixed_arena, FIXED_BYTES, &c);
}

/* ---- replays ------------------------------------------------------------------------------ */

typedef struct result {
    double util;
    double ns_per_op;
    int failed;
} result;

/* A replay's time in ns per operation; -1 when an allocation failed or the check does not pass. */
typedef struct timing {
    double ns;
    int failed;
} timing;

static size_t peak_payload(const trace *t, size_t *live)
{
    size_t cur = 0, peak = 0;
    memset(live, 0, t->nids * sizeof *live);
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        if (op->kind == TRACE_FREE) {
            cur -= live[op->id];
            live[op->id] = 0;
        } else {
            cur = cur - live[op->id] + op->size;
            live[op->id] = op->size;
        }
        if (cur > peak) peak = cur;
    }
    return peak;
}

/* One replay through the heap; returns 0, or -1 when an allocation failed. */
__attribute__((noinline)) static int replay_heap(carve_heap *h, const trace *t, void **ptr)
{
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        switch (op->kind) {
        case TRACE_ALLOC:
            if ((ptr[op->id] = carve_heap_alloc(h, op->size)) == NULL) return -1;
            break;
        case TRACE_REALLOC: {
            void *q = carve_heap_realloc(h, ptr[op->id], op->size);
            if (q == NULL) return -1;
            ptr[op->id] = q;
            break;
        }
        default:
            carve_heap_free(h, ptr[op->id]);
            ptr[op->id] = NULL;
        }
    }
    return 0;
}

__attribute__((noinline)) static void replay_libc(const trace *t, void **ptr)
{
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        switch (op->kind) {
        case TRACE_ALLOC: ptr[op->id] = malloc(op->size); break;
        case TRACE_REALLOC: ptr[op->id] = realloc(ptr[op->id], op->size); break;
        default: free(ptr[op->id]); ptr[op->id] = NULL;
        }
    }
}

static void free_all_libc(const trace *t, void **ptr)
{
    for (size_t i = 0; i < t->nids; i++) free(ptr[i]), ptr[i] = NULL;
}

/* Utilisation through the growing heap: one replay from the smallest heap. */
static result util_heap(const config *c, const trace *t, arena *a, void **ptr, size_t peak)
{
    result r = {0};
    carve_heap *h = arena_heap(a, &c->cfg);
    memset(ptr, 0, t->nids * sizeof *ptr);
    if (replay_heap(h, t, ptr) != 0 || carve_heap_check(h) != 0) r.failed = 1;
    r.util = (double)peak / (double)(a->brk - a->base);
    return r;
}

/* ns per operation: the median of runs replays, each on a fresh heap, in the fixed arena or
 * (grow) growing from the smallest heap. */
static timing time_heap(const config *c, const trace *t, arena *a, void **ptr, int runs, bool grow)
{
    timing r = {0, 0};
    double ns[64];
    for (int run = 0; run < runs; run++) {
        carve_heap *h = grow ? arena_heap(a, &c->cfg) : fixed_heap(&c->cfg);
        memset(ptr, 0, t->nids * sizeof *ptr);
        uint64_t t0 = measure_now_ns();
        int st = replay_heap(h, t, ptr);
        ns[run] = (double)(measure_now_ns() - t0) / (double)t->nops;
        if (st != 0 || carve_heap_check(h) != 0) r.failed = 1;
    }
    r.ns = measure_median_double(ns, (size_t)runs);
    return r;
}

static result run_heap(const config *c, const trace *t, arena *a, void **ptr, size_t peak, int runs)
{
    result r = util_heap(c, t, a, ptr, peak);
    timing tm = time_heap(c, t, a, ptr, runs, false);
    r.ns_per_op = tm.ns;
    r.failed |= tm.failed;
    return r;
}

static double run_libc(const trace *t, void **ptr, int runs)
{
    double ns[64];
    for (int run = 0; run < runs; run++) {
        memset(ptr, 0, t->nids * sizeof *ptr);
        uint64_t t0 = measure_now_ns();
        replay_libc(t, ptr);
        ns[run] = (double)(measure_now_ns() - t0) / (double)t->nops;
        free_all_libc(t, ptr);
    }
    return measure_median_double(ns, (size_t)runs);
}

/* glibc's utilisation, measured in a fresh process (heap_bench --libc-util, started by
 * util_libc) whose heap holds nothing else: the trace's operations come in through a memfd and
 * the pointer table is mmapped, so every byte glibc takes is for the replay. The footprint is
 * the peak of mallinfo2's arena + hblkhd (bytes from sbrk and from mmap) after each alloc and
 * realloc, minus their value before the replay (a few KiB of stdio and startup). */
static int libc_util_child(int ops_fd, size_t nops, size_t nids, size_t peak, int out_fd)
{
    const trace_op *ops = mmap(NULL, nops * sizeof *ops, PROT_READ, MAP_PRIVATE, ops_fd, 0);
    void **ptr = mmap(NULL, nids * sizeof *ptr, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ops == MAP_FAILED || ptr == MAP_FAILED) return 1;
    struct mallinfo2 m = mallinfo2();
    size_t base = m.arena + m.hblkhd, top = base;
    for (size_t i = 0; i < nops; i++) {
        const trace_op *op = &ops[i];
        switch (op->kind) {
        case TRACE_ALLOC: ptr[op->id] = malloc(op->size); break;
        case TRACE_REALLOC: ptr[op->id] = realloc(ptr[op->id], op->size); break;
        default: free(ptr[op->id]), ptr[op->id] = NULL; continue;
        }
        m = mallinfo2();
        if (m.arena + m.hblkhd > top) top = m.arena + m.hblkhd;
    }
    double u = top > base ? (double)peak / (double)(top - base) : 0;
    return write(out_fd, &u, sizeof u) == (ssize_t)sizeof u ? 0 : 1;
}

/* Run libc_util_child for t; 0 if it cannot be measured. */
static double util_libc(const trace *t, size_t peak)
{
    int ops_fd = memfd_create("heap_bench_ops", 0), pfd[2];
    size_t bytes = t->nops * sizeof *t->ops;
    if (ops_fd < 0) return 0;
    if (write(ops_fd, t->ops, bytes) != (ssize_t)bytes || pipe(pfd) != 0) {
        close(ops_fd);
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char a[4][32];
        snprintf(a[0], sizeof a[0], "%d", ops_fd);
        snprintf(a[1], sizeof a[1], "%zu", t->nops);
        snprintf(a[2], sizeof a[2], "%zu", (size_t)t->nids);
        snprintf(a[3], sizeof a[3], "%zu %d", peak, pfd[1]);
        execl("/proc/self/exe", "heap_bench", "--libc-util", a[0], a[1], a[2], a[3], (char *)NULL);
        _exit(1);
    }
    close(pfd[1]);
    double u = 0;
    if (pid < 0 || read(pfd[0], &u, sizeof u) != (ssize_t)sizeof u) u = 0;
    close(pfd[0]);
    close(ops_fd);
    if (pid > 0) waitpid(pid, NULL, 0);
    return u;
}

/* ---- single-operation latency of TLSF --------------------------------------------------------- */

static inline uint64_t ticks(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

static double tsc_per_ns(void)
{
    uint64_t n0 = measure_now_ns(), c0 = ticks();
    while (measure_now_ns() - n0 < 50000000u) {}
    return (double)(ticks() - c0) / (double)(measure_now_ns() - n0);
}

/* An allocator for the latency replay: fresh() gives its context for one trace (a new TLSF heap
 * on the fixed arena, or nothing for glibc). */
typedef struct latency_ops {
    const char *name;
    void *(*fresh)(arena *a);
    void *(*alloc)(void *ctx, size_t n);
    void (*release)(void *ctx, void *p);
    void *(*resize)(void *ctx, void *p, size_t n);
} latency_ops;

static void *heap_fresh(arena *a)
{
    static const carve_heap_config tlsf = {.fit = CARVE_FIT_TLSF}; /* the standard "tlsf" */
    (void)a;
    return fixed_heap(&tlsf);
}
static void *libc_fresh(arena *a) { (void)a; return NULL; }
static void *heap_alloc_op(void *ctx, size_t n) { return carve_heap_alloc(ctx, n); }
static void heap_free_op(void *ctx, void *p) { carve_heap_free(ctx, p); }
static void *heap_realloc_op(void *ctx, void *p, size_t n) { return carve_heap_realloc(ctx, p, n); }
static void *libc_alloc_op(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void libc_free_op(void *ctx, void *p) { (void)ctx; free(p); }
static void *libc_realloc_op(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }

#define BATCH 16

/* One replay of t, untimed, freeing what is left: it warms the trace's memory. */
static void warm_replay(const trace *t, const latency_ops *o, arena *a, void **ptr)
{
    void *ctx = o->fresh(a);
    memset(ptr, 0, t->nids * sizeof *ptr);
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        if (op->kind == TRACE_REALLOC) ptr[op->id] = o->resize(ctx, ptr[op->id], op->size);
        else if (op->kind == TRACE_ALLOC) ptr[op->id] = o->alloc(ctx, op->size);
        else o->release(ctx, ptr[op->id]), ptr[op->id] = NULL;
    }
    for (size_t i = 0; i < t->nids; i++) o->release(ctx, ptr[i]), ptr[i] = NULL;
}

/* One replay of t. per_op: time every alloc and free alone (reallocs run untimed) and append
 * the tick counts to out; else time runs of BATCH consecutive allocs/frees with one timer pair
 * (a realloc ends a run early, and that partial run is not recorded). Frees what is left. */
static void latency_replay(const trace *t, const latency_ops *o, arena *a, void **ptr, bool per_op, uint64_t *out,
                           size_t *nout)
{
    void *ctx = o->fresh(a);
    memset(ptr, 0, t->nids * sizeof *ptr);
    unsigned run = 0;
    uint64_t r0 = 0;
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        if (op->kind == TRACE_REALLOC) {
            ptr[op->id] = o->resize(ctx, ptr[op->id], op->size);
            run = 0;
            continue;
        }
        uint64_t t0 = 0;
        if (per_op) t0 = ticks();
        else if (run == 0) r0 = ticks();
        if (op->kind == TRACE_ALLOC) {
            ptr[op->id] = o->alloc(ctx, op->size);
        } else {
            o->release(ctx, ptr[op->id]);
            ptr[op->id] = NULL;
        }
        if (per_op) {
            out[(*nout)++] = ticks() - t0;
        } else if (++run == BATCH) {
            out[(*nout)++] = ticks() - r0;
            run = 0;
        }
    }
    for (size_t i = 0; i < t->nids; i++) o->release(ctx, ptr[i]), ptr[i] = NULL;
}

typedef struct latency_rep {
    double p50, p99, p999, batch_p999; /* ns */
} latency_rep;

/* q-quantile of v (sorted in place) minus the timer cost, in ns; per = operations per sample. */
static double ns_quantile(uint64_t *v, size_t n, double q, uint64_t overhead, double per, double rate)
{
    uint64_t x = measure_quantile_u64(v, n, q);
    return (double)(x > overhead ? x - overhead : 0) / per / rate;
}

#define WARM_REPLAYS 2

/* One repetition: every standard trace replayed per-op timed, then batch timed (warm: each
 * timed replay right after WARM_REPLAYS untimed ones of the same trace); the quantiles of all
 * samples of the repetition pooled. */
static latency_rep latency_rep_run(trace *ts, size_t nt, const latency_ops *o, arena *a, void **ptr, uint64_t *buf,
                                   uint64_t overhead, double rate, bool warm)
{
    latency_rep r;
    size_t n = 0;
    for (size_t i = 0; i < nt; i++) {
        for (int w = 0; warm && w < WARM_REPLAYS; w++) warm_replay(&ts[i], o, a, ptr);
        latency_replay(&ts[i], o, a, ptr, true, buf, &n);
    }
    r.p50 = ns_quantile(buf, n, 0.5, overhead, 1, rate);
    r.p99 = ns_quantile(buf, n, 0.99, overhead, 1, rate);
    r.p999 = ns_quantile(buf, n, 0.999, overhead, 1, rate);
    n = 0;
    for (size_t i = 0; i < nt; i++) {
        for (int w = 0; warm && w < WARM_REPLAYS; w++) warm_replay(&ts[i], o, a, ptr);
        latency_replay(&ts[i], o, a, ptr, false, buf, &n);
    }
    r.batch_p999 = ns_quantile(buf, n, 0.999, overhead, BATCH, rate);
    return r;
}

#define LAT_REPS 7

static double median_of(double *v, size_t n, double *lo, double *hi)
{
    double m = measure_median_double(v, n); /* sorts v */
    *lo = v[0];
    *hi = v[n - 1];
    return m;
}

/* The latency section: pin to the current CPU; in each regime (warm, cold) a warm-up pass, then
 * LAT_REPS repetitions alternating the two allocators; print the median over repetitions of
 * each per-repetition quantile. */
static void latency_report(trace *ts, size_t nt, arena *a)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpu = sched_getcpu();
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    bool pinned = sched_setaffinity(0, sizeof set, &set) == 0;
    size_t maxops = 0, maxids = 0;
    for (size_t i = 0; i < nt; i++) maxops += ts[i].nops, maxids = ts[i].nids > maxids ? ts[i].nids : maxids;
    uint64_t *buf = malloc(maxops * sizeof *buf);
    void **ptr = calloc(maxids, sizeof *ptr);
    uint64_t empty[4096];
    for (size_t i = 0; i < 4096; i++) {
        uint64_t t0 = ticks();
        empty[i] = ticks() - t0;
    }
    uint64_t overhead = measure_quantile_u64(empty, 4096, 0.5);
    double rate = tsc_per_ns();
    static const latency_ops ops[2] = {
        {"tlsf", heap_fresh, heap_alloc_op, heap_free_op, heap_realloc_op},
        {"glibc", libc_fresh, libc_alloc_op, libc_free_op, libc_realloc_op},
    };
    printf("single-operation latency (alloc and free; %s, timer cost %llu ticks removed, %.3f ticks/ns):\n"
           "  median over %d repetitions of each repetition's quantile [lowest..highest repetition]\n",
           pinned ? "pinned to one CPU" : "NOT pinned", (unsigned long long)overhead, rate, LAT_REPS);
    for (int regime = 0; regime < 2; regime++) {
        bool warm = regime == 0;
        latency_rep reps[2][LAT_REPS];
        for (int k = 0; k < 2; k++) (void)latency_rep_run(ts, nt, &ops[k], a, ptr, buf, overhead, rate, warm);
        for (int rep = 0; rep < LAT_REPS; rep++)
            for (int k = 0; k < 2; k++) reps[k][rep] = latency_rep_run(ts, nt, &ops[k], a, ptr, buf, overhead, rate, warm);
        printf("  %s\n", warm ? "warm (each timed replay right after two untimed replays of the same trace):"
                              : "cold (each trace replayed once per repetition, after all the others):");
        for (int k = 0; k < 2; k++) {
            double v[4][LAT_REPS], lo[4], hi[4], m[4];
            for (int rep = 0; rep < LAT_REPS; rep++) {
                v[0][rep] = reps[k][rep].p50;
                v[1][rep] = reps[k][rep].p99;
                v[2][rep] = reps[k][rep].p999;
                v[3][rep] = reps[k][rep].batch_p999;
            }
            for (int q = 0; q < 4; q++) m[q] = median_of(v[q], LAT_REPS, &lo[q], &hi[q]);
            printf("    %-5s p50 %.0f ns [%.0f..%.0f], p99 %.0f ns [%.0f..%.0f], p99.9 %.0f ns [%.0f..%.0f]; "
                   "batches of %d: p99.9 %.1f ns/op [%.1f..%.1f]\n",
                   ops[k].name, m[0], lo[0], hi[0], m[1], lo[1], hi[1], m[2], lo[2], hi[2], BATCH, m[3], lo[3], hi[3]);
        }
    }
    free(buf);
    free(ptr);
}

/* ---- the sweep ------------------------------------------------------------------------------ */

static void describe(char *out, size_t len, const carve_heap_config *c)
{
    static const char *fits[] = {"first", "next", "best", "worst", "segregated", "tlsf"};
    static const char *orders[] = {"lifo", "fifo", "address", "size-asc", "size-desc"};
    snprintf(out, len, "%s%s%s align %zu%s split_high_below %zu grow_min %zu", fits[c->fit],
             c->fit <= CARVE_FIT_WORST ? "/" : "", c->fit <= CARVE_FIT_WORST ? orders[c->order] : "",
             c->align, c->no_coalesce ? " no_coalesce" : "", c->split_high_below, c->grow_min);
}

static double sweep(const trace *t, arena *a, void **ptr, size_t peak, char *best, size_t len)
{
    double top = 0;
    for (int fit = 0; fit <= CARVE_FIT_TLSF; fit++)
        for (int order = 0; order <= (fit <= CARVE_FIT_WORST ? CARVE_ORDER_SIZE_DESC : 0); order++)
            for (size_t align = 8; align <= 16; align *= 2)
                for (int v = 0; v < 6; v++) {
                    static const size_t split[] = {0, 0, 64, 256, 64, 256};
                    config c = {"", {.fit = (carve_fit)fit, .order = (carve_order)order, .align = align,
                                     .no_coalesce = v == 1, .split_high_below = split[v],
                                     .grow_min = v >= 4 ? 4096 : 0}};
                    result r = util_heap(&c, t, a, ptr, peak);
                    if (!r.failed && r.util > top) {
                        top = r.util;
                        describe(best, len, &c.cfg);
                    }
                }
    return top;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

/* One replay per trace of one configuration; prints the operation count. With runs > 0
 * (--time), instead times runs replays per trace as the table does and prints the mean over
 * the traces of each trace's median ns/op. */
static int run_only(const char *name, char **paths, size_t ntraces, arena *a, bool grow, int runs)
{
    const config *c = standard_named(name);
    if (c == NULL) {
        fprintf(stderr, "heap_bench: no configuration %s\n", name);
        return 2;
    }
    size_t ops = 0;
    double sum_ns = 0;
    for (size_t i = 0; i < ntraces; i++) {
        trace t;
        char err[512];
        if (trace_load(paths[i], &t, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        void **ptr = calloc(t.nids, sizeof *ptr);
        if (runs > 0) {
            timing tm = time_heap(c, &t, a, ptr, runs, grow);
            if (tm.failed) return 1;
            sum_ns += tm.ns;
            fprintf(stderr, "%s %.2f\n", base_name(t.path), tm.ns);
        } else {
            carve_heap *h = grow ? arena_heap(a, &c->cfg) : fixed_heap(&c->cfg);
            if (replay_heap(h, &t, ptr) != 0) return 1;
        }
        ops += t.nops;
        free(ptr);
        trace_free(&t);
    }
    if (runs > 0)
        printf("%s: %.2f ns/op (mean over %zu traces of the median of %d replays; %s)\n", name,
               sum_ns / (double)ntraces, ntraces, runs, grow ? "growing" : "fixed arena");
    else
        printf("%s: %zu trace operations replayed (%s)\n", name, ops, grow ? "growing" : "fixed arena");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--libc-util") == 0) { /* the child of util_libc */
        size_t peak = 0;
        int out_fd = -1;
        if (sscanf(argv[5], "%zu %d", &peak, &out_fd) != 2) return 1;
        return libc_util_child(atoi(argv[2]), strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), peak, out_fd);
    }
    int runs = 5, do_sweep = 0, first = 1;
    bool grow = false, timed = false;
    const char *only = NULL;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--runs") == 0 && first + 1 < argc) runs = atoi(argv[++first]);
        else if (strcmp(argv[first], "--sweep") == 0) do_sweep = 1;
        else if (strcmp(argv[first], "--only") == 0 && first + 1 < argc) only = argv[++first];
        else if (strcmp(argv[first], "--grow") == 0) grow = true;
        else if (strcmp(argv[first], "--time") == 0) timed = true;
        else {
            fprintf(stderr, "usage: heap_bench [--runs N] [--sweep] [--only NAME [--grow] [--time]] TRACE...\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || first >= argc) {
        fprintf(stderr, "usage: heap_bench [--runs N (1..64)] [--sweep] TRACE...\n");
        return 2;
    }
    size_t ntraces = (size_t)(argc - first);
    arena a;
    size_t arena_bytes = (size_t)512 << 20;
    a.base = malloc(arena_bytes);
    a.end = a.base + arena_bytes;
    if (a.base == NULL || !fixed_arena_init()) return 1;
    if (only != NULL) return run_only(only, argv + first, ntraces, &a, grow, timed ? runs : 0);
    double sum_util[NSTD] = {0}, sum_ns[NSTD] = {0}, sum_libc = 0, sum_libc_util = 0, sum_best = 0, sum_sweep = 0;
    double sum_grow = 0;
    const config *tlsf_std = standard_named("tlsf");
    trace *ts = calloc(ntraces, sizeof *ts);

    printf("utilisation growing from the smallest heap; ns/op in a fixed %zu MiB arena (tlsf-grow: growing)\n",
           FIXED_BYTES >> 20);
    printf("%-16s", "trace");
    for (size_t c = 0; c < NSTD; c++) printf(" %17s", standard[c].name);
    printf(" %9s %16s %6s\n", "tlsf-grow", "glibc", "best");
    printf("%-16s", "");
    for (size_t c = 0; c < NSTD; c++) printf(" %17s", "util  ns/op");
    printf(" %9s %16s %6s\n", "ns/op", "util  ns/op", "util");
    for (size_t i = 0; i < ntraces; i++) {
        trace t;
        char err[512];
        if (trace_load(argv[first + (int)i], &t, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        void **ptr = calloc(t.nids, sizeof *ptr);
        size_t *live = calloc(t.nids, sizeof *live);
        size_t peak = peak_payload(&t, live);
        printf("%-16.16s", base_name(t.path));
        double best = 0;
        for (size_t c = 0; c < NSTD; c++) {
            result r = run_heap(&standard[c], &t, &a, ptr, peak, runs);
            if (r.failed) printf(" %17s", "FAILED");
            else printf(" %6.3f %10.1f", r.util, r.ns_per_op);
            sum_util[c] += r.util;
            sum_ns[c] += r.ns_per_op;
            if (r.util > best) best = r.util;
        }
        timing tg = time_heap(tlsf_std, &t, &a, ptr, runs, true); /* tlsf, growing */
        sum_grow += tg.ns;
        double libc = run_libc(&t, ptr, runs), libc_util = util_libc(&t, peak);
        sum_libc += libc;
        sum_libc_util += libc_util;
        sum_best += best;
        if (tg.failed) printf(" %9s", "FAILED");
        else printf(" %9.1f", tg.ns);
        printf(" %6.3f %9.1f %6.3f\n", libc_util, libc, best);
        if (do_sweep) {
            char desc[128] = "";
            double top = sweep(&t, &a, ptr, peak, desc, sizeof desc);
            sum_sweep += top;
            printf("    sweep: best %.3f with %s\n", top, desc);
        }
        free(ptr);
        free(live);
        ts[i] = t;
    }
    printf("%-16s", "mean");
    for (size_t c = 0; c < NSTD; c++)
        printf(" %6.3f %10.1f", sum_util[c] / (double)ntraces, sum_ns[c] / (double)ntraces);
    printf(" %9.1f %6.3f %9.1f %6.3f\n", sum_grow / (double)ntraces, sum_libc_util / (double)ntraces,
           sum_libc / (double)ntraces, sum_best / (double)ntraces);
    if (do_sweep) printf("mean of the sweep's best configuration per trace: %.3f\n", sum_sweep / (double)ntraces);

    latency_report(ts, ntraces, &a);
    for (size_t i = 0; i < ntraces; i++) trace_free(&ts[i]);
    free(ts);
    free(a.base);
    return 0;
}
