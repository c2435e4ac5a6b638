/*
 * carve/buddy.h: the binary buddy allocator (seed 001) over memory the caller owns.
 *
 * Thread safety: none (the caller locks).
 */
#ifndef CARVE_BUDDY_H
#define CARVE_BUDDY_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_buddy carve_buddy;

CARVE_API carve_buddy *carve_buddy_init(void *mem, size_t bytes, size_t min_block);
CARVE_API void        *carve_buddy_alloc(carve_buddy *b, size_t size);
CARVE_API carve_status carve_buddy_free(carve_buddy *b, void *p);
CARVE_API size_t       carve_buddy_usable_size(const carve_buddy *b, const void *p);
CARVE_API size_t       carve_buddy_check(const carve_buddy *b);
CARVE_API void         carve_buddy_walk(const carve_buddy *b, carve_walk_fn fn, void *ctx);
CARVE_API void         carve_buddy_stats(const carve_buddy *b, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_BUDDY_H */
