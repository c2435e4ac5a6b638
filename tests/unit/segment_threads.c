/*
 * tests/unit/segment_threads.c: CARVE_SEGMENT_THREADSAFE. Two threads allocate and free runs of
 * one allocator while the main thread checks it; an atomic owner per cell proves that no cell is
 * ever handed out twice (each run is claimed cell by cell with an exchange that must find 0).
 * Runs under TSan too (label thread), which also checks that the lock orders every access.
 */
#include "carve/segment.h"
#include "carve_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define BEGIN 100u
#define CELLS (64u * 256u + 16u)   /* 64 blocks of 256 and a short block of 16 */
#define WORKERS 2

static carve_segment *shared;
static _Atomic uint32_t owner[CELLS];   /* 0 = nobody, else the worker's id */
static atomic_ulong errors, done_workers;
static uint64_t ops_per_worker;
static pthread_barrier_t start;   /* the workers begin together, so they overlap */

typedef struct worker {
    uint32_t id;
    uint64_t seed;
    uint64_t live_cells, allocs, frees;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    test_rng rng = {w->seed};
    uint32_t *cells = malloc(CELLS * sizeof *cells), *sizes = malloc(CELLS * sizeof *sizes), live = 0;
    pthread_barrier_wait(&start);
    for (uint64_t op = 0; op < ops_per_worker; op++) {
        if (live > 0 && (test_rng_below(&rng, 100) < 45 || live > CELLS / 8)) {
            uint32_t j = (uint32_t)test_rng_below(&rng, live), cell = cells[j], size = sizes[j];
            /* Release the cells before the free: afterwards the other thread may get them. */
            for (uint32_t c = 0; c < size; c++)
                if (atomic_exchange(&owner[cell - BEGIN + c], 0) != w->id) atomic_fetch_add(&errors, 1);
            if (carve_segment_free(shared, cell, size) != CARVE_OK) atomic_fetch_add(&errors, 1);
            w->live_cells -= size;
            w->frees++;
            cells[j] = cells[--live], sizes[j] = sizes[live];
        } else {
            uint32_t size = (uint32_t)test_rng_range(&rng, 1, 16), cell = carve_segment_alloc(shared, size);
            if (cell == CARVE_SEGMENT_NONE) continue;
            if (cell < BEGIN || cell - BEGIN + size > CELLS) {
                atomic_fetch_add(&errors, 1);
                continue;
            }
            for (uint32_t c = 0; c < size; c++)
                if (atomic_exchange(&owner[cell - BEGIN + c], w->id) != 0) atomic_fetch_add(&errors, 1);
            cells[live] = cell, sizes[live++] = size;
            w->live_cells += size;
            w->allocs++;
        }
    }
    free(cells);
    free(sizes);
    atomic_fetch_add(&done_workers, 1);
    return NULL;
}

START_TEST(two_threads_never_share_a_cell)
{
    carve_segment_config cfg = {.index_begin = BEGIN, .index_end = BEGIN + CELLS, .block_size = 256,
                                .max_size = 16, .flags = CARVE_SEGMENT_THREADSAFE};
    size_t bytes = carve_segment_footprint(&cfg);
    void *meta = malloc(bytes);
    shared = carve_segment_init(meta, bytes, &cfg);
    ck_assert_ptr_nonnull(shared);
    ops_per_worker = 300000 * test_scale();
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, WORKERS), 0);
    pthread_t t[WORKERS];
    worker w[WORKERS];
    for (uint32_t k = 0; k < WORKERS; k++) {
        w[k] = (worker){.id = k + 1, .seed = test_seed() + k};
        ck_assert_int_eq(pthread_create(&t[k], NULL, work, &w[k]), 0);
    }
    /* The main thread checks, walks the stats and the invariants while the workers run. */
    size_t checks = 0;
    while (atomic_load(&done_workers) < WORKERS) {
        size_t bad = carve_segment_check(shared);
        if (bad != 0) CARVE_FAILF(test_seed(), "carve_segment_check = %zu during the run", bad);
        carve_stats st;
        carve_stats_init(&st);
        carve_segment_stats(shared, &st);
        if (st.used > CELLS) CARVE_FAILF(test_seed(), "stats.used %zu above the capacity", st.used);
        checks++;
        sched_yield();   /* 2 workers and this checker may share fewer cores: let them run */
    }
    for (uint32_t k = 0; k < WORKERS; k++) ck_assert_int_eq(pthread_join(t[k], NULL), 0);
    pthread_barrier_destroy(&start);
    if (atomic_load(&errors) != 0)
        CARVE_FAILF(test_seed(), "%lu cells handed out twice or bad frees", (unsigned long)atomic_load(&errors));
    ck_assert_uint_eq(carve_segment_check(shared), 0);
    carve_stats st;
    carve_stats_init(&st);
    carve_segment_stats(shared, &st);
    ck_assert_uint_eq(st.used, w[0].live_cells + w[1].live_cells);
    ck_assert_uint_eq(st.allocs, w[0].allocs + w[1].allocs);
    ck_assert_uint_eq(st.frees, w[0].frees + w[1].frees);
    ck_assert_uint_gt(w[0].allocs, 0);
    ck_assert_uint_gt(w[1].allocs, 0);
    ck_assert_uint_gt(checks, 0);
    free(meta);
}
END_TEST

static Suite *segment_threads_suite(void)
{
    Suite *s = suite_create("segment_threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, two_threads_never_share_a_cell);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(segment_threads_suite)
