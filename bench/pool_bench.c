/*
 * bench/pool_bench.c: the pool's alloc+free pair against its physical limit (a bare intrusive
 * LIFO pop/push, same binary, same calling convention) and against glibc malloc(64)+free, with
 * and without CARVE_POOL_HARDENED.
 *
 * Two calling conventions, each compared only with itself: "call" (bare, pool, hardened,
 * malloc: every op is an out-of-line call; the bare list's functions are noipa, the pool's
 * live in libcarve.a, malloc in libc) and "inline" (ibare, ipool, ihardened: bare_pop/push
 * against carve_pool_alloc_inline/free_inline, all inlined into the loop). Every loop stores
 * each block to a volatile sink and puts a compiler barrier after every op, so nothing is
 * optimised away and the bare list really reads and writes each block's link. Two patterns:
 * "pair" (alloc then free at once) and "batch" (32 allocs, then 32 frees).
 *
 *   pool_bench [--runs R] [--pairs N]          medians over R interleaved runs
 *   pool_bench --only VARIANT --pairs N        one loop, for callgrind --toggle-collect=loop_*
 */
#include "carve/pool.h"
#include "measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__) /* clang has no noipa; its noinline also keeps the call (make fuzz builds this) */
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa, noinline))
#endif
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

static inline void *bare_pop(bare *b)
{
    void **blk = b->head;
    if (blk == NULL) return NULL;
    b->head = *blk;
    return blk;
}
static inline void bare_push(bare *b, void *p)
{
    *(void **)p = b->head;
    b->head = p;
}

static bare bare_list;
static carve_pool *plain, *hardened;

/* The inline loops put a compiler barrier after every alloc and every free, on every side alike:
 * without it the compiler may fuse a pop and the following push of the same block into nothing. */
#define BARRIER() __asm__ volatile("" ::: "memory")
#define PAIR_LOOP(name, ALLOC, FREE)                                                             \
    NOIPA static void name(size_t n)                                                             \
    {                                                                                            \
        for (size_t i = 0; i < n; i++) {                                                         \
            void *p = ALLOC;                                                                     \
            sink = p;                                                                            \
            BARRIER();                                                                           \
            FREE;                                                                                \
            BARRIER();                                                                           \
        }                                                                                        \
    }
#define BATCH_LOOP(name, ALLOC, FREE)                                                            \
    NOIPA static void name(size_t n)                                                             \
    {                                                                                            \
        void *p[BATCH];                                                                          \
        for (size_t i = 0; i < n / BATCH; i++) {                                                 \
            for (int k = 0; k < BATCH; k++) {                                                    \
                sink = p[k] = ALLOC;                                                             \
                BARRIER();                                                                       \
            }                                                                                    \
            for (int k = 0; k < BATCH; k++) {                                                    \
                void *q = p[k];                                                                  \
                FREE(q);                                                                         \
                BARRIER();                                                                       \
            }                                                                                    \
        }                                                                                        \
    }

/* through a call: the bare list's noipa functions, libcarve.a's carve_pool_alloc/free, libc */
PAIR_LOOP(loop_bare, bare_alloc(&bare_list), bare_free(&bare_list, p))
PAIR_LOOP(loop_pool, carve_pool_alloc(plain), carve_pool_free(plain, p))
PAIR_LOOP(loop_hardened, carve_pool_alloc(hardened), carve_pool_free(hardened, p))
PAIR_LOOP(loop_malloc, malloc(64), free(p))
/* inlined: bare_pop/push against carve_pool_alloc_inline/free_inline */
PAIR_LOOP(loop_ibare, bare_pop(&bare_list), bare_push(&bare_list, p))
PAIR_LOOP(loop_ipool, carve_pool_alloc_inline(plain), carve_pool_free_inline(plain, p))
PAIR_LOOP(loop_ihardened, carve_pool_alloc_inline(hardened), carve_pool_free_inline(hardened, p))

#define FREE_BARE(q) bare_free(&bare_list, q)
#define FREE_POOL(q) carve_pool_free(plain, q)
#define FREE_HARD(q) carve_pool_free(hardened, q)
#define FREE_IBARE(q) bare_push(&bare_list, q)
#define FREE_IPOOL(q) carve_pool_free_inline(plain, q)
#define FREE_IHARD(q) carve_pool_free_inline(hardened, q)
BATCH_LOOP(batch_bare, bare_alloc(&bare_list), FREE_BARE)
BATCH_LOOP(batch_pool, carve_pool_alloc(plain), FREE_POOL)
BATCH_LOOP(batch_hardened, carve_pool_alloc(hardened), FREE_HARD)
BATCH_LOOP(batch_malloc, malloc(64), free)
BATCH_LOOP(batch_ibare, bare_pop(&bare_list), FREE_IBARE)
BATCH_LOOP(batch_ipool, carve_pool_alloc_inline(plain), FREE_IPOOL)
BATCH_LOOP(batch_ihardened, carve_pool_alloc_inline(hardened), FREE_IHARD)

/* Four groups; in each, ratios are against the group's first row (bare) and the group's malloc. */
static const struct variant { const char *name; void (*loop)(size_t); int group; } variants[] = {
    {"bare", loop_bare, 0},           {"pool", loop_pool, 0},           {"hardened", loop_hardened, 0},
    {"malloc", loop_malloc, 0},       {"batch_bare", batch_bare, 1},    {"batch_pool", batch_pool, 1},
    {"batch_hardened", batch_hardened, 1}, {"batch_malloc", batch_malloc, 1},
    {"ibare", loop_ibare, 2},         {"ipool", loop_ipool, 2},         {"ihardened", loop_ihardened, 2},
    {"batch_ibare", batch_ibare, 3},  {"batch_ipool", batch_ipool, 3},  {"batch_ihardened", batch_ihardened, 3},
};
#define NVAR (sizeof variants / sizeof variants[0])
/* the bare row and the malloc row of each group (the inline groups share the call groups' malloc) */
static const size_t group_bare[4] = {0, 4, 8, 11}, group_malloc[4] = {3, 7, 3, 7};

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
        int g = variants[v].group;
        printf("%-16s %8.2f %10.3f %10.3f\n", variants[v].name, med[v], med[v] / med[group_bare[g]],
               med[v] / med[group_malloc[g]]);
    }
    return 0;
}
