/*
 * bench/segment_trace.h: the segment benchmarks' workload (bench/segment_bench.c, bench/segment_ab.c).
 * Runs of 1..max_run cells (uniform) are allocated until 90% of the range's cells are live; then,
 * whenever the next size does not fit under 90%, `phase` random live runs are freed in a row
 * (phase 1: the mixed trace, one free at a time), and allocation resumes. Generated once from a
 * seed, replayed by every allocator. Header-only (static functions): include it in one file.
 */
#ifndef CARVE_BENCH_SEGMENT_TRACE_H
#define CARVE_BENCH_SEGMENT_TRACE_H

#include <stdint.h>
#include <stdlib.h>

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

/* The steady state frees `phase` random live runs in a row whenever the next size does not fit
 * under 90% (1: the mixed trace, one free at a time), then allocates again. */
static trace make_trace(uint32_t cells, uint32_t max_run, size_t steady, uint64_t seed, uint32_t phase)
{
    uint64_t target = (uint64_t)cells * 9 / 10, live_cells = 0;
    size_t cap = steady + cells;   /* the warm-up takes at most one op per cell */
    trace t = {.ops = malloc(cap * sizeof(op))};
    /* Ids are slots, reused after a free, so the handle table stays as small as the live set. */
    uint32_t *live = malloc(cells * sizeof *live), nlive = 0;
    uint32_t *spare = malloc(cells * sizeof *spare), nspare = 0;
    uint16_t *size_of = malloc(cells * sizeof *size_of);
    uint16_t next = (uint16_t)(1 + rng_next(&seed) % max_run);
    uint32_t frees_left = 0;
    while (t.n < cap && (t.warm == 0 || t.n < t.warm + steady)) {
        if (frees_left == 0 && live_cells + next <= target) {
            uint32_t id = nspare > 0 ? spare[--nspare] : t.runs++;
            t.ops[t.n++] = (op){.id = id, .size = next};
            size_of[id] = next;
            live[nlive++] = id;
            live_cells += next;
            next = (uint16_t)(1 + rng_next(&seed) % max_run);
        } else {
            if (t.warm == 0) t.warm = t.n;
            if (frees_left == 0) frees_left = phase;
            frees_left--;
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

#endif /* CARVE_BENCH_SEGMENT_TRACE_H */
