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
 * "pair" (alloc then free at once) and "batch" (32 allocs, then 32 frees). Each loop holds its
 * handles (the pool pointer, the bare list's address) in locals, as a caller would.
 *
 * The floor rows (floor, ifloor) are not a pool: the bare list plus only the work the issue's
 * free statuses force on ANY pool for a pair: a one-block in-use record that alloc sets and free
 * tests and clears (CARVE_EDOUBLEFREE), and a NULL test (an empty record must not match a free
 * of NULL). A pointer equal to the record is a block start, so the range and block-start test
 * (CARVE_EFOREIGN) is needed only off the pair's path. No counters, no bitmap, no hardened
 * test. A lower bound on a pool's pair, to show how far the 1.2x target can be met.
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

/* The floor (see the top): the bare list, a one-block in-use record, and the free's test. */
typedef struct floor_list {
    void *head;
    uintptr_t base;
    uint64_t inv; /* as in the pool: the index of p is ror((p - base) * inv, rot) */
    unsigned rot;
    size_t n;
    void *live; /* apart from head: gcc would fuse the two stores of a pop into one 16-byte store */
} floor_list;

static inline void *floor_pop(floor_list *f)
{
    void **blk = f->head;
    if (blk == NULL) return NULL;
    f->head = *blk;
    f->live = blk;
    return blk;
}
/* Any pointer but the live block: foreign (range and block-start test) or a double free. Never
 * reached by a pair. */
NOIPA static int floor_other(floor_list *f, void *p)
{
    uint64_t x = ((uint64_t)(uintptr_t)p - f->base) * f->inv;
    return ((x >> f->rot) | (x << (-f->rot & 63))) >= f->n ? -1 : -2;
}
static inline int floor_push(floor_list *f, void *p)
{
    /* the live block is a block start of this list: no range test; NULL must not match "none" */
    if (__builtin_expect(p != f->live || p == NULL, 0)) return floor_other(f, p);
    f->live = NULL;
    *(void **)p = f->head;
    f->head = p;
    return 0;
}
NOIPA static void *floor_alloc(floor_list *f) { return floor_pop(f); }
NOIPA static int floor_free(floor_list *f, void *p) { return floor_push(f, p); }

static bare bare_list;
static floor_list floor_state;
static carve_pool *plain, *hardened;

/* The inline loops put a compiler barrier after every alloc and every free, on every side alike:
 * without it the compiler may fuse a pop and the following push of the same block into nothing. */
#define BARRIER() __asm__ volatile("" ::: "memory")
/* Every loop takes its handles into locals first, as a caller holding a pool would: the barrier
 * clobbers memory, so a handle read from a global inside the loop would be reloaded after every
 * op, a load the bare list (a global at a constant address) never pays. */
#define HANDLES                                                                                  \
    bare *const bl = &bare_list;                                                                 \
    floor_list *const fl = &floor_state;                                                         \
    carve_pool *const pl = plain, *const ph = hardened;                                          \
    (void)bl, (void)fl, (void)pl, (void)ph
#define PAIR_LOOP(name, ALLOC, FREE)                                                             \
    NOIPA static void name(size_t n)                                                             \
    {                                                                                            \
        HANDLES;                                                                                 \
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
        HANDLES;                                                                                 \
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
PAIR_LOOP(loop_bare, bare_alloc(bl), bare_free(bl, p))
PAIR_LOOP(loop_pool, carve_pool_alloc(pl), carve_pool_free(pl, p))
PAIR_LOOP(loop_hardened, carve_pool_alloc(ph), carve_pool_free(ph, p))
PAIR_LOOP(loop_malloc, malloc(64), free(p))
PAIR_LOOP(loop_floor, floor_alloc(fl), floor_free(fl, p))
/* inlined: bare_pop/push against carve_pool_alloc_inline/free_inline */
PAIR_LOOP(loop_ibare, bare_pop(bl), bare_push(bl, p))
PAIR_LOOP(loop_ipool, carve_pool_alloc_inline(pl), carve_pool_free_inline(pl, p))
PAIR_LOOP(loop_ihardened, carve_pool_alloc_inline(ph), carve_pool_free_inline(ph, p))
PAIR_LOOP(loop_ifloor, floor_pop(fl), floor_push(fl, p))

#define FREE_BARE(q) bare_free(bl, q)
#define FREE_POOL(q) carve_pool_free(pl, q)
#define FREE_HARD(q) carve_pool_free(ph, q)
#define FREE_IBARE(q) bare_push(bl, q)
#define FREE_IPOOL(q) carve_pool_free_inline(pl, q)
#define FREE_IHARD(q) carve_pool_free_inline(ph, q)
BATCH_LOOP(batch_bare, bare_alloc(bl), FREE_BARE)
BATCH_LOOP(batch_pool, carve_pool_alloc(pl), FREE_POOL)
BATCH_LOOP(batch_hardened, carve_pool_alloc(ph), FREE_HARD)
BATCH_LOOP(batch_malloc, malloc(64), free)
BATCH_LOOP(batch_ibare, bare_pop(bl), FREE_IBARE)
BATCH_LOOP(batch_ipool, carve_pool_alloc_inline(pl), FREE_IPOOL)
BATCH_LOOP(batch_ihardened, carve_pool_alloc_inline(ph), FREE_IHARD)

/* Four groups; in each, ratios are against the group's first row (bare) and the group's malloc. */
static const struct variant { const char *name; void (*loop)(size_t); int group; } variants[] = {
    {"bare", loop_bare, 0},           {"pool", loop_pool, 0},           {"hardened", loop_hardened, 0},
    {"malloc", loop_malloc, 0},       {"floor", loop_floor, 0},
    {"batch_bare", batch_bare, 1},    {"batch_pool", batch_pool, 1},    {"batch_hardened", batch_hardened, 1},
    {"batch_malloc", batch_malloc, 1},
    {"ibare", loop_ibare, 2},         {"ipool", loop_ipool, 2},         {"ihardened", loop_ihardened, 2},
    {"ifloor", loop_ifloor, 2},
    {"batch_ibare", batch_ibare, 3},  {"batch_ipool", batch_ipool, 3},  {"batch_ihardened", batch_ihardened, 3},
};
#define NVAR (sizeof variants / sizeof variants[0])
/* the bare row and the malloc row of each group (the inline groups share the call groups' malloc) */
static const size_t group_bare[4] = {0, 5, 9, 13}, group_malloc[4] = {3, 8, 3, 8};

static void setup(void)
{
    static _Alignas(64) unsigned char mem_bare[64 * 1024], mem_plain[64 * 1024], mem_hard[64 * 1024];
    /* the bare list threads the same 64-byte blocks the pools do */
    for (size_t i = 0; i + 64 < sizeof mem_bare; i += 64)
        *(void **)(mem_bare + i) = i + 128 < sizeof mem_bare ? mem_bare + i + 64 : NULL;
    bare_list.head = mem_bare;
    static _Alignas(64) unsigned char mem_floor[64 * 1024];
    for (size_t i = 0; i + 64 < sizeof mem_floor; i += 64)
        *(void **)(mem_floor + i) = i + 128 < sizeof mem_floor ? mem_floor + i + 64 : NULL;
    floor_state = (floor_list){.head = mem_floor, .base = (uintptr_t)mem_floor, .inv = 1, .rot = 6,
                               .n = sizeof mem_floor / 64 - 1};
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
