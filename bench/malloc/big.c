/*
 * bench/malloc/big.c: large blocks and memory given back.
 *
 *   large  malloc-large: a working set of 16 blocks of 64 KiB .. 8 MiB (uniform); each step
 *          replaces a random block and writes one byte per page of the new one, as a program
 *          using its buffers would. Allocators that unmap or purge freed large blocks at once
 *          pay for the page faults again; those that cache them pay in RSS.
 *   rss    live memory rises and falls three times: allocate 160 MiB of mixed objects (small
 *          and up to 64 KiB) in groups of 64 consecutive ones (a request's worth), free 90% of
 *          the groups in random order, keeping every tenth (what a server keeps: some
 *          fragmentation, but most pages left empty), then run a quiet phase of small-object
 *          churn and 10 ms sleeps (150 ms), as a program does after a burst, and read the
 *          resident set. Prints `rss_after_free_kib=` (the median
 *          of the three readings): the memory the allocator kept though the program let it go.
 */
#include "mbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t large_size(mbench_rng *rng)
{
    return 64 * 1024 + (size_t)mbench_below(rng, 8 * 1024 * 1024 - 64 * 1024 + 1);
}

/* one byte per page, then the mark: the program uses the whole block */
static void touch_pages(unsigned char *block, size_t size)
{
    for (size_t at = 0; at < size; at += 4096) block[at] = (unsigned char)at;
    mbench_mark(block, size);
}

int mbench_large(void)
{
    return mbench_replace_slots(16, mbench_scaled(1200), 3, large_size, touch_pages);
}

static size_t resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

static size_t rss_object_size(mbench_rng *rng)
{
    /* three of four small, the rest 1 KiB .. 64 KiB */
    return mbench_below(rng, 4) != 0 ? mbench_small_size(rng)
                                     : 1024 + (size_t)mbench_below(rng, 63 * 1024 + 1);
}

int mbench_rss(void)
{
    enum { CYCLES = 3, MAX_OBJECTS = 1 << 20, GROUP = 64, CHURN_SLOTS = 4096, QUIET_TICKS = 15 };
    static void *object[MAX_OBJECTS];
    static size_t object_size[MAX_OBJECTS];
    static void *churn[CHURN_SLOTS];
    size_t target = (size_t)mbench_scaled(160) * 1024 * 1024, after_free[CYCLES];
    uint64_t churn_steps = mbench_scaled(10000);
    mbench_rng rng = {11};
    int bad = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        size_t n = 0, live = 0;
        while (live < target && n < MAX_OBJECTS) {
            object_size[n] = rss_object_size(&rng);
            object[n] = malloc(object_size[n]);
            if (object[n] == NULL) return 1;
            memset(object[n], (int)(n & 0xff), object_size[n]); /* the program uses it all */
            mbench_mark(object[n], object_size[n]);
            live += object_size[n++];
        }
        /* free all groups but every tenth, groups in a random order (Fisher-Yates) */
        static size_t order[MAX_OBJECTS / GROUP + 1];
        size_t groups = (n + GROUP - 1) / GROUP;
        for (size_t g = 0; g < groups; g++) order[g] = g;
        for (size_t g = groups; g > 1; g--) {
            size_t j = (size_t)mbench_below(&rng, g), t = order[g - 1];
            order[g - 1] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; k < groups; k++) {
            if (order[k] % 10 == 0) continue;
            for (size_t i = order[k] * GROUP; i < n && i < (order[k] + 1) * GROUP; i++) {
                bad |= !mbench_marked(object[i], object_size[i]);
                free(object[i]);
                object[i] = NULL;
            }
        }
        /* the quiet phase after the burst, 150 ms of light small-object churn, so that
         * allocators that give memory back after a delay get the chance */
        for (int tick = 0; tick < QUIET_TICKS; tick++) {
            for (uint64_t step = 0; step < churn_steps; step++) {
                size_t i = (size_t)mbench_below(&rng, CHURN_SLOTS);
                free(churn[i]);
                churn[i] = malloc(mbench_small_size(&rng));
                if (churn[i] == NULL) return 1;
            }
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        after_free[cycle] = resident_kib();
        for (size_t i = 0; i < n; i++) {
            if (object[i] == NULL) continue;
            bad |= !mbench_marked(object[i], object_size[i]);
            free(object[i]);
        }
    }
    for (size_t i = 0; i < CHURN_SLOTS; i++) free(churn[i]);
    size_t lo = after_free[0], mid = after_free[1], hi = after_free[2], t;
    if (lo > mid) t = lo, lo = mid, mid = t;
    if (mid > hi) t = mid, mid = hi, hi = t;
    if (lo > mid) t = lo, lo = mid, mid = t;
    printf("rss_after_free_kib=%zu\n", mid);
    return bad;
}
