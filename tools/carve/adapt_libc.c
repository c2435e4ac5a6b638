/*
 * tools/carve/adapt_libc.c: the C library's malloc, as the yardstick. Its footprint is the
 * replay's RSS growth (the replay runs in a forked child); it has no walk, stats or checker.
 */
#include "lab.h"

#include <malloc.h>
#include <stdlib.h>

static void *libc_create(const lab_env *env)
{
    (void)env;
    static int token;
    return &token;
}
static void *libc_alloc(void *a, size_t size) { (void)a; return malloc(size); }
static void *libc_realloc(void *a, void *p, size_t size) { (void)a; return realloc(p, size); }
static carve_status libc_free(void *a, void *p) { (void)a; free(p); return CARVE_OK; }
static size_t libc_usable(void *a, const void *p) { (void)a; return malloc_usable_size((void *)p); }
static void libc_destroy(void *a) { (void)a; }

const lab_adapter lab_adapter_libc = {
    .name = "libc", .about = "the C library's malloc (footprint: RSS growth)",
    .align = 16, .rss_footprint = true,
    .create = libc_create, .alloc = libc_alloc, .realloc = libc_realloc, .free = libc_free,
    .usable = libc_usable, .destroy = libc_destroy,
};
