/*
 * carve/pool.h: the fixed-size pool (seed 003).
 *
 * Equal blocks carved from memory the caller owns, an intrusive LIFO free list, O(1) alloc and
 * free. Never calls the OS. Thread safety: none (the caller locks).
 */
#ifndef CARVE_POOL_H
#define CARVE_POOL_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_pool carve_pool;

CARVE_API carve_pool  *carve_pool_init(void *mem, size_t bytes, size_t block_size);
CARVE_API void        *carve_pool_alloc(carve_pool *p);                 /* O(1); NULL when exhausted */
CARVE_API carve_status carve_pool_free(carve_pool *p, void *block);     /* O(1)                      */
CARVE_API size_t       carve_pool_capacity(const carve_pool *p);
CARVE_API size_t       carve_pool_available(const carve_pool *p);
CARVE_API size_t       carve_pool_usable_size(const carve_pool *p, const void *block);
CARVE_API size_t       carve_pool_check(const carve_pool *p);
CARVE_API void         carve_pool_walk(const carve_pool *p, carve_walk_fn fn, void *ctx);
CARVE_API void         carve_pool_stats(const carve_pool *p, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_POOL_H */
