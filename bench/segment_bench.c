/*
 * bench/segment_bench.c: the segment allocator's speed, side by side with a plain bitmap scan
 * (written here) and, when the region heap is in the tree, its TLSF policy, on the same runs.
 *
 * Workload: one trace, generated once and replayed by every allocator. Runs of 1..64 cells
 * (uniform) are allocated until 90% of the range's cells are live, then the trace alternates so
 * that the live cells stay at 90%: allocate when the next size still fits under 90%, else free a
 * random live run. An alloc that fails is counted; the trace's later free of it is skipped.
 *
 * Figures (each the median over --reps replays, each replay on a fresh allocator):
 *   ns/op      the whole steady-state replay timed with clock_gettime, divided by its ops: no
 *              per-operation timer in the loop. The `harness` row replays the trace through an
 *              allocator that does nothing: its ns/op is the loop's share of every other row.
 *   alloc/free mean, median, p99.9 of single operations, timed with lfence; rdtsc; lfence around
 *              each call (x86-64) and converted with the TSC rate calibrated against
 *              clock_gettime. The median cost of an empty timed pair (the timer overhead) is
 *              measured first and subtracted from every sample, clamped at 0.
 * The bitmap scan costs O(cells) per alloc: it replays only the first --bitmap-ops steady ops.
 * Usage: segment_bench [--cells N] [--ops N] [--reps N] [--seed N] [--bitmap-ops N]
 *                      [--only harness,segment,bitmap-scan,heap-tlsf]
 */
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

static trace make_trace(uint32_t cells, size_t steady, uint64_t seed)
{
    uint64_t target = (uint64_t)cells * 9 / 10, live_cells = 0;
    size_t cap = steady + cells;   /* the warm-up takes at most one op per cell */
    trace t = {.ops = malloc(cap * sizeof(op))};
    /* Ids are slots, reused after a free, so the replay's handle table stays as small as the
     * live set (and in cache): the harness, not the allocator, would otherwise miss. */
    uint32_t *live = malloc(cells * sizeof *live), nlive = 0;
    uint32_t *spare = malloc(cells * sizeof *spare), nspare = 0;
    uint16_t *size_of = malloc(cells * sizeof *size_of);
    uint16_t next = (uint16_t)(1 + rng_next(&seed) % 64);
    while (t.n < cap && (t.warm == 0 || t.n < t.warm + steady)) {
        if (live_cells + next <= target) {
            uint32_t id = nspare > 0 ? spare[--nspare] : t.runs++;
            t.ops[t.n++] = (op){.id = id, .size = next};
            size_of[id] = next;
            live[nlive++] = id;
            live_cells += next;
            next = (uint16_t)(1 + rng_next(&seed) % 64);
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

typedef struct result {
    double ns_per_op;
    double alloc_mean, alloc_median, alloc_p999;
    double free_mean, free_median, free_p999;
    size_t failed;
} result;

typedef struct samples {
    uint64_t *alloc, *free;
    size_t nalloc, nfree;
} samples;

static double to_ns(uint64_t t) { return (double)t * ns_per_tick; }

static void summarize(samples *s, result *r)
{
    double sum = 0;
    for (size_t k = 0; k < s->nalloc; k++) sum += (double)s->alloc[k];
    r->alloc_mean = s->nalloc ? to_ns((uint64_t)(sum / (double)s->nalloc)) : 0;
    sum = 0;
    for (size_t k = 0; k < s->nfree; k++) sum += (double)s->free[k];
    r->free_mean = s->nfree ? to_ns((uint64_t)(sum / (double)s->nfree)) : 0;
    r->alloc_median = to_ns(measure_quantile_u64(s->alloc, s->nalloc, 0.5));
    r->alloc_p999 = to_ns(measure_quantile_u64(s->alloc, s->nalloc, 0.999));
    r->free_median = to_ns(measure_quantile_u64(s->free, s->nfree, 0.5));
    r->free_p999 = to_ns(measure_quantile_u64(s->free, s->nfree, 0.999));
}

static uint64_t minus_overhead(uint64_t t) { return t > timer_overhead ? t - timer_overhead : 0; }

/* One replay of trace T through ALLOC(size) -> handle (NONE_ on failure) and FREE(handle, size),
 * into result R: timed, per-op samples; untimed, the steady state's ns/op and failures. */
#define REPLAY(B, T, NONE_, ALLOC, FREE, TIMED, R)                                               \
    do {                                                                                         \
        uint64_t start_ = 0;                                                                     \
        size_t failed_ = 0;                                                                      \
        samples *s_ = &(B)->s;                                                                   \
        s_->nalloc = s_->nfree = 0;                                                              \
        for (size_t k_ = 0; k_ < (T)->n; k_++) {                                                 \
            const op *o_ = &(T)->ops[k_];                                                        \
            if (k_ == (T)->warm) start_ = measure_now_ns();                                      \
            bool measured_ = (TIMED) && k_ >= (T)->warm;                                         \
            if (o_->is_free) {                                                                   \
                uintptr_t h_ = (B)->handles[o_->id];   /* loaded before the timer starts */       \
                if (h_ == (NONE_)) continue;                                                     \
                uint64_t t0_ = measured_ ? ticks() : 0;                                          \
                FREE(h_, o_->size);                                                              \
                if (measured_) s_->free[s_->nfree++] = minus_overhead(ticks() - t0_);            \
            } else {                                                                             \
                uint64_t t0_ = measured_ ? ticks() : 0;                                          \
                uintptr_t h_ = (uintptr_t)ALLOC(o_->size);                                       \
                if (measured_) s_->alloc[s_->nalloc++] = minus_overhead(ticks() - t0_);          \
                (B)->handles[o_->id] = h_;                                                       \
                if (h_ == (NONE_)) failed_++;                                                    \
            }                                                                                    \
        }                                                                                        \
        uint64_t total_ = measure_now_ns() - start_;                                             \
        if (TIMED) summarize(s_, (R));                                                           \
        else (R)->ns_per_op = (double)total_ / (double)((T)->n - (T)->warm), (R)->failed = failed_; \
    } while (0)

typedef struct bench {
    trace t;
    uint32_t cells;
    samples s;
    uintptr_t *handles;
} bench;

static carve_segment *seg;
static bitmap bm;
#define SEG_ALLOC(size) carve_segment_alloc(seg, (size))
#define SEG_FREE(cell, size) (void)carve_segment_free(seg, (uint32_t)(cell), (size))
#define BM_ALLOC(size) bitmap_alloc(&bm, (size))
#define BM_FREE(cell, size) bitmap_free(&bm, (uint32_t)(cell), (size))

static void run_segment(bench *b, bool timed, result *r, void *meta, size_t bytes)
{
    carve_segment_config cfg = {.index_begin = 0, .index_end = b->cells, .block_size = 4096, .max_size = 64};
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

static void run_harness(bench *b, bool timed, result *r)
{
    REPLAY(b, &b->t, CARVE_SEGMENT_NONE, NOP_ALLOC, NOP_FREE, timed, r);
}

/* The scan is O(cells) per alloc, so it replays only the first `limit` steady ops of the trace. */
static void run_bitmap(bench *b, bool timed, result *r, size_t limit)
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

static void run_tlsf(bench *b, bool timed, result *r, void *mem, size_t bytes)
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
    uint32_t cells = 1u << 20;
    size_t steady = 2000000, reps = 5;
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
    }
    if (reps < 1 || reps > 64 || cells % 4096 != 0 || cells == 0) {
        fprintf(stderr, "usage: segment_bench [--cells N (a multiple of 4096)] [--ops N] [--reps 1..64] [--seed N]\n");
        return 2;
    }
    calibrate();
    bench b = {.t = make_trace(cells, steady, seed), .cells = cells};
    b.handles = malloc(b.t.runs * sizeof *b.handles);
    b.s.alloc = malloc(b.t.n * sizeof(uint64_t));
    b.s.free = malloc(b.t.n * sizeof(uint64_t));
    carve_segment_config cfg = {.index_begin = 0, .index_end = cells, .block_size = 4096, .max_size = 64};
    size_t meta_bytes = carve_segment_footprint(&cfg);
    void *meta = aligned_alloc(64, (meta_bytes + 63) / 64 * 64);
    bm.cells = cells;
    bm.nwords = (cells + 63) / 64;
    bm.words = calloc(bm.nwords, sizeof(uint64_t));
#ifdef CARVE_BENCH_HEAP
    size_t heap_bytes = (size_t)cells * CELL_BYTES * 5 / 4;   /* the cells plus room for headers */
    void *heap_mem = aligned_alloc(64, heap_bytes);
#endif
    printf("segment_bench: %u cells (blocks of 4096), runs of 1..64 cells, 90%% full, %zu steady ops "
           "(+%zu to fill), median of %zu reps\n", cells, b.t.n - b.t.warm, b.t.warm, reps);
    printf("timer: lfence+rdtsc pairs, overhead %.1f ns subtracted; 1 tick = %.3f ns; resolution %.1f ns\n",
           to_ns(timer_overhead), ns_per_tick, to_ns(timer_step));
    static result res[PEERS][64];
    bool present[PEERS];
    for (int p = 0; p < PEERS; p++) present[p] = strstr(only, names[p]) != NULL;
#ifndef CARVE_BENCH_HEAP
    present[TLSF] = false;
#endif
    /* rep -1 is a discarded warm-up: first touches of the metadata and the handle table. */
    for (long rep = -1; rep < (long)reps; rep++) {
        size_t slot = rep < 0 ? 0 : (size_t)rep;
        for (int timed = 0; timed <= 1; timed++) {
            if (present[HARNESS]) run_harness(&b, timed, &res[HARNESS][slot]);
            if (present[SEGMENT]) run_segment(&b, timed, &res[SEGMENT][slot], meta, meta_bytes);
            if (present[BITMAP]) run_bitmap(&b, timed, &res[BITMAP][slot], bitmap_ops);
#ifdef CARVE_BENCH_HEAP
            if (present[TLSF]) run_tlsf(&b, timed, &res[TLSF][slot], heap_mem, heap_bytes);
#endif
        }
    }
    printf("%-12s %9s %9s %9s %9s %10s %9s %9s %10s %9s %8s\n", "allocator", "ns/op", "best", "alloc",
           "median", "p99.9", "free", "median", "p99.9", "p99.9/med", "failed%");
    for (int p = 0; p < PEERS; p++) {
        if (!present[p]) continue;
        result *r = res[p];
#define MED(field) median_of(r, reps, offsetof(result, field))
        double allocs = 0;
        size_t end = p == BITMAP && b.t.n > b.t.warm + bitmap_ops ? b.t.warm + bitmap_ops : b.t.n;
        for (size_t k = b.t.warm; k < end; k++) allocs += !b.t.ops[k].is_free;
        /* A median below the timer's resolution (the harness) makes the ratio meaningless: 0. */
        double step = to_ns(timer_step) / 2;
        double ra = MED(alloc_median) > step ? MED(alloc_p999) / MED(alloc_median) : 0;
        double rf = MED(free_median) > step ? MED(free_p999) / MED(free_median) : 0;
        double worst = ra > rf ? ra : rf;
        double best = r[0].ns_per_op;
        for (size_t k = 1; k < reps; k++) best = r[k].ns_per_op < best ? r[k].ns_per_op : best;
        printf("%-12s %9.1f %9.1f %9.1f %9.1f %10.1f %9.1f %9.1f %10.1f %9.2f %8.3f\n", names[p],
               MED(ns_per_op), best, MED(alloc_mean), MED(alloc_median), MED(alloc_p999), MED(free_mean),
               MED(free_median), MED(free_p999), worst, 100.0 * (double)r[0].failed / allocs);
#undef MED
    }
    printf("(ns/op: steady replay / ops, untimed loop, median and best of the reps;\n"
           " alloc, free: single-op mean, median, p99.9 in ns;\n"
           " p99.9/med: the worse of alloc and free; failed%%: steady allocs that found no room;\n"
           " bitmap-scan replays only the first %zu steady ops)\n", bitmap_ops);
    free(meta);
#ifdef CARVE_BENCH_HEAP
    free(heap_mem);
#endif
    free(bm.words);
    free(b.handles);
    free(b.s.alloc);
    free(b.s.free);
    free(b.t.ops);
    return 0;
}
