/* tests/unit/malloc_resident.h: how much of a set of freed blocks is still in memory, by mincore
 * on the page of each block's first byte. mincore sees the process's own pages only, so the
 * figure means the same under ASan and TSan (whose shadow memory RSS would count). */
#ifndef CARVE_MALLOC_RESIDENT_H
#define CARVE_MALLOC_RESIDENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Per mille of the blocks p[0..n) whose first page is resident (unmapped counts as not). */
static inline unsigned resident_permille(void *const *p, size_t n)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), in = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char v = 0;
        void *page = (void *)((uintptr_t)p[i] & ~(uintptr_t)(ps - 1));
        if (mincore(page, 1, &v) == 0 && (v & 1)) in++;
    }
    return n == 0 ? 0 : (unsigned)(in * 1000 / n);
}

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Allocate and free one small block, the kind of work that never needs a new page. */
static inline void churn_small(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        volatile char *q = carve_malloc(32);
        q[0] = 1;
        carve_free((void *)q);
    }
}

#endif
