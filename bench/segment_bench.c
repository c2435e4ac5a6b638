/*
 * bench/segment_bench.c: the segment allocator's speed, side by side with a plain bitmap scan
 * (written here) and, when the region heap is in the tree, its TLSF policy, on the same runs.
 *
 * Workload: one trace, generated once and replayed by every allocator. Runs of 1..--max cells
 * (uniform) are allocated until 90% of the range's cells are live, then the trace alternates so
 * that the live cells stay at 90%: allocate when the next size still fits under 90%, else free a
 * random live run. An alloc that fails is counted; the trace's later free of it is skipped.
 *
 * Method. The thread is pinned to the CPU it started on (no migration mid-run), the TSC is
 * calibrated against clock_gettime, and the cost of an empty timed pair (lfence; rdtsc; lfence
 * twice) is measured 100,000 times: its median is the timer overhead. Each rep replays the trace
 * three times, each time on a fresh allocator: untimed, single-op timed, batch timed. Every figure
 * printed is the median over the --reps reps of that figure computed within each rep (one more
 * rep, first, is a discarded warm-up). Within a rep, over the steady-state ops (all of them):
 *   ns/op      the untimed replay's CPU time (CLOCK_THREAD_CPUTIME_ID: time given to other
 *              processes is not counted) divided by its ops; no timer in the loop. The `harness`
 *              row replays the trace through an allocator that does nothing: the loop's share.
 *   alloc/free every call timed on its own; mean, p50, p99, p99.9 of the raw tick counts, minus
 *              the timer overhead's median. Single samples step by the counter's resolution
 *              (printed; 10 ns in the VM this was written on), so a p50 near 10 ns is coarse.
 *   batch      every 16 consecutive calls (allocs and frees as the trace mixes them) timed as one:
 *              (ticks - overhead) / 16, p50 and p99.9. Immune to the counter's resolution; a
 *              single slow call is diluted 16 times, so it is a cross-check, not the tail itself.
 * The bitmap scan costs O(cells) per alloc: it replays only the first --bitmap-ops steady ops.
 * Usage: segment_bench [--cells N] [--max N] [--ops N] [--reps N] [--seed N] [--bitmap-ops N]
 *                      [--only harness,segment,bitmap-scan,heap-tlsf]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sched_setaffinity, sched_getcpu */
#endif
#include "carve/segment.h"
#ifdef CARVE_BENCH_HEAP
#include "carve/heap.h"
#endif
#include "measure.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#define CELL_BYTES 8   /* a cell as 8 bytes of payload, for the heap (seed 004's own figure) */

/* ---- the trace ------------------------------------------------------------------------------ */

typedef struct op {
    uint32_t id;      /* the run this op allocates or frees */
    uint16_t size;    /* in cells */
    uint8_t is_free;
} op;

typedef struct trace {
    op *ops;
    size_t n, warm;   /* ops[0, warm) fill to 90%; ops[warm, n) are the measured steady state */
    uint32_t runs;    /* ids 0..runs-1 */
} trace;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static trace make_trace(uint32_t cells, uint32_t max_run, size_t steady, uint64_t seed)
{
    uint64_t target = (uint64_t)cells * 9 / 10, live_cells = 0;
    size_t cap = steady + cells;   /* the warm-up takes at most one op per cell */
    trace t = {.ops = malloc(cap * sizeof(op))};
    /* Ids are slots, reused after a free, so the replay's handle table stays as small as the
     * live set (and in cache): the harness, not the allocator, would otherwise miss. */
    uint32_t *live = malloc(cells * sizeof *live), nlive = 0;
    uint32_t *spare = malloc(cells * sizeof *spare), nspare = 0;
    uint16_t *size_of = malloc(cells * sizeof *size_of);
    uint16_t next = (uint16_t)(1 + rng_next(&seed) % max_run);
    while (t.n < cap && (t.warm == 0 || t.n < t.warm + steady)) {
        if (live_cells + next <= target) {
            uint32_t id = nspare > 0 ? spare[--nspare] : t.runs++;
            t.ops[t.n++] = (op){.id = id, .size = next};
            size_of[id] = next;
            live[nlive++] = id;
            live_cells += next;
            next = (uint16_t)(1 + rng_next(&seed) % max_run);
        } else {
            if (t.warm == 0) t.warm = t.n;
            uint32_t j = (uint32_t)(rng_next(&seed) % nlive), id = live[j];
            t.ops[t.n++] = (op){.id = id, .size = size_of[id], .is_free = 1};
            live_cells -= size_of[id];
            live[j] = live[--nlive];
            spare[nspare++] = id;
        }
    }
    free(live);
    free(spare);
    free(size_of);
    return t;
}

/* ---- timing --------------------------------------------------------------------------------- */

#if defined(__x86_64__)
static inline uint64_t ticks(void)
{
    __builtin_ia32_lfence();
    uint64_t t = __builtin_ia32_rdtsc();
    __builtin_ia32_lfence();
    return t;
}
#else
static inline uint64_t ticks(void) { return measure_now_ns(); }
#endif

/* This thread's CPU time: unlike the wall clock, it does not count the time the machine (2
 * cores shared with other jobs) gives to other processes while the replay runs. */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ns_per_tick;
static uint64_t timer_overhead;   /* ticks of an empty timed pair (median) */
static uint64_t timer_step;       /* the resolution of the counter, in ticks */

static void calibrate(void)
{
    uint64_t t0 = ticks(), n0 = measure_now_ns();
    while (measure_now_ns() - n0 < 50000000) {}
    uint64_t t1 = ticks(), n1 = measure_now_ns();
    ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
    enum { N = 100000 };
    static uint64_t empty[N];
    for (size_t k = 0; k < N; k++) {
        uint64_t a = ticks();
        empty[k] = ticks() - a;
    }
    timer_overhead = measure_quantile_u64(empty, N, 0.5);
    timer_step = 0;   /* the gcd of the observed differences: the counter's real step */
    for (size_t k = 0; k < N; k++)
        for (uint64_t x = empty[k]; x != 0;) {
            uint64_t rest = timer_step % x;
            timer_step = x;
            x = rest;
        }
}

/* ---- the peers ------------------------------------------------------------------------------ */

/* A plain bitmap over the cells (1 = used): first fit from cell 0 for a run of `size` free
 * cells, a word at a time. `run` carries the free cells at the top of the words before; inside a
 * word, m &= m >> step (doubling) leaves bit i set iff cells i..i+size-1 of the word are free. */
typedef struct bitmap {
    uint64_t *words;
    uint32_t cells, nwords;   /* cells is a multiple of 64 */
} bitmap;

static void bitmap_set(bitmap *b, uint32_t cell, uint32_t size, bool used)
{
    for (uint32_t i = cell; i < cell + size; i++) {
        if (used) b->words[i / 64] |= 1ull << (i % 64);
        else b->words[i / 64] &= ~(1ull << (i % 64));
    }
}

static uint32_t bitmap_alloc(bitmap *b, uint32_t size)
{
    uint32_t run = 0, found = CARVE_SEGMENT_NONE;
    for (uint32_t w = 0; w < b->nwords && found == CARVE_SEGMENT_NONE; w++) {
        uint64_t free_bits = ~b->words[w];
        if (free_bits == 0) {
            run = 0;
            continue;
        }
        uint32_t low = free_bits == ~0ull ? 64 : (uint32_t)__builtin_ctzll(~free_bits);
        if (run + low >= size) {
            found = w * 64 - run;
            break;
        }
        uint64_t m = free_bits;
        for (uint32_t len = 1; len < size && m != 0;) {
            uint32_t step = len < size - len ? len : size - len;
            m &= m >> step;
            len += step;
        }
        if (m != 0) {
            found = w * 64 + (uint32_t)__builtin_ctzll(m);
            break;
        }
        run = (uint32_t)__builtin_clzll(~free_bits);   /* free cells at the top of this word */
    }
    if (found != CARVE_SEGMENT_NONE) bitmap_set(b, found, size, true);
    return found;
}

static void bitmap_free(bitmap *b, uint32_t cell, uint32_t size)
{
    if (!((b->words[cell / 64] >> (cell % 64)) & 1)) abort();   /* the trace frees only live runs */
    bitmap_set(b, cell, size, false);
}

/* ---- replay ----------------------------------------------------------------------------------- */

enum { UNTIMED, SINGLE, BATCH, PASSES };   /* the three replays of a rep */
#define BATCH_OPS 16

typedef struct result {
    double ns_per_op;
    double alloc_mean, alloc_p50, alloc_p99, alloc_p999;
    double free_mean, free_p50, free_p99, free_p999;
    double batch_p50, batch_p999;
    double switches_single, switches_batch;   /* involuntary context switches in those passes */
    size_t failed;
} result;

typedef struct samples {
    uint64_t *alloc, *free, *batch;   /* raw ticks, timer overhead included */
    size_t nalloc, nfree, nbatch;
} samples;

static double to_ns(double t) { return t * ns_per_tick; }

/* Involuntary context switches of this thread so far: the machine taking the CPU away. */
static long preemptions(void)
{
    struct rusage u;
    return getrusage(RUSAGE_THREAD, &u) == 0 ? u.ru_nivcsw : 0;
}

/* The q-quantile of raw samples, net of the timer overhead, in ns (sorts v). */
static double net_quantile(uint64_t *v, size_t n, double q, double per)
{
    if (n == 0) return 0;
    return to_ns(((double)measure_quantile_u64(v, n, q) - (double)timer_overhead) / per);
}

/* The mean of raw samples up to their p99.99, net of the timer overhead, in ns (v sorted). The
 * top 0.01% is left out of the mean only: a preemption lands whole in one sample and would
 * otherwise dominate the mean of a 10 ns call. The quantiles use every sample. */
static double net_mean(const uint64_t *v, size_t n)
{
    size_t keep = n - n / 10000;
    double sum = 0;
    for (size_t k = 0; k < keep; k++) sum += (double)v[k];
    return keep ? to_ns(sum / (double)keep - (double)timer_overhead) : 0;
}

static void summarize(samples *s, int pass, result *r)
{
    if (pass == SINGLE) {
        r->alloc_p50 = net_quantile(s->alloc, s->nalloc, 0.5, 1);   /* sorts */
        r->alloc_p99 = net_quantile(s->alloc, s->nalloc, 0.99, 1);
        r->alloc_p999 = net_quantile(s->alloc, s->nalloc, 0.999, 1);
        r->free_p50 = net_quantile(s->free, s->nfree, 0.5, 1);
        r->free_p99 = net_quantile(s->free, s->nfree, 0.99, 1);
        r->free_p999 = net_quantile(s->free, s->nfree, 0.999, 1);
        r->alloc_mean = net_mean(s->alloc, s->nalloc);
        r->free_mean = net_mean(s->free, s->nfree);
    } else {
        r->batch_p50 = net_quantile(s->batch, s->nbatch, 0.5, BATCH_OPS);
        r->batch_p999 = net_quantile(s->batch, s->nbatch, 0.999, BATCH_OPS);
    }
}

/* One replay of trace T through ALLOC(size) -> handle (NONE_ on failure) and FREE(handle, size)
 * into result R. PASS: UNTIMED (the steady state's CPU time and failures), SINGLE (every steady
 * call timed), BATCH (every BATCH_OPS consecutive steady calls timed as one). */
#define REPLAY(B, T, NONE_, ALLOC, FREE, PASS, R)                                                \
    do {                                                                                         \
        uint64_t start_ = 0, b0_ = 0;                                                            \
        long switches_ = 0;                                                                      \
        size_t failed_ = 0, inbatch_ = 0;                                                        \
        samples *s_ = &(B)->s;                                                                   \
        s_->nalloc = s_->nfree = s_->nbatch = 0;                                                 \
        for (size_t k_ = 0; k_ < (T)->n; k_++) {                                                 \
            const op *o_ = &(T)->ops[k_];                                                        \
            /* timed passes: the harness's own misses (the trace streams, ids jump) are taken    \
             * ahead, out of the timed calls */                                                  \
            if ((PASS) != UNTIMED && k_ + 512 < (T)->n) __builtin_prefetch(&(T)->ops[k_ + 512]); \
            if ((PASS) != UNTIMED && k_ + 32 < (T)->n)                                           \
                __builtin_prefetch(&(B)->handles[(T)->ops[k_ + 32].id]);                         \
            if (k_ == (T)->warm) start_ = cpu_now_ns(), switches_ = preemptions();               \
            bool single_ = (PASS) == SINGLE && k_ >= (T)->warm;                                  \
            bool batch_ = (PASS) == BATCH && k_ >= (T)->warm;                                    \
            if (o_->is_free) {                                                                   \
                uintptr_t h_ = (B)->handles[o_->id];   /* loaded before the timer starts */       \
                if (h_ == (NONE_)) continue;                                                     \
                if (batch_ && inbatch_ == 0) b0_ = ticks();                                      \
                uint64_t t0_ = single_ ? ticks() : 0;                                            \
                FREE(h_, o_->size);                                                              \
                if (single_) s_->free[s_->nfree++] = ticks() - t0_;                              \
            } else {                                                                             \
                if (batch_ && inbatch_ == 0) b0_ = ticks();                                      \
                uint64_t t0_ = single_ ? ticks() : 0;                                            \
                uintptr_t h_ = (uintptr_t)ALLOC(o_->size);                                       \
                if (single_) s_->alloc[s_->nalloc++] = ticks() - t0_;                            \
                (B)->handles[o_->id] = h_;                                                       \
                if (h_ == (NONE_) && k_ >= (T)->warm) failed_++;                                 \
            }                                                                                    \
            if (batch_ && ++inbatch_ == BATCH_OPS) {                                             \
                s_->batch[s_->nbatch++] = ticks() - b0_;                                         \
                inbatch_ = 0;                                                                    \
            }                                                                                    \
        }                                                                                        \
        uint64_t total_ = cpu_now_ns() - start_;                                                 \
        if ((PASS) == SINGLE) (R)->switches_single = (double)(preemptions() - switches_);        \
        if ((PASS) == BATCH) (R)->switches_batch = (double)(preemptions() - switches_);          \
        if ((PASS) != UNTIMED) summarize(s_, (PASS), (R));                                       \
        else (R)->ns_per_op = (double)total_ / (double)((T)->n - (T)->warm), (R)->failed = failed_; \
    } while (0)

typedef struct bench {
    trace t;
    uint32_t cells, max_run;
    samples s;
    uintptr_t *handles;
} bench;

static carve_segment *seg;
static bitmap bm;
#define SEG_ALLOC(size) carve_segment_alloc(seg, (size))
#define SEG_FREE(cell, size) (void)carve_segment_free(seg, (uint32_t)(cell), (size))
#define BM_ALLOC(size) bitmap_alloc(&bm, (size))
#define BM_FREE(cell, size) bitmap_free(&bm, (uint32_t)(cell), (size))

static void run_segment(bench *b, int timed, result *r, void *meta, size_t bytes)
{
    carve_segment_config cfg = {.index_begin = 0, .index_end = b->cells, .block_size = 4096, .max_size = b->max_run};
    seg = carve_segment_init(meta, bytes, &cfg);
    if (seg == NULL) abort();
    REPLAY(b, &b->t, CARVE_SEGMENT_NONE, SEG_ALLOC, SEG_FREE, timed, r);
    if (carve_segment_check(seg) != 0) {
        fprintf(stderr, "segment_bench: carve_segment_check failed\n");
        exit(1);
    }
}

/* The harness alone: the same replay through an allocator that does nothing (every alloc
 * "succeeds" with its size as the handle). Its ns/op is the loop's own cost, in the others too. */
static volatile uint32_t sink;
#define NOP_ALLOC(size) (sink = (size))
#define NOP_FREE(h, size) (sink = (uint32_t)(h) + (size))

static void run_harness(bench *b, int timed, result *r)
{
    REPLAY(b, &b->t, CARVE_SEGMENT_NONE, NOP_ALLOC, NOP_FREE, timed, r);
}

/* The scan is O(cells) per alloc, so it replays only the first `limit` steady ops of the trace. */
static void run_bitmap(bench *b, int timed, result *r, size_t limit)
{
    memset(bm.words, 0, bm.nwords * sizeof(uint64_t));
    trace head = b->t;
    if (head.n > head.warm + limit) head.n = head.warm + limit;
    REPLAY(b, &head, CARVE_SEGMENT_NONE, BM_ALLOC, BM_FREE, timed, r);
}

#ifdef CARVE_BENCH_HEAP
static carve_heap *heap;
#define HEAP_NONE ((uintptr_t)0)
#define HEAP_ALLOC(size) (uintptr_t)carve_heap_alloc(heap, (size_t)(size) * CELL_BYTES)
#define HEAP_FREE(p, size) ((void)(size), (void)carve_heap_free(heap, (void *)(p)))

static void run_tlsf(bench *b, int timed, result *r, void *mem, size_t bytes)
{
    carve_heap_config cfg = {.fit = CARVE_FIT_TLSF};
    heap = carve_heap_init(mem, bytes, &cfg);
    if (heap == NULL) abort();
    REPLAY(b, &b->t, HEAP_NONE, HEAP_ALLOC, HEAP_FREE, timed, r);
}
#endif

/* ---- main ------------------------------------------------------------------------------------- */

enum { HARNESS, SEGMENT, BITMAP, TLSF, PEERS };
static const char *const names[PEERS] = {"harness", "segment", "bitmap-scan", "heap-tlsf"};

static double median_of(result *r, size_t reps, size_t field_offset)
{
    double v[64];
    for (size_t k = 0; k < reps; k++) v[k] = *(double *)((char *)&r[k] + field_offset);
    return measure_median_double(v, reps);
}

int main(int argc, char **argv)
{
    uint32_t cells = 1u << 20, max_run = 64;
    size_t steady = 2000000, reps = 7;
    uint64_t seed = 0x5E6;
    size_t bitmap_ops = 20000;
    const char *only = "harness,segment,bitmap-scan,heap-tlsf";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cells")) cells = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--ops")) steady = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--reps")) reps = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--bitmap-ops")) bitmap_ops = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
        else if (!strcmp(argv[i], "--max")) max_run = (uint32_t)strtoul(argv[i + 1], NULL, 0);
    }
    if (reps < 1 || reps > 64 || cells % 4096 != 0 || cells == 0 || max_run < 1 || max_run > 64) {
        fprintf(stderr, "usage: segment_bench [--cells N (a multiple of 4096)] [--max 1..64] [--ops N] "
                        "[--reps 1..64] [--seed N] [--bitmap-ops N] [--only LIST]\n");
        return 2;
    }
    cpu_set_t one;   /* stay on the CPU we started on: no migration between the timer's reads */
    CPU_ZERO(&one);
    int cpu = sched_getcpu();
    CPU_SET(cpu < 0 ? 0 : cpu, &one);
    bool pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    calibrate();
    bench b = {.t = make_trace(cells, max_run, steady, seed), .cells = cells, .max_run = max_run};
    b.handles = malloc(b.t.runs * sizeof *b.handles);
    b.s.alloc = malloc(b.t.n * sizeof(uint64_t));
    b.s.free = malloc(b.t.n * sizeof(uint64_t));
    b.s.batch = malloc((b.t.n / BATCH_OPS + 1) * sizeof(uint64_t));
    carve_segment_config cfg = {.index_begin = 0, .index_end = cells, .block_size = 4096, .max_size = max_run};
    size_t meta_bytes = carve_segment_footprint(&cfg);
    void *meta = aligned_alloc(64, (meta_bytes + 63) / 64 * 64);
    bm.cells = cells;
    bm.nwords = (cells + 63) / 64;
    bm.words = calloc(bm.nwords, sizeof(uint64_t));
#ifdef CARVE_BENCH_HEAP
    size_t heap_bytes = (size_t)cells * CELL_BYTES * 5 / 4;   /* the cells plus room for headers */
    void *heap_mem = aligned_alloc(64, heap_bytes);
#endif
    printf("segment_bench: %u cells (blocks of 4096), runs of 1..%u cells, 90%% full, %zu steady ops "
           "(+%zu to fill), median of %zu reps\n", cells, max_run, b.t.n - b.t.warm, b.t.warm, reps);
    printf("timer: lfence+rdtsc pairs, overhead (median) %.1f ns subtracted; 1 tick = %.3f ns; resolution "
           "%.1f ns; %s CPU %d\n", to_ns((double)timer_overhead), ns_per_tick, to_ns((double)timer_step),
           pinned ? "pinned to" : "NOT pinned, on", cpu);
    static result res[PEERS][64];
    bool present[PEERS];
    for (int p = 0; p < PEERS; p++) present[p] = strstr(only, names[p]) != NULL;
#ifndef CARVE_BENCH_HEAP
    present[TLSF] = false;
#endif
    /* rep -1 is a discarded warm-up: first touches of the metadata and the handle table. */
    for (long rep = -1; rep < (long)reps; rep++) {
        size_t slot = rep < 0 ? 0 : (size_t)rep;
        for (int pass = UNTIMED; pass < PASSES; pass++) {
            if (present[HARNESS]) run_harness(&b, pass, &res[HARNESS][slot]);
            if (present[SEGMENT]) run_segment(&b, pass, &res[SEGMENT][slot], meta, meta_bytes);
            if (present[BITMAP]) run_bitmap(&b, pass, &res[BITMAP][slot], bitmap_ops);
#ifdef CARVE_BENCH_HEAP
            if (present[TLSF]) run_tlsf(&b, pass, &res[TLSF][slot], heap_mem, heap_bytes);
#endif
        }
    }
    double harness_ns = present[HARNESS] ? median_of(res[HARNESS], reps, offsetof(result, ns_per_op)) : 0;
    double half_step = to_ns((double)timer_step) / 2;
    printf("%-12s %7s %7s | %-29s | %-29s | %8s\n", "", "ns/op", "net", "alloc: mean  p50  p99  p99.9",
           "free: mean  p50  p99  p99.9", "failed%");
    for (int p = 0; p < PEERS; p++) {
        if (!present[p]) continue;
        result *r = res[p];
#define MED(field) median_of(r, reps, offsetof(result, field))
        double allocs = 0;
        size_t end = p == BITMAP && b.t.n > b.t.warm + bitmap_ops ? b.t.warm + bitmap_ops : b.t.n;
        for (size_t k = b.t.warm; k < end; k++) allocs += !b.t.ops[k].is_free;
        printf("%-12s %7.1f %7.1f | %7.1f %6.0f %6.0f %7.0f | %7.1f %6.0f %6.0f %7.0f | %8.3f\n", names[p],
               MED(ns_per_op), MED(ns_per_op) - harness_ns, MED(alloc_mean), MED(alloc_p50), MED(alloc_p99),
               MED(alloc_p999), MED(free_mean), MED(free_p50), MED(free_p99), MED(free_p999),
               100.0 * (double)r[0].failed / allocs);
    }
    printf("%-12s | %-26s | %-38s | %s\n", "", "p99.9 / p50: alloc   free", "batch of 16, ns/op: p50  p99.9  ratio", "preempted");
    for (int p = 0; p < PEERS; p++) {
        if (!present[p]) continue;
        result *r = res[p];
        /* A p50 below half the counter's step is not a measured value: no ratio ("-"). */
        char ra[16] = "-", rf[16] = "-";
        if (MED(alloc_p50) > half_step) snprintf(ra, sizeof ra, "%.1f", MED(alloc_p999) / MED(alloc_p50));
        if (MED(free_p50) > half_step) snprintf(rf, sizeof rf, "%.1f", MED(free_p999) / MED(free_p50));
        double b50 = MED(batch_p50), b999 = MED(batch_p999);
        printf("%-12s | %19s %6s | %24.2f %6.2f %6.2f | %4.0f %4.0f\n", names[p], ra, rf, b50, b999,
               b50 > 0 ? b999 / b50 : 0, MED(switches_single), MED(switches_batch));
#undef MED
    }
    printf("(every figure: the median over the reps of that figure within a rep. ns/op: untimed steady\n"
           " replay, CPU time / ops; net: minus the harness row. alloc, free: each call timed alone, ns\n"
           " net of the timer overhead's median (mean: up to the p99.99). batch: 16 consecutive calls timed together, / 16.\n"
           " preempted: involuntary context switches during the single-op pass, the batch pass.\n"
           " failed%%: steady allocs that found no room. bitmap-scan replays only the first %zu steady ops)\n",
           bitmap_ops);
    free(meta);
#ifdef CARVE_BENCH_HEAP
    free(heap_mem);
#endif
    free(bm.words);
    free(b.handles);
    free(b.s.alloc);
    free(b.s.free);
    free(b.s.batch);
    free(b.t.ops);
    return 0;
}
