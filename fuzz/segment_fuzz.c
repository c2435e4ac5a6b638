/* fuzz/segment_fuzz.c: libFuzzer harness for the segment allocator. The first bytes choose a
 * configuration (any numbers: a config that breaks a rule must give footprint 0 and init NULL);
 * the rest is a sequence of alloc, free of a live run, and free of an arbitrary (cell, size).
 * A shadow owner map catches a cell handed out twice; every status is compared with what the
 * shadow says; carve_segment_check runs after every operation; at the end the live runs are
 * rebuilt into a second allocator, which must walk the same. */
#include "carve/segment.h"
#include "fuzz_input.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS 8192u

/* A number of `bytes` bytes from the input (0 past its end). */
static uint32_t take(fuzz_input *in, unsigned bytes) { return (uint32_t)fuzz_take(in, bytes); }

static uint32_t owner[MAX_CELLS];             /* 1 + the live run's index, 0 = free */
static carve_segment_run live[MAX_CELLS];
static uint32_t nlive;

typedef struct walk_sum {
    uint64_t used_hash, cells;
} walk_sum;

static void sum_run(void *ctx, const carve_block_info *b)
{
    walk_sum *w = ctx;
    w->cells += b->size;
    if (b->payload != 0) w->used_hash = w->used_hash * 1000003u + b->start * 65u + b->size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input c = {data, size};
    carve_segment_config cfg = {.index_begin = take(&c, 2), .block_size = 64 * (take(&c, 1) % 66),
                                .max_size = take(&c, 1) % 70};
    cfg.index_end = cfg.index_begin + take(&c, 2) % (MAX_CELLS + 1);
    size_t bytes = carve_segment_footprint(&cfg);
    uint32_t total = cfg.index_end - cfg.index_begin, tail = cfg.block_size ? total % cfg.block_size : 0;
    bool valid = total > 0 && cfg.max_size >= 1 && cfg.max_size <= 64 && cfg.block_size >= 64 &&
                 cfg.block_size <= 4096 && !(tail >= 1 && tail < cfg.max_size);
    if (!valid) {
        if (bytes != 0) abort();
        return 0;
    }
    void *meta = malloc(bytes), *meta2 = malloc(bytes);
    carve_segment *s = carve_segment_init(meta, bytes, &cfg);
    if (s == NULL) abort();
    memset(owner, 0, total * sizeof owner[0]);
    nlive = 0;
    while (c.n > 0) {
        uint32_t op = take(&c, 1) % 4;
        if (op <= 1) {
            uint32_t sz = take(&c, 1) % (cfg.max_size + 2);   /* 0 and max + 1 too */
            uint32_t cell = carve_segment_alloc(s, sz);
            if (cell == CARVE_SEGMENT_NONE) continue;
            if (sz == 0 || sz > cfg.max_size || cell < cfg.index_begin || cfg.index_end - cell < sz) abort();
            for (uint32_t k = 0; k < sz; k++)
                if (owner[cell - cfg.index_begin + k] != 0) abort();   /* handed out twice */
            live[nlive] = (carve_segment_run){cell, sz};
            nlive++;
            for (uint32_t k = 0; k < sz; k++) owner[cell - cfg.index_begin + k] = nlive;
        } else if (op == 2 && nlive > 0) {
            uint32_t j = take(&c, 2) % nlive;
            carve_segment_run r = live[j];
            if (carve_segment_free(s, r.cell, r.size) != CARVE_OK) abort();
            for (uint32_t k = 0; k < r.size; k++) owner[r.cell - cfg.index_begin + k] = 0;
            live[j] = live[--nlive];
            if (j < nlive)
                for (uint32_t k = 0; k < live[j].size; k++) owner[live[j].cell - cfg.index_begin + k] = j + 1;
        } else {
            uint32_t cell = cfg.index_begin - 2 + take(&c, 2) % (total + 4), sz = take(&c, 1) % 70;
            bool is_live = sz >= 1 && cell >= cfg.index_begin && cell < cfg.index_end &&
                           owner[cell - cfg.index_begin] != 0 &&
                           live[owner[cell - cfg.index_begin] - 1].cell == cell &&
                           live[owner[cell - cfg.index_begin] - 1].size == sz;
            if (is_live) continue;
            carve_status st = carve_segment_free(s, cell, sz);
            if (st == CARVE_OK) abort();                                   /* freed a non-run */
            if ((sz == 0 || sz > cfg.max_size) != (st == CARVE_EINVAL)) abort();
        }
        if (carve_segment_check(s) != 0) abort();
    }
    carve_segment *s2 = carve_segment_init(meta2, bytes, &cfg);
    if (carve_segment_rebuild(s2, live, nlive, NULL) != CARVE_OK || carve_segment_check(s2) != 0) abort();
    walk_sum a = {0}, b = {0};
    carve_segment_walk(s, sum_run, &a);
    carve_segment_walk(s2, sum_run, &b);
    if (a.used_hash != b.used_hash || a.cells != total || b.cells != total) abort();
    free(meta);
    free(meta2);
    return 0;
}
