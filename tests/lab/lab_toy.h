/* tests/lab/lab_toy.h: a toy allocator for the lab's tests, with answers anyone can compute.
 * Included by one test file each (its functions are static). */
#ifndef CARVE_LAB_TOY_H
#define CARVE_LAB_TOY_H

#include "internal.h"
#include "lab.h"

#include <stdlib.h>
#include <string.h>

/* ---- a toy allocator with a footprint anyone can compute -----------------------------------
 * Every allocation takes 16 header bytes plus the size rounded up to 16 from the lab's arena;
 * nothing is ever reused. usable = the rounded size. Its stats call every freed block free. */
typedef struct bump {
    lab_arena *arena;
    size_t free_bytes, largest_free;
    int broken; /* 0 sound, 1 hands out the same block twice, 2 realloc loses content,
                   3 usable too small, 4 free fails, 5 misaligned,
                   6 refuses requests over 150 bytes (sound, but limited) */
    unsigned char *last;
} bump;

static int bump_broken;

static void *bump_create(const lab_env *env)
{
    bump *b = calloc(1, sizeof *b);
    b->arena = env->arena;
    b->broken = bump_broken;
    return b;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static void *bump_alloc(void *a, size_t size)
{
    bump *b = a;
    unsigned char *p;
    if (b->broken == 6 && size > 150) return NULL;
    if (b->broken == 1 && b->last != NULL) {
        p = b->last; /* the previous block, handed out again */
    } else {
        unsigned char *mem = lab_arena_grow(b->arena, 16 + round16(size) + (b->broken == 5 ? 16 : 0), NULL);
        if (mem == NULL) return NULL;
        p = mem + (b->broken == 5 ? 24 : 16);
    }
    memcpy(p - 16, &size, sizeof size);
    p[-8] = 0; /* used */
    b->last = p;
    return p;
}

static size_t bump_usable(void *a, const void *p)
{
    bump *b = a;
    size_t size;
    memcpy(&size, (const unsigned char *)p - 16, sizeof size);
    return b->broken == 3 ? size / 2 : round16(size);
}

static carve_status bump_free(void *a, void *p)
{
    bump *b = a;
    if (b->broken == 4) return CARVE_EDOUBLEFREE;
    size_t block = 16 + bump_usable(a, p);
    ((unsigned char *)p)[-8] = 1; /* free */
    b->free_bytes += block;
    if (block > b->largest_free) b->largest_free = block;
    return CARVE_OK;
}

static void *bump_realloc(void *a, void *p, size_t size)
{
    bump *b = a;
    unsigned char *q = bump_alloc(a, size);
    if (q == NULL) return NULL;
    size_t old = bump_usable(a, p);
    memcpy(q, p, old < size ? old : size);
    if (b->broken == 2) q[0] ^= 1;
    bump_free(a, p);
    return q;
}

static bool bump_stats(void *a, carve_stats *out)
{
    bump *b = a;
    if (!carve_stats_begin(out)) return false;
    out->free = b->free_bytes;
    out->largest_free = b->largest_free;
    return true;
}

static void bump_destroy(void *a) { free(a); }

/* Every block in address order: the arena is handed out bottom-up, one block per grow. */
static void bump_walk(void *a, carve_walk_fn fn, void *ctx)
{
    bump *b = a;
    size_t off = 0;
    while (off < b->arena->top) {
        unsigned char *mem = b->arena->base + off;
        size_t size;
        memcpy(&size, mem, sizeof size);
        carve_block_info bi = {.start = (uintptr_t)mem, .size = 16 + round16(size), .used = mem[8] == 0};
        bi.payload = bi.used ? round16(size) : 0;
        fn(ctx, &bi);
        off += bi.size;
    }
}

static const lab_adapter bump_adapter = {
    .name = "bump", .about = "test", .align = 16,
    .create = bump_create, .alloc = bump_alloc, .realloc = bump_realloc, .free = bump_free,
    .usable = bump_usable, .stats = bump_stats, .walk = bump_walk, .destroy = bump_destroy,
};

#endif
