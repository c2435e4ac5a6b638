/*
 * tools/carve/adapt_buddy.c: the binary buddy. It cannot grow, so it gets one power-of-two
 * region of at least four times the trace's peak of live bytes (a request rounds up to a power
 * of two, so the live blocks may take twice the live bytes, and fragmentation more). Only what
 * it touches counts: its footprint is carve_buddy_high_water, the region up to the end of the
 * highest block it ever handed out, with the control bytes of that part and its header.
 */
#include "carve/buddy.h"
#include "lab.h"

enum { MIN_BLOCK = 16 };

static void *buddy_create(const lab_env *env)
{
    size_t managed = (size_t)1 << 16;
    while (managed < 4 * env->hint && managed < ((size_t)1 << 31)) managed *= 2;
    size_t bytes = carve_buddy_region_bytes(managed, MIN_BLOCK), got;
    void *mem = bytes != 0 ? lab_arena_grow(env->arena, bytes, &got) : NULL;
    return mem != NULL ? carve_buddy_init(mem, got, MIN_BLOCK) : NULL;
}

static void *buddy_alloc(void *a, size_t size) { return carve_buddy_alloc(a, size); }
static void *buddy_realloc(void *a, void *p, size_t size) { return carve_buddy_realloc(a, p, size); }
static carve_status buddy_free(void *a, void *p) { return carve_buddy_free(a, p); }
static size_t buddy_usable(void *a, const void *p) { return carve_buddy_usable_size(a, p); }
static void buddy_walk(void *a, carve_walk_fn fn, void *ctx) { carve_buddy_walk(a, fn, ctx); }
static size_t buddy_check(void *a) { return carve_buddy_check(a); }
static size_t buddy_footprint(void *a) { return carve_buddy_high_water(a); }
static void buddy_destroy(void *a) { (void)a; }

static bool buddy_stats(void *a, carve_stats *out)
{
    carve_buddy_stats(a, out);
    return true;
}

const lab_adapter lab_adapter_buddy = {
    .name = "buddy", .about = "binary buddy, 16-byte min block (footprint: its high-water mark)",
    .align = MIN_BLOCK, .create = buddy_create, .alloc = buddy_alloc, .realloc = buddy_realloc,
    .free = buddy_free, .usable = buddy_usable, .walk = buddy_walk, .stats = buddy_stats,
    .check = buddy_check, .footprint = buddy_footprint, .destroy = buddy_destroy,
};
