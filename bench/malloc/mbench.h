/*
 * bench/malloc/mbench.h: the workloads of the malloc benchmark (program carve-mbench).
 *
 * Each workload is a plain program that calls the C library's malloc family, so whichever
 * allocator is preloaded (LD_PRELOAD) serves it; the binary links no allocator of its own. Wall
 * time and peak RSS are measured from outside, by mbench-run. A workload verifies the bytes it
 * wrote (returning non-zero on a mismatch, so a broken allocator fails loudly instead of winning)
 * and may print extra figures on stdout as `name=value` lines.
 *
 * Sizes are tuned so that each workload runs 0.3-1 s on glibc on the reference machine (2 cores);
 * MBENCH_SCALE (a percentage, default 100) scales the operation counts.
 */
#ifndef CARVE_BENCH_MBENCH_H
#define CARVE_BENCH_MBENCH_H

#include <stddef.h>
#include <stdint.h>

/* Workloads: each returns 0 on success, non-zero if it saw corrupted memory or a failed call. */
int mbench_simple(void);   /* glibc-simple: batches of one size, allocated then freed in order */
int mbench_churn(void);    /* random replacement in a working set of small objects */
int mbench_realloc(void);  /* buffers grown by many small reallocs, interleaved */
int mbench_xthread(void);  /* producers allocate, consumers free: every free is remote */
int mbench_larson(void);   /* larson server: threads replace objects, then hand them on */
int mbench_scratch(void);  /* cache-scratch: false sharing through the allocator */
int mbench_large(void);    /* 64 KiB .. 8 MiB blocks, each page touched */
int mbench_rss(void);      /* live memory rises and falls; prints the RSS left after frees */

/* Operation counts times MBENCH_SCALE percent (at least 1). */
uint64_t mbench_scaled(uint64_t count);

/* Splitmix64: a fast deterministic generator, one per thread. */
typedef struct mbench_rng { uint64_t state; } mbench_rng;

static inline uint64_t mbench_next(mbench_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t mbench_below(mbench_rng *r, uint64_t n) { return mbench_next(r) % n; }

/* A small-object size: mostly 8..128 bytes, a tail up to 1 KiB, as programs allocate. */
static inline size_t mbench_small_size(mbench_rng *r)
{
    uint64_t x = mbench_next(r);
    return (x & 7) != 0 ? 8 + (size_t)((x >> 8) % 121) : 8 + (size_t)((x >> 8) % 1017);
}

/* Writes a size-dependent pattern into the first and last bytes of a block, and checks it. */
static inline void mbench_mark(void *block, size_t size)
{
    unsigned char *p = block;
    p[0] = (unsigned char)size;
    p[size - 1] = (unsigned char)(size >> 3);
}

static inline int mbench_marked(const void *block, size_t size)
{
    const unsigned char *p = block;
    return p[0] == (unsigned char)size && p[size - 1] == (unsigned char)(size >> 3);
}

/* The working-set pattern of churn and large: `steps` times, free the block in a random one of
 * `slots` slots (checking its mark) and put there a new block of next_size() bytes, written by
 * touch(), which must leave mbench_mark()'s pattern. Frees everything at the end. Returns 0, or
 * 1 if a block was corrupted or malloc returned NULL. */
int mbench_replace_slots(size_t slots, uint64_t steps, uint64_t seed,
                         size_t (*next_size)(mbench_rng *), void (*touch)(unsigned char *, size_t));

#endif
