/* tools/lib/measure.c: see measure.h. */
#include "measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t measure_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

uint64_t measure_quantile_u64(uint64_t *v, size_t n, double q)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    double rank = q * (double)(n - 1);
    size_t i = (size_t)(rank + 0.5);
    return v[i < n ? i : n - 1];
}

static void swap_u64(uint64_t *a, uint64_t *b)
{
    uint64_t t = *a;
    *a = *b;
    *b = t;
}

uint64_t measure_select_u64(uint64_t *v, size_t n, double q)
{
    if (n == 0) return 0;
    double rank = q * (double)(n - 1);
    size_t k = (size_t)(rank + 0.5);
    if (k >= n) k = n - 1;
    size_t lo = 0, hi = n - 1; /* v[k] lies in [lo, hi] once sorted */
    unsigned rounds = 0, limit = 2;
    for (size_t m = n; m > 1; m >>= 1) limit += 2;
    while (hi > lo) {
        if (++rounds > limit) { /* a bad run of pivots: finish by sorting */
            qsort(v + lo, hi - lo + 1, sizeof *v, cmp_u64);
            break;
        }
        /* median of three to v[lo], then Hoare's partition around it */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap_u64(&v[mid], &v[lo]);
        if (v[hi] < v[lo]) swap_u64(&v[hi], &v[lo]);
        if (v[hi] < v[mid]) swap_u64(&v[hi], &v[mid]);
        swap_u64(&v[lo], &v[mid]);
        uint64_t pivot = v[lo];
        size_t i = lo, j = hi + 1;
        for (;;) {
            do i++; while (i <= hi && v[i] < pivot);
            do j--; while (v[j] > pivot);
            if (i >= j) break;
            swap_u64(&v[i], &v[j]);
        }
        swap_u64(&v[lo], &v[j]); /* the pivot at its sorted place j */
        if (j == k) return v[k];
        if (j < k) lo = j + 1;
        else hi = j - 1;
    }
    return v[k];
}

double measure_median_double(double *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t measure_peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024u;
}

size_t measure_current_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    unsigned long size, resident;
    int ok = fscanf(f, "%lu %lu", &size, &resident) == 2;
    fclose(f);
    return ok ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}
