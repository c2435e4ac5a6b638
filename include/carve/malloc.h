/*
 * carve/malloc.h: carve's general allocator: thread-safe, and behind libcarve-malloc.so the
 * standard malloc family. See docs/malloc.md.
 */
#ifndef CARVE_MALLOC_H
#define CARVE_MALLOC_H

#include "carve/common.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

CARVE_API void  *carve_malloc(size_t size);
CARVE_API void  *carve_calloc(size_t n, size_t size);
CARVE_API void  *carve_realloc(void *p, size_t size);
CARVE_API void  *carve_reallocarray(void *p, size_t n, size_t size);
CARVE_API void   carve_free(void *p);
CARVE_API void  *carve_aligned_alloc(size_t align, size_t size);
CARVE_API int    carve_posix_memalign(void **out, size_t align, size_t size);
CARVE_API size_t carve_usable_size(const void *p);
CARVE_API void   carve_stats_get(carve_stats *out);
CARVE_API void   carve_stats_print(FILE *out, bool json);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_MALLOC_H */
