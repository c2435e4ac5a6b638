/*
 * bench/pool_bench.c: the pool's alloc+free pair against its physical limit (a bare intrusive
 * LIFO pop/push, same binary, same calling convention) and against glibc malloc(64)+free, with
 * and without CARVE_POOL_HARDENED.
 *
 * Every variant is a pair of out-of-line calls (the bare list's functions are noipa, the
 * pool's live in libcarve.a, malloc in libc), and every loop stores the block to a volatile
 * sink so no allocation can be optimised away. Two patterns: "pair" (alloc then free at once)
 * and "batch" (32 allocs, then 32 frees).
 *
 *   pool_bench [--runs R] [--pairs N]          medians over R interleaved runs
 *   pool_bench --only VARIANT --pairs N        one loop, for callgrind --toggle-collect=loop_*
 */
#include "carve/pool.h"
#include "measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOIPA __attribute__((noipa, noinline))
#define BATCH 32

typedef struct bare { void *head; } bare;
static void *volatile sink;

NOIPA static void *bare_alloc(bare *b)
{
    void **blk = b->head;
    if (blk == NULL) return NULL;
    b->head = *blk;
    return blk;
}
NOIPA static void bare_free(bare *b, void *p)
{
    *(void **)p = b->head;
    b->head = p;
}

static bare bare_list;
static carve_pool *plain, *hardened;

NOIPA static void loop_bare(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *p = bare_alloc(&bare_list);
        sink = p;
        bare_free(&bare_list, p);
    }
}
NOIPA static void loop_pool(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *p = carve_pool_alloc(plain);
        sink = p;
        carve_pool_free(plain, p);
    }
}
NOIPA static void loop_hardened(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *p = carve_pool_alloc(hardened);
        sink = p;
        carve_pool_free(hardened, p);
    }
}
NOIPA static void loop_malloc(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *p = malloc(64);
        sink = p;
        free(p);
    }
}
NOIPA static void batch_bare(size_t n)
{
    void *p[BATCH];
    for (size_t i = 0; i < n / BATCH; i++) {
        for (int k = 0; k < BATCH; k++) sink = p[k] = bare_alloc(&bare_list);
        for (int k = 0; k < BATCH; k++) bare_free(&bare_list, p[k]);
    }
}
NOIPA static void batch_pool(size_t n)
{
    void *p[BATCH];
    for (size_t i = 0; i < n / BATCH; i++) {
        for (int k = 0; k < BATCH; k++) sink = p[k] = carve_pool_alloc(plain);
        for (int k = 0; k < BATCH; k++) carve_pool_free(plain, p[k]);
    }
}
NOIPA static void batch_hardened(size_t n)
{
    void *p[BATCH];
    for (size_t i = 0; i < n / BATCH; i++) {
        for (int k = 0; k < BATCH; k++) sink = p[k] = carve_pool_alloc(hardened);
        for (int k = 0; k < BATCH; k++) carve_pool_free(hardened, p[k]);
    }
}
NOIPA static void batch_malloc(size_t n)
{
    void *p[BATCH];
    for (size_t i = 0; i < n / BATCH; i++) {
        for (int k = 0; k < BATCH; k++) sink = p[k] = malloc(64);
        for (int k = 0; k < BATCH; k++) free(p[k]);
    }
}

static const struct variant { const char *name; void (*loop)(size_t); } variants[] = {
    {"bare", loop_bare},         {"pool", loop_pool},           {"hardened", loop_hardened},
    {"malloc", loop_malloc},     {"batch_bare", batch_bare},    {"batch_pool", batch_pool},
    {"batch_hardened", batch_hardened}, {"batch_malloc", batch_malloc},
};
#define NVAR (sizeof variants / sizeof variants[0])

static void setup(void)
{
    static _Alignas(64) unsigned char mem_bare[64 * 1024], mem_plain[64 * 1024], mem_hard[64 * 1024];
    /* the bare list threads the same 64-byte blocks the pools do */
    for (size_t i = 0; i + 64 < sizeof mem_bare; i += 64)
        *(void **)(mem_bare + i) = i + 128 < sizeof mem_bare ? mem_bare + i + 64 : NULL;
    bare_list.head = mem_bare;
    plain = carve_pool_init(mem_plain, sizeof mem_plain, 64);
    hardened = carve_pool_init_ex(mem_hard, sizeof mem_hard, 64, CARVE_POOL_HARDENED, 0);
    if (plain == NULL || hardened == NULL) {
        fprintf(stderr, "pool_bench: init failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    size_t runs = 9, pairs = 20u * 1000 * 1000;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0) runs = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--pairs") == 0) pairs = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    }
    setup();
    if (only != NULL) {
        for (size_t v = 0; v < NVAR; v++)
            if (strcmp(variants[v].name, only) == 0) {
                variants[v].loop(pairs);
                return 0;
            }
        fprintf(stderr, "pool_bench: no variant %s\n", only);
        return 2;
    }
    static double ns[NVAR][64];
    if (runs > 64) runs = 64;
    for (size_t v = 0; v < NVAR; v++) variants[v].loop(pairs / 10); /* warm up */
    for (size_t r = 0; r < runs; r++)
        for (size_t v = 0; v < NVAR; v++) {
            uint64_t t0 = measure_now_ns();
            variants[v].loop(pairs);
            ns[v][r] = (double)(measure_now_ns() - t0) / (double)pairs;
        }
    double med[NVAR];
    for (size_t v = 0; v < NVAR; v++) med[v] = measure_median_double(ns[v], runs);
    printf("pool alloc+free, ns per pair (median of %zu runs of %zu pairs)\n", runs, pairs);
    printf("%-16s %8s %10s %10s\n", "variant", "ns/pair", "x bare", "x malloc");
    for (size_t v = 0; v < NVAR; v++) {
        size_t base = v < 4 ? 0 : 4;
        printf("%-16s %8.2f %10.3f %10.3f\n", variants[v].name, med[v], med[v] / med[base], med[v] / med[base + 3]);
    }
    return 0;
}
