/*
 * tools/lib/measure.h: timing and order statistics for the lab and the benchmarks.
 */
#ifndef CARVE_TOOLS_MEASURE_H
#define CARVE_TOOLS_MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds. */
uint64_t measure_now_ns(void);
/* The q-quantile (0..1, nearest rank) of v[0..n); sorts v in place. 0 when n == 0. */
uint64_t measure_quantile_u64(uint64_t *v, size_t n, double q);
/* The same value as measure_quantile_u64, by selection: O(n) expected (quickselect, median of
 * three; after 2 log2(n) rounds it sorts what is left, so O(n log n) at worst). Reorders v but
 * does not sort it, and allocates nothing. */
uint64_t measure_select_u64(uint64_t *v, size_t n, double q);
double measure_median_double(double *v, size_t n);   /* sorts v in place */
/* Peak resident set size of this process, in bytes (from getrusage). */
size_t measure_peak_rss(void);
/* Current resident set size, in bytes (from /proc/self/statm); 0 if unknown. */
size_t measure_current_rss(void);

#endif
