/*
 * src/internal.h: helpers shared by carve's allocators. Not installed, not part of the API.
 *
 * Look here before writing a helper: alignment arithmetic, bit scans, overflow-checked size
 * arithmetic, assertions with reasons, the stats-version check and the output channel all live
 * here once.
 */
#ifndef CARVE_INTERNAL_H
#define CARVE_INTERNAL_H

#include "carve/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CARVE_LIKELY(x)   __builtin_expect(!!(x), 1)
#define CARVE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CARVE_INLINE      static inline __attribute__((always_inline))
#define CARVE_NOINLINE    __attribute__((noinline))

/* Assertion levels (STYLE.md). CARVE_ASSERT is cheap and on in debug builds (no NDEBUG).
 * CARVE_ASSERT_FULL is for O(n) checks, on only with CARVE_DEBUG_FULL. Each carries a reason:
 * CARVE_ASSERT(p != NULL && "the caller checked p"). */
#ifdef NDEBUG
#define CARVE_ASSERT(expr) ((void)0)
#else
#include <assert.h>
#define CARVE_ASSERT(expr) assert(expr)
#endif
#ifdef CARVE_DEBUG_FULL
#define CARVE_ASSERT_FULL(expr) CARVE_ASSERT(expr)
#else
#define CARVE_ASSERT_FULL(expr) ((void)0)
#endif

/* Debug fill bytes (after SQLite mem5): new blocks and freed blocks, where an allocator fills. */
#define CARVE_FILL_ALLOC 0xAA
#define CARVE_FILL_FREE  0x55

CARVE_INLINE bool carve_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* Round x up to a multiple of a (a power of two). The caller makes sure it cannot overflow,
 * or uses carve_align_up_checked. */
CARVE_INLINE size_t carve_align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }
CARVE_INLINE size_t carve_align_down(size_t x, size_t a) { return x & ~(a - 1); }
CARVE_INLINE uintptr_t carve_align_up_ptr(uintptr_t x, size_t a) { return (x + a - 1) & ~(uintptr_t)(a - 1); }

/* *out = x rounded up to a (a power of two); false when that overflows. */
CARVE_INLINE bool carve_align_up_checked(size_t x, size_t a, size_t *out)
{
    size_t sum;
    if (__builtin_add_overflow(x, a - 1, &sum)) return false;
    *out = sum & ~(a - 1);
    return true;
}

/* *out = a + b or a * b; false on overflow. */
CARVE_INLINE bool carve_add_overflow(size_t a, size_t b, size_t *out) { return __builtin_add_overflow(a, b, out); }
CARVE_INLINE bool carve_mul_overflow(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }

/* Bit scans. Undefined for 0: the caller checks. */
CARVE_INLINE unsigned carve_ctz64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }
CARVE_INLINE unsigned carve_clz64(uint64_t x) { return (unsigned)__builtin_clzll(x); }
CARVE_INLINE unsigned carve_log2_floor(size_t x) { return 63u - carve_clz64((uint64_t)x); }
CARVE_INLINE unsigned carve_log2_ceil(size_t x) { return x <= 1 ? 0u : 64u - carve_clz64((uint64_t)(x - 1)); }
CARVE_INLINE unsigned carve_popcount64(uint64_t x) { return (unsigned)__builtin_popcountll(x); }

/* True when out is a carve_stats the caller prepared for this version (carve_stats_init); the
 * fields after version and size are then zeroed, ready to fill. False: write nothing. */
bool carve_stats_begin(carve_stats *out);

/* Write one message through the configured output function (carve_set_output). */
void carve_output(const char *msg);
/* printf-style into a stack buffer (at most 512 bytes), then carve_output. No allocation. */
void carve_outputf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* CARVE_INTERNAL_H */
