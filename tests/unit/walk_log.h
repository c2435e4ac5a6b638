/* tests/unit/walk_log.h: a carve_walk_fn for the pool, slab and buddy tests that asserts
 * address order and the payload rule (block size for used blocks, 0 for free ones) and counts. */
#ifndef CARVE_TEST_WALK_LOG_H
#define CARVE_TEST_WALK_LOG_H

#include "carve/common.h"
#include "carve_test.h"

typedef struct walk_log { uintptr_t last; size_t n, used, used_bytes; } walk_log;

static inline void walk_log_block(void *ctx, const carve_block_info *b)
{
    walk_log *w = ctx;
    ck_assert_uint_gt(b->start, w->last);
    w->last = b->start;
    w->n++;
    ck_assert_uint_eq(b->payload, b->used ? b->size : 0);
    if (b->used) {
        w->used++;
        w->used_bytes += b->payload;
    }
}

#endif
