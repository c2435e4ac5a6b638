/*
 * tests/unit/heap_helpers.h: what heap_test.c and heap_internals_test.c share: a checked heap
 * over a buffer, and grow callbacks that hand out the next pieces of one buffer.
 */
#ifndef CARVE_HEAP_HELPERS_H
#define CARVE_HEAP_HELPERS_H

#include "carve/heap.h"
#include "carve_test.h"

/* A heap over [mem, mem+bytes) with that policy; carve_heap_check is 0. */
static inline carve_heap *heap_over(void *mem, size_t bytes, carve_fit fit, carve_order order, bool no_coalesce)
{
    carve_heap_config cfg = {.fit = fit, .order = order, .no_coalesce = no_coalesce};
    carve_heap *h = carve_heap_init(mem, bytes, &cfg);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    return h;
}

/* The grow callbacks' state: the next free byte of the buffer, its end, a gap left before each
 * piece (0: contiguous pieces), the number of calls. */
typedef struct grower {
    unsigned char *next, *end;
    size_t gap, calls;
} grower;

/* The next piece, rounded up to 4 KiB, after the gap. */
static inline void *grow_piece(void *ctx, size_t min_bytes, size_t *got)
{
    grower *g = ctx;
    g->calls++;
    size_t bytes = (min_bytes + 4095) & ~(size_t)4095;
    unsigned char *p = g->next + g->gap;
    if (p + bytes > g->end) return NULL;
    g->next = p + bytes;
    *got = bytes;
    return p;
}

/* The next bytes, exactly as many as asked (rounded to 16), as sbrk would. */
static inline void *grow_exact(void *ctx, size_t min_bytes, size_t *got)
{
    grower *g = ctx;
    g->calls++;
    size_t bytes = (min_bytes + 15) & ~(size_t)15;
    if (g->next + bytes > g->end) return NULL;
    void *p = g->next;
    g->next += bytes;
    *got = bytes;
    return p;
}

#endif /* CARVE_HEAP_HELPERS_H */
