/*
 * tools/carve/adapt_slab.c: the slab cache, with power-of-two classes from 16 bytes to 32 KiB
 * in 128 KiB slabs (four blocks of the largest class); a bigger request fails, and is counted.
 * Slabs come from the lab's arena, aligned to their size, and empty ones go back to it; the
 * footprint is what the cache holds from the arena (slabs, control data, its hash set).
 */
#include "carve/slab.h"
#include "lab.h"

enum { SLAB_BYTES = 128 * 1024 };

static void *slab_create(const lab_env *env)
{
    static const size_t sizes[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768};
    env->arena->align_pow2 = true;
    carve_slab_config cfg = {.sizes = sizes, .nsizes = sizeof sizes / sizeof sizes[0], .slab_bytes = SLAB_BYTES,
                             .grow = lab_arena_grow, .release = lab_arena_release, .ctx = env->arena};
    return carve_slab_create(&cfg);
}

static void *slab_alloc(void *a, size_t size) { return carve_slab_alloc(a, size); }
static carve_status slab_free(void *a, void *p) { return carve_slab_free(a, p); }
static size_t slab_usable(void *a, const void *p) { return carve_slab_usable_size(a, p); }
static void slab_walk(void *a, carve_walk_fn fn, void *ctx) { carve_slab_walk(a, fn, ctx); }
static size_t slab_check(void *a) { return carve_slab_check(a); }
static void slab_destroy(void *a) { carve_slab_destroy(a); }

static bool slab_stats(void *a, carve_stats *out)
{
    carve_slab_stats(a, out);
    return true;
}

const lab_adapter lab_adapter_slab = {
    .name = "slab", .about = "slab cache, classes 16 B to 32 KiB in 128 KiB slabs",
    .align = 16, .create = slab_create, .alloc = slab_alloc, .realloc = NULL, .free = slab_free,
    .usable = slab_usable, .walk = slab_walk, .stats = slab_stats, .check = slab_check,
    .destroy = slab_destroy,
};
