/*
 * carve/slab.h: the slab cache (seeds 003 and 000): one list of slabs per size class, each slab
 * a pool; a request goes to the smallest class that fits; an empty class grows a new slab.
 *
 * Thread safety: none (the caller locks).
 */
#ifndef CARVE_SLAB_H
#define CARVE_SLAB_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_slab carve_slab;

typedef struct carve_slab_config {
    const size_t *sizes; size_t nsizes;   /* size classes; NULL: powers of two from 16 */
    size_t slab_bytes;                    /* bytes per slab; 0: a default              */
    carve_grow_fn grow; void (*release)(void *ctx, void *mem, size_t bytes); void *ctx; /* NULL: the OS */
} carve_slab_config;

CARVE_API carve_slab  *carve_slab_create(const carve_slab_config *cfg);
CARVE_API void        *carve_slab_alloc(carve_slab *s, size_t size);    /* smallest class that fits */
CARVE_API carve_status carve_slab_free(carve_slab *s, void *p);
CARVE_API void         carve_slab_destroy(carve_slab *s);
CARVE_API size_t       carve_slab_usable_size(const carve_slab *s, const void *p);
CARVE_API size_t       carve_slab_check(const carve_slab *s);
CARVE_API void         carve_slab_walk(const carve_slab *s, carve_walk_fn fn, void *ctx);
CARVE_API void         carve_slab_stats(const carve_slab *s, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_SLAB_H */
