/*
 * bench/segment_timing.h: what the segment benchmarks (segment_bench, segment_ab, segment_tail)
 * share to time calls: the counter read around a call, and pinning the thread to one CPU.
 * Header-only (static functions); include it after defining _GNU_SOURCE.
 */
#ifndef CARVE_BENCH_SEGMENT_TIMING_H
#define CARVE_BENCH_SEGMENT_TIMING_H

#include "measure.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

/* The TSC, fenced on both sides so that the call timed between two reads is neither started
 * before the first nor finished after the second (elsewhere: the monotonic clock, in ns). The
 * counter may move in steps of several ticks: see counter_step in segment_bench.c. */
#if defined(__x86_64__)
static inline uint64_t ticks(void)
{
    __builtin_ia32_lfence();
    uint64_t t = __builtin_ia32_rdtsc();
    __builtin_ia32_lfence();
    return t;
}
#else
static inline uint64_t ticks(void) { return measure_now_ns(); }
#endif

/* Pins this thread to the CPU it runs on (no migration between two reads of the counter).
 * Returns whether it worked; *cpu is that CPU (0 if unknown). */
static inline bool pin_to_this_cpu(int *cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    int here = sched_getcpu();
    *cpu = here < 0 ? 0 : here;
    CPU_SET(*cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0;
}

#endif /* CARVE_BENCH_SEGMENT_TIMING_H */
