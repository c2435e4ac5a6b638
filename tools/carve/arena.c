/*
 * tools/carve/arena.c: the memory the caller-memory allocators grow into during a replay.
 *
 * One reservation from src/os, handed out bottom-up in granule-rounded chunks, so successive
 * grows are adjacent (like sbrk). `granted` counts what the allocator holds now and `peak` its
 * high-water mark: that is the footprint the lab reports. Chunks given back (slab's release)
 * are kept on a list and reused for a request of the same size; they never return to the OS
 * until the arena is closed.
 */
#include "lab.h"
#include "internal.h"
#include "os/os.h"

#include <stdlib.h>

typedef struct lab_chunk {
    struct lab_chunk *next;
    void *mem;
    size_t bytes;
} lab_chunk;

int lab_arena_open(lab_arena *a, size_t reserve, size_t granule)
{
    *a = (lab_arena){0};
    a->granule = granule != 0 && carve_is_pow2(granule) ? granule : 16;
    a->base = carve_os_map(reserve, 0);
    if (a->base == NULL) return -1;
    a->reserved = reserve;
    return 0;
}

void lab_arena_close_spares(lab_arena *a)
{
    while (a->spare != NULL) {
        lab_chunk *c = a->spare;
        a->spare = c->next;
        free(c);
    }
}

void lab_arena_close(lab_arena *a)
{
    lab_arena_close_spares(a);
    if (a->base != NULL) carve_os_unmap(a->base, a->reserved);
    *a = (lab_arena){0};
}

void *lab_arena_grow(void *ctx, size_t min_bytes, size_t *got)
{
    lab_arena *a = ctx;
    size_t bytes;
    if (min_bytes == 0 || !carve_align_up_checked(min_bytes, a->granule, &bytes)) return NULL;
    void *mem = NULL;
    for (lab_chunk **pc = &a->spare; *pc != NULL; pc = &(*pc)->next) {
        if ((*pc)->bytes == bytes) {
            lab_chunk *c = *pc;
            *pc = c->next;
            mem = c->mem;
            free(c);
            break;
        }
    }
    if (mem == NULL) {
        if (a->align_pow2 && bytes >= 4096 && carve_is_pow2(bytes)) a->top = carve_align_up(a->top, bytes);
        if (a->top > a->reserved || bytes > a->reserved - a->top) return NULL;
        mem = a->base + a->top;
        a->top += bytes;
    }
    a->granted += bytes;
    if (a->granted > a->peak) a->peak = a->granted;
    if (got != NULL) *got = bytes;
    return mem;
}

void lab_arena_release(void *ctx, void *mem, size_t bytes)
{
    lab_arena *a = ctx;
    size_t rounded = carve_align_up(bytes, a->granule);
    lab_chunk *c = malloc(sizeof *c);
    if (c != NULL) {
        *c = (lab_chunk){.next = a->spare, .mem = mem, .bytes = rounded};
        a->spare = c;
    }
    a->granted -= rounded <= a->granted ? rounded : a->granted;
}
