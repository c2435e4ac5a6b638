/*
 * carve/heap.h: the region heap (seeds 000, 001, 002).
 *
 * A heap over memory the caller owns. Blocks carry a size header (seed 001); free blocks carry
 * their list links and a footer inside themselves. Six placement policies (carve_fit) and five
 * free-list orders (carve_order). The heap never calls the OS: when nothing fits it asks the
 * optional grow callback. See docs/heap.md for the layout and the measured figures.
 *
 * Thread safety: none. A carve_heap is used by one thread at a time (the caller locks).
 */
#ifndef CARVE_HEAP_H
#define CARVE_HEAP_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_heap carve_heap;

typedef enum carve_fit {
    CARVE_FIT_FIRST, CARVE_FIT_NEXT, CARVE_FIT_BEST, CARVE_FIT_WORST,
    CARVE_FIT_SEGREGATED,   /* one free list per size class, as in seed 000     */
    CARVE_FIT_TLSF          /* two-level segregated fit: O(1) good fit          */
} carve_fit;

typedef enum carve_order {  /* how the free list of FIRST/NEXT/BEST/WORST is kept */
    CARVE_ORDER_LIFO, CARVE_ORDER_FIFO, CARVE_ORDER_ADDRESS,
    CARVE_ORDER_SIZE_ASC, CARVE_ORDER_SIZE_DESC
} carve_order;

typedef struct carve_heap_config {
    carve_fit fit; carve_order order;
    bool no_coalesce;          /* false: coalesce neighbours on free        */
    size_t align;              /* payload alignment, a power of two; 0 = 16 */
    carve_grow_fn grow; void *grow_ctx;  /* optional: more memory when nothing fits */
} carve_heap_config;

CARVE_API carve_heap  *carve_heap_init(void *mem, size_t bytes, const carve_heap_config *cfg); /* cfg NULL: defaults */
CARVE_API carve_status carve_heap_add_region(carve_heap *h, void *mem, size_t bytes);
CARVE_API void        *carve_heap_alloc(carve_heap *h, size_t size);
CARVE_API void        *carve_heap_aligned_alloc(carve_heap *h, size_t align, size_t size);
CARVE_API void        *carve_heap_realloc(carve_heap *h, void *p, size_t size);
CARVE_API carve_status carve_heap_free(carve_heap *h, void *p);
CARVE_API size_t       carve_heap_usable_size(const carve_heap *h, const void *p);
CARVE_API size_t       carve_heap_check(const carve_heap *h);
CARVE_API void         carve_heap_walk(const carve_heap *h, carve_walk_fn fn, void *ctx);
CARVE_API void         carve_heap_stats(const carve_heap *h, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_HEAP_H */
