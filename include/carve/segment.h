/*
 * carve/segment.h: the segment allocator (seed 004): O(1) runs of 1..64 cells from an index
 * range. Its metadata lives in memory the caller gives; the range itself is only numbers.
 */
#ifndef CARVE_SEGMENT_H
#define CARVE_SEGMENT_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_segment carve_segment;

typedef struct carve_segment_config {
    uint32_t index_begin, index_end;  /* the cells [begin, end)           */
    uint32_t block_size;              /* a multiple of 64, at most 4096    */
    uint32_t max_size;                /* the largest run, 1..64            */
} carve_segment_config;

#define CARVE_SEGMENT_NONE UINT32_MAX

CARVE_API size_t         carve_segment_footprint(const carve_segment_config *cfg);   /* 0 if cfg breaks a rule */
CARVE_API carve_segment *carve_segment_init(void *meta, size_t bytes, const carve_segment_config *cfg);
CARVE_API uint32_t       carve_segment_alloc(carve_segment *s, uint32_t size);       /* first cell, or NONE */
CARVE_API carve_status   carve_segment_free(carve_segment *s, uint32_t cell, uint32_t size);
CARVE_API size_t         carve_segment_check(const carve_segment *s);
CARVE_API void           carve_segment_walk(const carve_segment *s, carve_walk_fn fn, void *ctx);
CARVE_API void           carve_segment_stats(const carve_segment *s, carve_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_SEGMENT_H */
