/*
 * tools/carve/adapt_malloc.c: carve's general allocator (carve_malloc). Like libc, its footprint
 * is the replay's RSS growth (in a forked child, where carve_malloc starts fresh); its walk, stats
 * and checker are global, so they describe the whole process's carve heap. Being global, it is
 * not made anew for the timing pass: that pass finds it as the measuring pass left it (every
 * block freed, its pages kept), as libc's.
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
/* Nothing to undo: carve_malloc is the process's. It does not trim either: the timing pass that
 * follows the measuring pass must run on memory already faulted in, as the arena allocators' does
 * (a carve_trim here gave every page back, and the timing pass then paid a page fault per page:
 * 1700 to 2000 ns per operation on obstack1 instead of 15 to 19). */
static void cm_destroy(void *a) { (void)a; }

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
