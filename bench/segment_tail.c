/*
 * bench/segment_tail.c: where the single-op tail of the segment allocator comes from. A
 * diagnostic for docs/segment.md ("Where the tail comes from"), not part of `make bench`.
 *
 * Method: segment_bench's mixed trace (bench/segment_trace.h), the handles recorded once, then
 * --rounds rounds; each round replays the steady state once per mode, in an order that rotates
 * from round to round, each on a fresh allocator, every alloc and free timed alone (lfence;
 * rdtsc pairs) like segment_bench's single-op pass. The modes differ only in what is done just
 * before a call is timed, outside the timed interval:
 *   as is       nothing;
 *   touch all   load the metadata the call is about to read: for a free, its block's head, its
 *               mask word and the head of its Size's partial list (whose prev a free into a full
 *               block writes); for an alloc, the head of the Size's partial list, its first
 *               group's mask word and its successor's head; the handle's hot line in both;
 *   touch mask  only the mask word;
 *   touch heads only the heads and the handle's lines.
 * A call whose lines were just loaded cannot miss on them: the difference between "as is" and
 * "touch all" is what the metadata's cache misses add to each quantile. Printed per mode: the
 * median [min .. max] over the rounds of the round's nearest-rank p50, p99 and p99.9, in ns,
 * net of the mean of an empty timed pair (the counter moves in steps of about 10 ns on the VMs
 * measured, so these are steps minus a constant). Reads the allocator's layout
 * (src/segment_layout.h) to find the lines, as the unit test does.
 * Usage: segment_tail [--cells N] [--max N] [--ops N] [--rounds N]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sched_setaffinity, sched_getcpu */
#endif
#include "carve/segment.h"
#include "measure.h"
#include "segment_layout.h"
#include "segment_timing.h"
#include "segment_trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { AS_IS, TOUCH_ALL, TOUCH_MASK, TOUCH_HEADS, MODES };
static const char *const mode_names[MODES] = {"as is", "touch all", "touch mask", "touch heads"};

static volatile uint64_t sink;   /* the touches' loads land here, so they are not dropped */

static void touch_before_free(const carve_segment *s, int mode, uint32_t cell, uint32_t size)
{
    uint32_t offset = cell - s->begin, i = seg_block_of(s, offset);
    uint32_t segment = seg_index_of(s, offset - s->block_size * i, size);
    const seg_head *b = &s->heads[i];
    if (mode == TOUCH_ALL || mode == TOUCH_MASK) sink += *seg_mask(s, i, segment / 64);
    if (mode == TOUCH_ALL || mode == TOUCH_HEADS) {
        uint32_t head = s->by_size[size].partial_head;
        sink += b->group_mask + b->status + s->live_cells + seg_link(s, head)->prev;
    }
}

static void touch_before_alloc(const carve_segment *s, int mode, uint32_t size)
{
    uint32_t i = s->by_size[size].partial_head;
    if (i == SEG_NIL) return;
    const seg_head *b = &s->heads[i];
    uint64_t groups = b->group_mask;
    if ((mode == TOUCH_ALL || mode == TOUCH_MASK) && groups != 0)
        sink += *seg_mask(s, i, (unsigned)__builtin_ctzll(groups));
    if (mode == TOUCH_ALL || mode == TOUCH_HEADS) sink += groups + b->status + s->live_cells + seg_link(s, b->next)->prev;
}

#define MAX_ROUNDS 64
static const double quantiles[3] = {0.5, 0.99, 0.999};

int main(int argc, char **argv)
{
    uint32_t cells = 1u << 20, max_run = 64;
    size_t steady = 1000000, rounds = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cells")) cells = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--max")) max_run = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--ops")) steady = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--rounds")) rounds = strtoull(argv[i + 1], NULL, 0);
    }
    if (cells == 0 || cells % 4096 != 0 || max_run < 1 || max_run > 64 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: segment_tail [--cells N (a multiple of 4096)] [--max 1..64] [--ops N] [--rounds 1..64]\n");
        return 2;
    }
    int cpu;
    bool pinned = pin_to_this_cpu(&cpu);

    /* ns per tick, and the mean of an empty timed pair (the mean: the counter's phases average). */
    uint64_t t0 = ticks(), n0 = measure_now_ns();
    while (measure_now_ns() - n0 < 50000000) {}
    double ns_per_tick = (double)(measure_now_ns() - n0) / (double)(ticks() - t0);
    double overhead = 0;
    for (int k = 0; k < 100000; k++) {
        uint64_t a = ticks();
        overhead += (double)(ticks() - a);
    }
    overhead /= 100000;

    trace t = make_trace(cells, max_run, steady, 0x5E6, 1);
    carve_segment_config cfg = {.index_begin = 0, .index_end = cells, .block_size = 4096, .max_size = max_run};
    size_t bytes = carve_segment_footprint(&cfg);
    void *meta = aligned_alloc(64, (bytes + 63) / 64 * 64);
    uint32_t *by_run = malloc(t.runs * sizeof *by_run), *record = malloc(t.n * sizeof *record);
    uint64_t *alloc_ticks = malloc(t.n * sizeof *alloc_ticks), *free_ticks = malloc(t.n * sizeof *free_ticks);
    if (meta == NULL || by_run == NULL || record == NULL || alloc_ticks == NULL || free_ticks == NULL) return 1;
    carve_segment *s = carve_segment_init(meta, bytes, &cfg);
    for (size_t k = 0; k < t.n; k++) {   /* the handles, recorded in trace order */
        const op *o = &t.ops[k];
        if (o->is_free) {
            record[k] = by_run[o->id];
            if (record[k] != CARVE_SEGMENT_NONE) carve_segment_free(s, record[k], o->size);
        } else {
            record[k] = by_run[o->id] = carve_segment_alloc(s, o->size);
        }
    }

    static double figures[MODES][2][3][MAX_ROUNDS];   /* [mode][free?][quantile][round], ns */
    for (size_t r = 0; r < rounds; r++)
        for (int j = 0; j < MODES; j++) {
            int mode = (int)((r + (size_t)j) % MODES);
            s = carve_segment_init(meta, bytes, &cfg);
            size_t nalloc = 0, nfree = 0;
            for (size_t k = 0; k < t.n; k++) {
                const op *o = &t.ops[k];
                uint32_t h = record[k];
                bool steady_op = k >= t.warm;
                if (k + 512 < t.n) __builtin_prefetch(&t.ops[k + 512]), __builtin_prefetch(&record[k + 512]);
                if (o->is_free) {
                    if (h == CARVE_SEGMENT_NONE) continue;
                    if (steady_op && mode != AS_IS) touch_before_free(s, mode, h, o->size);
                    uint64_t a = ticks();
                    carve_segment_free(s, h, o->size);
                    uint64_t d = ticks() - a;
                    if (steady_op) free_ticks[nfree++] = d;
                } else {
                    if (steady_op && mode != AS_IS) touch_before_alloc(s, mode, o->size);
                    uint64_t a = ticks();
                    uint32_t cell = carve_segment_alloc(s, o->size);
                    uint64_t d = ticks() - a;
                    if (steady_op) alloc_ticks[nalloc++] = d;
                    if (cell != h) {
                        fprintf(stderr, "segment_tail: an alloc returned another cell than recorded\n");
                        return 1;
                    }
                }
            }
            if (carve_segment_check(s) != 0) {
                fprintf(stderr, "segment_tail: carve_segment_check failed\n");
                return 1;
            }
            for (int q = 0; q < 3; q++) {   /* (the first sorts; the others find the samples sorted) */
                figures[mode][0][q][r] = ((double)measure_quantile_u64(alloc_ticks, nalloc, quantiles[q]) - overhead) * ns_per_tick;
                figures[mode][1][q][r] = ((double)measure_quantile_u64(free_ticks, nfree, quantiles[q]) - overhead) * ns_per_tick;
            }
        }

    printf("segment_tail: %u cells, runs of 1..%u, %zu steady ops, %zu rounds; %s CPU %d; empty timed pair %.1f ns "
           "(mean, subtracted)\n", cells, max_run, t.n - t.warm, rounds, pinned ? "pinned to" : "NOT pinned, on", cpu,
           overhead * ns_per_tick);
    printf("single op, ns, nearest rank: median [min .. max] over the rounds\n");
    printf("%-12s | %-68s | %s\n", "", "alloc p50, p99, p99.9", "free p50, p99, p99.9");
    for (int mode = 0; mode < MODES; mode++) {
        printf("%-12s", mode_names[mode]);
        for (int f = 0; f < 2; f++) {
            printf(" |");
            for (int q = 0; q < 3; q++) {
                double *v = figures[mode][f][q], median = measure_median_double(v, rounds);   /* sorts v */
                printf(" %5.1f [%5.1f .. %5.1f]", median, v[0], v[rounds - 1]);
            }
        }
        printf("\n");
    }
    free(meta), free(by_run), free(record), free(alloc_ticks), free(free_ticks), free(t.ops);
    return 0;
}
