/*
 * tools/carve/adapt_malloc.c: carve's general allocator (carve_malloc). Like libc, its footprint
 * is the replay's RSS growth (in a forked child, where carve_malloc starts fresh); its walk, stats
 * and checker are global, so they describe the whole process's carve heap.
 */
#include "carve/malloc.h"
#include "lab.h"

static void *cm_create(const lab_env *env)
{
    (void)env;
    static int token;
    return &token;
}
static void *cm_alloc(void *a, size_t size) { (void)a; return carve_malloc(size); }
static void *cm_realloc(void *a, void *p, size_t size) { (void)a; return carve_realloc(p, size); }
static carve_status cm_free(void *a, void *p) { (void)a; carve_free(p); return CARVE_OK; }
static size_t cm_usable(void *a, const void *p) { (void)a; return carve_usable_size(p); }
static size_t cm_check(void *a) { (void)a; return carve_malloc_check(); }
static void cm_destroy(void *a) { (void)a; carve_trim(); }

static bool cm_stats(void *a, carve_stats *out)
{
    (void)a;
    carve_stats_get(out);
    return out->largest_free != 0 || out->free == 0;
}

const lab_adapter lab_adapter_malloc = {
    .name = "malloc", .about = "carve's general allocator (footprint: RSS growth)",
    .align = 16, .rss_footprint = true, .create = cm_create, .alloc = cm_alloc, .realloc = cm_realloc,
    .free = cm_free, .usable = cm_usable, .stats = cm_stats, .check = cm_check, .destroy = cm_destroy,
};
