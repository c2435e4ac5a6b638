/*
 * bench/segment_bench.c: the segment allocator's speed, side by side with a plain bitmap scan
 * (written here) and, when the region heap is in the tree, its TLSF policy, on the same runs.
 *
 * Workload: one trace, generated once and replayed by every allocator. Runs of 1..--max cells
 * (uniform) are allocated until 90% of the range's cells are live, then the trace alternates so
 * that the live cells stay at 90%: allocate when the next size still fits under 90%, else free a
 * random live run. An alloc that fails is counted; the trace's later free of it is skipped. A
 * second, phased trace (same generator) frees --phase random live runs in a row each time the
 * next size does not fit, then allocates back up to 90%: it times allocs and frees apart.
 *
 * Handles. Before the reps, each allocator replays each trace once through a table indexed by
 * run id (what a program keeping its handles in an array would do) and the handle of every op is
 * recorded in trace order. The measured replays then read the handle a free passes from that
 * sequential record (and check that each alloc returns the recorded handle; the allocators are
 * deterministic), so the harness's own loads stream, and the allocator's loads are the only
 * random ones. With the table, a free's whole dependency chain starts with a random load that
 * misses: the allocator waits for the harness's miss, which the `harness` row (nothing depends on
 * its load there) does not pay, so subtracting it does not remove it. The table replay is still
 * run and printed (ns/op table) for comparison.
 *
 * Method. The thread is pinned to the CPU it started on (no migration mid-run), the TSC is
 * calibrated against clock_gettime, and the cost of an empty timed pair (lfence; rdtsc; lfence
 * twice) is measured 100,000 times. Each rep replays each trace on a fresh allocator per pass:
 * table, untimed, phased, single-op timed, batch timed. Every figure printed is the median over
 * the --reps reps of that figure computed within each rep (one more rep, first, is a discarded
 * warm-up that also records the handles). Within a rep, over the steady-state ops (all of them):
 *   ns/op      the untimed replay's CPU time (CLOCK_THREAD_CPUTIME_ID: time given to other
 *              processes is not counted) divided by its ops; no timer in the loop. The `harness`
 *              row replays the trace through an allocator that does nothing: the loop's share,
 *              subtracted in `net`. `table`: the same with the handle table. The `fixed-work`
 *              row: a call of fixed work about as long as a segment call (run_fixed), whose
 *              single-op tail is the machine's and the timer's, not an allocator's.
 *   alone      the phased trace: the ticks of each run of allocs and each run of frees (read at
 *              the phase boundaries only, every --phase ops or so) summed per kind, divided by the
 *              calls of that kind; net of the harness's figure for the same phases.
 *   alloc/free every call timed on its own; p50, p99, p99.9 of the raw tick counts (nearest
 *              rank) minus the timer overhead's median. The counter steps every 10 ns on both VMs
 *              measured so far (AMD Zen 5: 21 ticks; Zen 3: 24 or 25 ticks, 24.5 on average:
 *              counter_step), so these are multiples of the step. `~` columns: the same quantiles read from the samples as
 *              grouped data (see interp_quantile), minus the overhead read the same way: the
 *              counter's step, not the op, otherwise sets a p50 near 10 ns.
 *   batch      every 16 consecutive calls (allocs and frees as the trace mixes them) timed as one:
 *              (ticks - overhead) / 16, p50 and p99.9. Immune to the counter's resolution; a
 *              single slow call is diluted 16 times, so it is a cross-check, not the tail itself.
 * The bitmap scan costs O(cells) per alloc: it replays only the first --bitmap-ops steady ops.
 * Usage: segment_bench [--cells N] [--max N] [--ops N] [--reps N] [--seed N] [--bitmap-ops N]
 *                      [--phase N] [--only harness,fixed-work,segment,bitmap-scan,heap-tlsf]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sched_setaffinity, sched_getcpu */
#endif
#include "carve/segment.h"
#ifdef CARVE_BENCH_HEAP
#include "carve/heap.h"
#endif
#include "measure.h"
#include "segment_timing.h"
#include "segment_trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#define CELL_BYTES 8   /* a cell as 8 bytes of payload, for the heap (seed 004's own figure) */

/* ---- timing --------------------------------------------------------------------------------- */

/* This thread's CPU time: unlike the wall clock, it does not count the time the machine (2
 * cores shared with other jobs) gives to other processes while the replay runs. */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ns_per_tick;
static uint64_t timer_overhead;   /* ticks of an empty timed pair (median, nearest rank) */
static double timer_overhead_interp;   /* the same median read as grouped data */
static double timer_overhead_gcd;      /* the same with the gcd step */
static double timer_step;         /* the resolution of the counter, in ticks (see counter_step) */
static uint64_t timer_step_gcd;   /* the gcd of the observed differences: the step before 2026-12-02 */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank q-quantile of sorted v (measure_quantile_u64's rank, without its sort). */
static uint64_t rank_quantile(const uint64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/*
 * The q-quantile of sorted v, samples of a counter that steps by `step`, read as grouped data.
 * With lfence+rdtsc, a call of true length d starts at a random phase of the counter's step, so
 * it reads floor(d / step) or ceil(d / step) steps, the latter with probability frac(d / step):
 * unbiased, but the sub-step part is in the proportions, not in any one sample. The share of
 * samples <= x (x a multiple of step) is then the true distribution function averaged over
 * [x, x + step), close to its value at x + step / 2. So each reading x stands for the interval
 * [x - step / 2, x + step / 2), and the quantile is interpolated linearly inside the interval of
 * the reading where the share reaches q (the usual median of grouped data). A call that always
 * takes 15 ns with a 10 ns step reads 10 and 20 half the time each: the nearest-rank median is
 * 10 or 20, this one 15. It smooths the distribution by about one step; it cannot invent a tail:
 * it starts from the nearest-rank sample x and stays within half a step of it.
 */
static double interp_quantile(const uint64_t *v, size_t n, double q, double step)
{
    if (n == 0) return 0;
    size_t j = (size_t)(q * (double)(n - 1) + 0.5);   /* the nearest rank's sample */
    j = j < n ? j : n - 1;
    /* The samples of the same reading: within half a step of v[j] (equal ones for a whole step;
     * for a step of 24.5 ticks, readings of 73 and 74 ticks are the same number of steps). */
    size_t lo = j, hi = j;
    while (lo > 0 && (double)(v[j] - v[lo - 1]) < step / 2) lo--;
    while (hi + 1 < n && (double)(v[hi + 1] - v[j]) < step / 2) hi++;
    double x = 0;   /* the reading: the mean of its samples */
    for (size_t k = lo; k <= hi; k++) x += (double)v[k];
    x /= (double)(hi - lo + 1);
    double below = (double)lo / (double)n, upto = (double)(hi + 1) / (double)n;
    double at = (q - below) / (upto - below);   /* where q falls among the samples of the reading */
    at = at < 0 ? 0 : at > 1 ? 1 : at;          /* (the ranks differ by one at most) */
    return x - step / 2 + step * at;
}

/*
 * The counter's step in ticks, from sorted samples v of an empty timed pair; gcd is the gcd of
 * the samples, which is the step when the step is a whole number of ticks. It is not always:
 * on an AMD Zen 3 guest with a 2.45 GHz TSC, the counter moves every 10 ns by 24 or 25 ticks
 * alternately (24.5 on average), so the readings sit at 49, 73 or 74, 98, 122 or 123... and the
 * gcd is 1 tick (0.4 ns), 25 times too fine, which turns the grouped-data quantiles back into
 * nearest-rank ones. So: group the samples into readings (values at most one tick apart); if
 * every reading holding at least 0.1% of the samples spans at most one tick and they sit on a
 * common grid (each gap a whole multiple of the smallest, within a tenth), the step is that
 * grid's spacing, measured over its whole width; otherwise (a counter that moves every tick or
 * so: contiguous values) the gcd.
 */
static double counter_step(const uint64_t *v, size_t n, uint64_t gcd)
{
    enum { MAX_READINGS = 64 };
    double center[MAX_READINGS];
    size_t readings = 0, min_count = n / 1000 + 1;
    for (size_t lo = 0, hi; lo < n; lo = hi + 1) {
        for (hi = lo; hi + 1 < n && v[hi + 1] - v[hi] <= 1; hi++) {}
        if (hi - lo + 1 < min_count) continue;          /* a rare reading: not used for the grid */
        if (v[hi] - v[lo] > 1 || readings == MAX_READINGS) return (double)gcd;   /* contiguous */
        double sum = 0;
        for (size_t k = lo; k <= hi; k++) sum += (double)v[k];
        center[readings++] = sum / (double)(hi - lo + 1);
    }
    if (readings < 2) return (double)gcd;
    double smallest = center[1] - center[0];
    for (size_t k = 2; k < readings; k++)
        if (center[k] - center[k - 1] < smallest) smallest = center[k] - center[k - 1];
    if (smallest < 2) return (double)gcd;
    for (size_t k = 1; k < readings; k++) {
        double steps = (center[k] - center[k - 1]) / smallest;
        if (steps - (double)(long)(steps + 0.5) > 0.1 || (double)(long)(steps + 0.5) - steps > 0.1)
            return (double)gcd;   /* not one grid */
    }
    double width = center[readings - 1] - center[0];
    return width / (double)(long)(width / smallest + 0.5);
}

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
    qsort(empty, N, sizeof empty[0], cmp_u64);
    timer_overhead = rank_quantile(empty, N, 0.5);
    timer_step_gcd = 0;   /* the gcd of the observed differences */
    for (size_t k = 0; k < N; k++)
        for (uint64_t x = empty[k]; x != 0;) {
            uint64_t rest = timer_step_gcd % x;
            timer_step_gcd = x;
            x = rest;
        }
    if (timer_step_gcd == 0) timer_step_gcd = 1;
    timer_step = counter_step(empty, N, timer_step_gcd);
    timer_overhead_interp = interp_quantile(empty, N, 0.5, timer_step);
    timer_overhead_gcd = interp_quantile(empty, N, 0.5, (double)timer_step_gcd);
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

/* The replays of a rep. RECORD (the warm-up's) replays through the handle table and records
 * every op's handle; TABLE does the same without recording; the others read the record. */
enum { RECORD, TABLE, UNTIMED, PHASED, SINGLE, BATCH };
#define BATCH_OPS 16

typedef struct result {
    double ns_per_op, ns_table;
    double alloc_alone, free_alone;   /* phased trace: ns per alloc, per free */
    double alloc_p50, alloc_p99, alloc_p999, free_p50, free_p99, free_p999;   /* nearest rank */
    double alloc_p50i, alloc_p999i, free_p50i, free_p999i;                    /* grouped data */
    double alloc_p50g, alloc_p999g, free_p50g, free_p999g;   /* grouped data, gcd step (the old reading) */
    double batch_p50, batch_p999;
    double switches_single, switches_batch, switches_phased;   /* involuntary context switches */
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

/* Sorts v, then its quantiles net of the timer overhead, in ns: nearest rank (p50, p99, p99.9)
 * and grouped data (p50, p99.9). */
static void single_quantiles(uint64_t *v, size_t n, double *p50, double *p99, double *p999, double *p50i,
                             double *p999i, double *p50g, double *p999g)
{
    if (n == 0) return;
    qsort(v, n, sizeof *v, cmp_u64);
    double o = (double)timer_overhead;
    *p50 = to_ns((double)rank_quantile(v, n, 0.5) - o);
    *p99 = to_ns((double)rank_quantile(v, n, 0.99) - o);
    *p999 = to_ns((double)rank_quantile(v, n, 0.999) - o);
    *p50i = to_ns(interp_quantile(v, n, 0.5, timer_step) - timer_overhead_interp);
    *p999i = to_ns(interp_quantile(v, n, 0.999, timer_step) - timer_overhead_interp);
    *p50g = to_ns(interp_quantile(v, n, 0.5, (double)timer_step_gcd) - timer_overhead_gcd);
    *p999g = to_ns(interp_quantile(v, n, 0.999, (double)timer_step_gcd) - timer_overhead_gcd);
}

static void summarize(samples *s, int pass, result *r)
{
    if (pass == SINGLE) {
        single_quantiles(s->alloc, s->nalloc, &r->alloc_p50, &r->alloc_p99, &r->alloc_p999, &r->alloc_p50i,
                         &r->alloc_p999i, &r->alloc_p50g, &r->alloc_p999g);
        single_quantiles(s->free, s->nfree, &r->free_p50, &r->free_p99, &r->free_p999, &r->free_p50i,
                         &r->free_p999i, &r->free_p50g, &r->free_p999g);
    } else if (s->nbatch > 0) {
        qsort(s->batch, s->nbatch, sizeof *s->batch, cmp_u64);
        double o = (double)timer_overhead;
        r->batch_p50 = to_ns(((double)rank_quantile(s->batch, s->nbatch, 0.5) - o) / BATCH_OPS);
        r->batch_p999 = to_ns(((double)rank_quantile(s->batch, s->nbatch, 0.999) - o) / BATCH_OPS);
    }
}

/* One replay of trace T through ALLOC(size) -> handle (NONE_ on failure) and FREE(handle, size)
 * into result R. REC[k] is op k's handle: written by RECORD, read by every pass but RECORD and
 * TABLE (which use B's table by run id). PASS: see the enum above. */
#define REPLAY(B, T, REC, NONE_, ALLOC, FREE, PASS, R)                                           \
    do {                                                                                         \
        uint64_t start_ = 0, b0_ = 0, mark_ = 0, phase_ticks_[2] = {0, 0};                       \
        size_t phase_calls_[2] = {0, 0}, failed_ = 0, inbatch_ = 0, wrong_ = 0;                   \
        long switches_ = 0;                                                                      \
        bool table_ = (PASS) == RECORD || (PASS) == TABLE;                                       \
        bool timed_ = (PASS) == SINGLE || (PASS) == BATCH;                                       \
        samples *s_ = &(B)->s;                                                                   \
        uintptr_t *rec_ = (REC);                                                                 \
        s_->nalloc = s_->nfree = s_->nbatch = 0;                                                 \
        for (size_t k_ = 0; k_ < (T)->n; k_++) {                                                 \
            const op *o_ = &(T)->ops[k_];                                                        \
            if (timed_ && k_ + 512 < (T)->n) {   /* the streams, ahead of the timed calls */     \
                __builtin_prefetch(&(T)->ops[k_ + 512]);                                         \
                __builtin_prefetch(&rec_[k_ + 512]);                                             \
            }                                                                                    \
            if (k_ == (T)->warm) start_ = cpu_now_ns(), switches_ = preemptions();               \
            bool steady_ = k_ >= (T)->warm;                                                      \
            if ((PASS) == PHASED && steady_ && (k_ == (T)->warm || o_->is_free != o_[-1].is_free)) { \
                uint64_t now_ = ticks();                                                         \
                if (k_ > (T)->warm) phase_ticks_[o_[-1].is_free] += now_ - mark_;                \
                mark_ = now_;                                                                    \
            }                                                                                    \
            bool single_ = (PASS) == SINGLE && steady_, batch_ = (PASS) == BATCH && steady_;     \
            if (o_->is_free) {                                                                   \
                uintptr_t h_ = table_ ? (B)->handles[o_->id] : rec_[k_];                         \
                if ((PASS) == RECORD) rec_[k_] = h_;                                             \
                if (h_ == (NONE_)) continue;                                                     \
                phase_calls_[1] += steady_;                                                      \
                if (batch_ && inbatch_ == 0) b0_ = ticks();                                      \
                uint64_t t0_ = single_ ? ticks() : 0;                                            \
                FREE(h_, o_->size);                                                              \
                if (single_) s_->free[s_->nfree++] = ticks() - t0_;                              \
            } else {                                                                             \
                if (batch_ && inbatch_ == 0) b0_ = ticks();                                      \
                uint64_t t0_ = single_ ? ticks() : 0;                                            \
                uintptr_t h_ = (uintptr_t)ALLOC(o_->size);                                       \
                if (single_) s_->alloc[s_->nalloc++] = ticks() - t0_;                            \
                phase_calls_[0] += steady_;                                                      \
                if (table_) (B)->handles[o_->id] = h_;                                           \
                else wrong_ += h_ != rec_[k_];                                                   \
                if ((PASS) == RECORD) rec_[k_] = h_;                                             \
                if (h_ == (NONE_) && steady_) failed_++;                                         \
            }                                                                                    \
            if (batch_ && ++inbatch_ == BATCH_OPS) {                                             \
                s_->batch[s_->nbatch++] = ticks() - b0_;                                         \
                inbatch_ = 0;                                                                    \
            }                                                                                    \
        }                                                                                        \
        if ((PASS) == PHASED && (T)->n > (T)->warm) phase_ticks_[(T)->ops[(T)->n - 1].is_free] += ticks() - mark_; \
        uint64_t total_ = cpu_now_ns() - start_;                                                 \
        long switched_ = preemptions() - switches_;                                              \
        if (wrong_ != 0) {                                                                       \
            fprintf(stderr, "segment_bench: %zu allocs returned another handle than recorded\n", wrong_); \
            exit(1);                                                                             \
        }                                                                                        \
        double steady_ops_ = (double)((T)->n - (T)->warm);                                       \
        switch (PASS) {                                                                          \
        case TABLE: (R)->ns_table = (double)total_ / steady_ops_; break;                         \
        case UNTIMED: (R)->ns_per_op = (double)total_ / steady_ops_, (R)->failed = failed_; break; \
        case PHASED:                                                                             \
            (R)->alloc_alone = to_ns((double)phase_ticks_[0] / (double)(phase_calls_[0] ? phase_calls_[0] : 1)); \
            (R)->free_alone = to_ns((double)phase_ticks_[1] / (double)(phase_calls_[1] ? phase_calls_[1] : 1)); \
            (R)->switches_phased = (double)switched_;                                            \
            break;                                                                               \
        case SINGLE: (R)->switches_single = (double)switched_, summarize(s_, (PASS), (R)); break; \
        case BATCH: (R)->switches_batch = (double)switched_, summarize(s_, (PASS), (R)); break;  \
        default: break;                                                                          \
        }                                                                                        \
    } while (0)

typedef struct bench {
    trace t, phased;
    uint32_t cells, max_run;
    samples s;
    uintptr_t *handles;   /* by run id, for RECORD and TABLE */
} bench;

/* The trace a pass replays: the phased one for PHASED, else the mixed one. */
static const trace *trace_of(const bench *b, int pass) { return pass == PHASED ? &b->phased : &b->t; }

static carve_segment *seg;
static bitmap bm;
#define SEG_ALLOC(size) carve_segment_alloc(seg, (size))
#define SEG_FREE(cell, size) (void)carve_segment_free(seg, (uint32_t)(cell), (size))
#define BM_ALLOC(size) bitmap_alloc(&bm, (size))
#define BM_FREE(cell, size) bitmap_free(&bm, (uint32_t)(cell), (size))

static void run_segment(bench *b, int pass, const trace *t, uintptr_t *rec, result *r, void *meta, size_t bytes)
{
    carve_segment_config cfg = {.index_begin = 0, .index_end = b->cells, .block_size = 4096, .max_size = b->max_run};
    seg = carve_segment_init(meta, bytes, &cfg);
    if (seg == NULL) abort();
    REPLAY(b, t, rec, CARVE_SEGMENT_NONE, SEG_ALLOC, SEG_FREE, pass, r);
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

static void run_harness(bench *b, int pass, const trace *t, uintptr_t *rec, result *r)
{
    REPLAY(b, t, rec, CARVE_SEGMENT_NONE, NOP_ALLOC, NOP_FREE, pass, r);
}

/* A call of fixed work, about as long as a segment call: FIXED_LOADS dependent loads through
 * a 4 KiB table that stays in L1 (no miss, no data-dependent branch, the same work every call).
 * Its single-op tail is what the machine and the timer give a call of that length: the floor
 * for the segment row's ~ratio (on the Zen 3 guest it reads 4x to 5x where the Zen 5 guest's
 * empty call read 1x). The handle is the chain's end, a function of the size: deterministic. */
#define FIXED_LOADS 8
static uint32_t fixed_table[1024];

static uint32_t fixed_chain(uint32_t start)
{
    uint32_t k = start & 1023u;
    for (int n = 0; n < FIXED_LOADS; n++) k = fixed_table[k];
    return k;
}

#define FIXED_ALLOC(size) fixed_chain(size)
#define FIXED_FREE(h, size) (sink = fixed_chain((uint32_t)(h) + (size)))

static void run_fixed(bench *b, int pass, const trace *t, uintptr_t *rec, result *r)
{
    REPLAY(b, t, rec, CARVE_SEGMENT_NONE, FIXED_ALLOC, FIXED_FREE, pass, r);
}

/* The scan is O(cells) per alloc, so it replays only the first `limit` steady ops of a trace. */
static void run_bitmap(bench *b, int pass, const trace *t, uintptr_t *rec, result *r, size_t limit)
{
    memset(bm.words, 0, bm.nwords * sizeof(uint64_t));
    trace head = *t;
    if (head.n > head.warm + limit) head.n = head.warm + limit;
    REPLAY(b, &head, rec, CARVE_SEGMENT_NONE, BM_ALLOC, BM_FREE, pass, r);
}

#ifdef CARVE_BENCH_HEAP
static carve_heap *heap;
#define HEAP_NONE ((uintptr_t)0)
#define HEAP_ALLOC(size) (uintptr_t)carve_heap_alloc(heap, (size_t)(size) * CELL_BYTES)
#define HEAP_FREE(p, size) ((void)(size), (void)carve_heap_free(heap, (void *)(p)))

static void run_tlsf(bench *b, int pass, const trace *t, uintptr_t *rec, result *r, void *mem, size_t bytes)
{
    carve_heap_config cfg = {.fit = CARVE_FIT_TLSF};
    heap = carve_heap_init(mem, bytes, &cfg);
    if (heap == NULL) abort();
    REPLAY(b, t, rec, HEAP_NONE, HEAP_ALLOC, HEAP_FREE, pass, r);
}
#endif

/* ---- main ------------------------------------------------------------------------------------- */

enum { HARNESS, FIXED, SEGMENT, BITMAP, TLSF, PEERS };
static const char *const names[PEERS] = {"harness", "fixed-work", "segment", "bitmap-scan", "heap-tlsf"};

static double median_of(result *r, size_t reps, size_t field_offset)
{
    double v[64];
    for (size_t k = 0; k < reps; k++) v[k] = *(double *)((char *)&r[k] + field_offset);
    return measure_median_double(v, reps);
}

int main(int argc, char **argv)
{
    uint32_t cells = 1u << 20, max_run = 64, phase = 0;
    size_t steady = 2000000, reps = 7;
    uint64_t seed = 0x5E6;
    size_t bitmap_ops = 20000;
    const char *only = "harness,fixed-work,segment,bitmap-scan,heap-tlsf";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cells")) cells = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--ops")) steady = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--reps")) reps = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--bitmap-ops")) bitmap_ops = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
        else if (!strcmp(argv[i], "--max")) max_run = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--phase")) phase = (uint32_t)strtoul(argv[i + 1], NULL, 0);
    }
    if (reps < 1 || reps > 64 || cells % 4096 != 0 || cells == 0 || max_run < 1 || max_run > 64) {
        fprintf(stderr, "usage: segment_bench [--cells N (a multiple of 4096)] [--max 1..64] [--ops N] "
                        "[--reps 1..64] [--seed N] [--bitmap-ops N] [--phase N] [--only LIST]\n");
        return 2;
    }
    /* Frees per phase: by default about 1% of the cells, so the phased trace swings from 90% to
     * about 89% full and back. */
    if (phase == 0) phase = cells / 100 / ((max_run + 1) / 2);
    if (phase < 32) phase = 32;
    int cpu;
    bool pinned = pin_to_this_cpu(&cpu);
    calibrate();
    bench b = {.t = make_trace(cells, max_run, steady, seed, 1), .phased = make_trace(cells, max_run, steady, seed, phase),
               .cells = cells, .max_run = max_run};
    uint32_t runs = b.t.runs > b.phased.runs ? b.t.runs : b.phased.runs;
    b.handles = malloc(runs * sizeof *b.handles);
    b.s.alloc = malloc(b.t.n * sizeof(uint64_t));
    b.s.free = malloc(b.t.n * sizeof(uint64_t));
    b.s.batch = malloc((b.t.n / BATCH_OPS + 1) * sizeof(uint64_t));
    carve_segment_config cfg = {.index_begin = 0, .index_end = cells, .block_size = 4096, .max_size = max_run};
    size_t meta_bytes = carve_segment_footprint(&cfg);
    void *meta = aligned_alloc(64, (meta_bytes + 63) / 64 * 64);
    for (uint32_t k = 0; k < 1024; k++) fixed_table[k] = (k * 613u + 7u) & 1023u;   /* one cycle of 1024 */
    bm.cells = cells;
    bm.nwords = (cells + 63) / 64;
    bm.words = calloc(bm.nwords, sizeof(uint64_t));
#ifdef CARVE_BENCH_HEAP
    size_t heap_bytes = (size_t)cells * CELL_BYTES * 5 / 4;   /* the cells plus room for headers */
    void *heap_mem = aligned_alloc(64, heap_bytes);
#endif
    printf("segment_bench: %u cells (blocks of 4096), runs of 1..%u cells, 90%% full, %zu steady ops "
           "(+%zu to fill), median of %zu reps; phased trace: %u frees in a row\n", cells, max_run,
           b.t.n - b.t.warm, b.t.warm, reps, phase);
    printf("timer: lfence+rdtsc pairs, overhead (median) %.1f ns (%.1f as grouped data) subtracted; 1 tick = "
           "%.3f ns; step %.2f ticks = %.1f ns (gcd of the samples %llu ticks = %.1f ns); %s CPU %d\n",
           to_ns((double)timer_overhead), to_ns(timer_overhead_interp), ns_per_tick, timer_step, to_ns(timer_step),
           (unsigned long long)timer_step_gcd, to_ns((double)timer_step_gcd), pinned ? "pinned to" : "NOT pinned, on",
           cpu);
    static result res[PEERS][64];
    bool present[PEERS];
    uintptr_t *rec[PEERS][2] = {{0}};
    for (int p = 0; p < PEERS; p++) {
        present[p] = strstr(only, names[p]) != NULL;
#ifndef CARVE_BENCH_HEAP
        if (p == TLSF) present[p] = false;
#endif
        if (!present[p]) continue;
        rec[p][0] = malloc(b.t.n * sizeof(uintptr_t));
        rec[p][1] = malloc(b.phased.n * sizeof(uintptr_t));
    }
    /* rep -1 is a discarded warm-up that records the handles: first touches of the metadata. */
    for (long rep = -1; rep < (long)reps; rep++) {
        size_t slot = rep < 0 ? 0 : (size_t)rep;
        for (int pass = rep < 0 ? RECORD : TABLE; pass <= BATCH; pass++) {
            /* The warm-up records both traces: the mixed one at RECORD, the phased one at PHASED. */
            if (rep < 0 && pass != RECORD && pass != PHASED) continue;
            const trace *t = trace_of(&b, pass);
            int which = t == &b.phased, as = rep < 0 ? RECORD : pass;
            result *r;
            if (present[HARNESS]) r = &res[HARNESS][slot], run_harness(&b, as, t, rec[HARNESS][which], r);
            if (present[FIXED]) r = &res[FIXED][slot], run_fixed(&b, as, t, rec[FIXED][which], r);
            if (present[SEGMENT]) r = &res[SEGMENT][slot], run_segment(&b, as, t, rec[SEGMENT][which], r, meta, meta_bytes);
            if (present[BITMAP]) r = &res[BITMAP][slot], run_bitmap(&b, as, t, rec[BITMAP][which], r, bitmap_ops);
#ifdef CARVE_BENCH_HEAP
            if (present[TLSF]) r = &res[TLSF][slot], run_tlsf(&b, as, t, rec[TLSF][which], r, heap_mem, heap_bytes);
#endif
        }
    }
#define MED(p, field) median_of(res[p], reps, offsetof(result, field))
    double h_ns = present[HARNESS] ? MED(HARNESS, ns_per_op) : 0, h_table = present[HARNESS] ? MED(HARNESS, ns_table) : 0;
    double h_alloc = present[HARNESS] ? MED(HARNESS, alloc_alone) : 0, h_free = present[HARNESS] ? MED(HARNESS, free_alone) : 0;
    printf("\nthroughput, ns per op, no timer per call (net: minus the harness row; the harness row shows its own)\n");
    printf("%-12s %7s %6s | %9s %6s | %-21s | %8s\n", "", "ns/op", "net", "table", "net", "alone: alloc   free",
           "failed%");
    for (int p = 0; p < PEERS; p++) {
        if (!present[p]) continue;
        double allocs = 0;
        size_t end = p == BITMAP && b.t.n > b.t.warm + bitmap_ops ? b.t.warm + bitmap_ops : b.t.n;
        for (size_t k = b.t.warm; k < end; k++) allocs += !b.t.ops[k].is_free;
        bool h = p == HARNESS;
        printf("%-12s %7.1f %6.1f | %9.1f %6.1f | %13.1f %7.1f | %8.3f\n", names[p], MED(p, ns_per_op),
               MED(p, ns_per_op) - (h ? 0 : h_ns), MED(p, ns_table), MED(p, ns_table) - (h ? 0 : h_table),
               MED(p, alloc_alone) - (h ? 0 : h_alloc), MED(p, free_alone) - (h ? 0 : h_free),
               100.0 * (double)res[p][0].failed / allocs);
    }
    printf("\nsingle op, ns, each call timed alone, net of the timer overhead: nearest rank | ~ grouped data\n");
    printf("%-12s | %-18s | %-21s | %-18s | %-21s | %-18s | %s\n", "", "alloc p50 p99 p99.9", "~p50 ~p99.9 ~ratio",
           "free p50 p99 p99.9", "~p50 ~p99.9 ~ratio", "batch/16 p50 p99.9", "preempted");
    for (int p = 0; p < PEERS; p++) {
        if (!present[p]) continue;
        double a50 = MED(p, alloc_p50i), a999 = MED(p, alloc_p999i), f50 = MED(p, free_p50i), f999 = MED(p, free_p999i);
        double b50 = MED(p, batch_p50), b999 = MED(p, batch_p999);
        printf("%-12s | %4.0f %5.0f %7.0f | %5.1f %7.1f %7.1f | %4.0f %5.0f %7.0f | %5.1f %7.1f %7.1f | %6.1f %6.1f %4.1f "
               "| %2.0f %2.0f %2.0f\n", names[p], MED(p, alloc_p50), MED(p, alloc_p99), MED(p, alloc_p999), a50, a999,
               a50 > 0 ? a999 / a50 : 0, MED(p, free_p50), MED(p, free_p99), MED(p, free_p999), f50, f999,
               f50 > 0 ? f999 / f50 : 0, b50, b999, b50 > 0 ? b999 / b50 : 0, MED(p, switches_single),
               MED(p, switches_batch), MED(p, switches_phased));
    }
    if (timer_step != (double)timer_step_gcd) {
        printf("\nthe ~ columns read with the gcd step (%llu ticks, the reading before 2026-12-02), for comparison\n",
               (unsigned long long)timer_step_gcd);
        printf("%-12s | %-21s | %-21s\n", "", "alloc ~p50 ~p99.9 ~ratio", "free ~p50 ~p99.9 ~ratio");
        for (int p = 0; p < PEERS; p++) {
            if (!present[p]) continue;
            double a50 = MED(p, alloc_p50g), a999 = MED(p, alloc_p999g), f50 = MED(p, free_p50g), f999 = MED(p, free_p999g);
            printf("%-12s | %5.1f %7.1f %7.1f | %5.1f %7.1f %7.1f\n", names[p], a50, a999, a50 > 0 ? a999 / a50 : 0, f50,
                   f999, f50 > 0 ? f999 / f50 : 0);
        }
    }
#undef MED
    printf("(every figure: the median over the reps of that figure within a rep. ns/op: untimed steady replay, CPU\n"
           " time / ops, handles read from the recorded sequence; table: handles from a table by run id. alone: the\n"
           " phased trace, ticks of the alloc runs and of the free runs / their calls. ~: quantiles read as grouped\n"
           " data, see interp_quantile. batch: 16 consecutive calls timed together, / 16. preempted: involuntary\n"
           " context switches in the single-op, batch and phased passes. failed%%: steady allocs that found no room.\n"
           " bitmap-scan replays only the first %zu steady ops of each trace)\n", bitmap_ops);
    free(meta);
#ifdef CARVE_BENCH_HEAP
    free(heap_mem);
#endif
    for (int p = 0; p < PEERS; p++) free(rec[p][0]), free(rec[p][1]);
    free(bm.words);
    free(b.handles);
    free(b.s.alloc);
    free(b.s.free);
    free(b.s.batch);
    free(b.t.ops);
    free(b.phased.ops);
    return 0;
}
