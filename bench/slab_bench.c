/*
 * bench/slab_bench.c: the slab cache against the process's malloc (glibc, or a peer through
 * LD_PRELOAD) on one sequence of mixed sizes from 8 to 2048 bytes.
 *
 * The sequence: WINDOW live slots; each step picks a slot at random, frees what it holds and
 * allocates a new size there, so frees come in random order. Sizes are log-uniform (8 << k,
 * k in 0..7, plus a uniform part of that octave) or uniform in 8..2048. Both allocators replay
 * the same steps, interleaved run by run; the figure is the median ns per alloc+free pair.
 *
 *   slab_bench [--runs R] [--steps N]
 */
#include "carve/slab.h"
#include "measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 4096
#if defined(__clang__) /* clang has no noipa; its noinline also keeps the call (make fuzz builds this) */
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa, noinline))
#endif

typedef struct step { uint32_t slot, size; } step;
static void *slots[WINDOW];
static void *volatile sink;

static uint64_t rng_state = 0x5eedull;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

NOIPA static void run_slab(carve_slab *s, const step *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void **slot = &slots[st[i].slot];
        if (*slot != NULL) carve_slab_free(s, *slot);
        sink = *slot = carve_slab_alloc(s, st[i].size);
    }
    for (size_t i = 0; i < WINDOW; i++) {
        carve_slab_free(s, slots[i]);
        slots[i] = NULL;
    }
}
NOIPA static void run_malloc(const step *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void **slot = &slots[st[i].slot];
        free(*slot);
        sink = *slot = malloc(st[i].size);
    }
    for (size_t i = 0; i < WINDOW; i++) {
        free(slots[i]);
        slots[i] = NULL;
    }
}

int main(int argc, char **argv)
{
    size_t runs = 7, n = 4u << 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0) runs = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--steps") == 0) n = strtoull(argv[i + 1], NULL, 0);
    }
    if (runs > 64) runs = 64;
    step *st = malloc(n * sizeof *st);
    const char *dists[] = {"log-uniform 8..2048", "uniform 8..2048"};
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < n; i++) {
            uint32_t size;
            if (d == 0) {
                uint32_t lo = 8u << (rng() % 8);
                size = lo + (uint32_t)(rng() % lo);
                if (size > 2048) size = 2048;
            } else {
                size = 8 + (uint32_t)(rng() % 2041);
            }
            st[i] = (step){(uint32_t)(rng() % WINDOW), size};
        }
        carve_slab *s = carve_slab_create(NULL);
        double ts[64], tm[64];
        run_slab(s, st, n / 8); /* warm up both */
        run_malloc(st, n / 8);
        for (size_t r = 0; r < runs; r++) {
            uint64_t t0 = measure_now_ns();
            run_slab(s, st, n);
            uint64_t t1 = measure_now_ns();
            run_malloc(st, n);
            uint64_t t2 = measure_now_ns();
            ts[r] = (double)(t1 - t0) / (double)n;
            tm[r] = (double)(t2 - t1) / (double)n;
        }
        carve_stats stats;
        carve_stats_init(&stats);
        carve_slab_stats(s, &stats);
        double ms = measure_median_double(ts, runs), mm = measure_median_double(tm, runs);
        printf("%-20s slab %6.2f ns/pair   malloc %6.2f ns/pair   slab/malloc %.3f   (slab peak footprint %zu KiB, %zu runs x %zu steps)\n",
               dists[d], ms, mm, ms / mm, carve_slab_peak_footprint(s) / 1024, runs, n);
        carve_slab_destroy(s);
    }
    free(st);
    return 0;
}
