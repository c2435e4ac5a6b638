/*
 * fuzz/small_fuzz.c: one libFuzzer harness for the pool, the buddy and the slab cache (make
 * fuzz). The input picks the allocator and its parameters, then a stream of operations: alloc,
 * free, realloc (buddy), and bad frees (a pointer into the arena that is no live block start).
 * A shadow table of live blocks, each filled with its own tag, catches overlap and lost
 * contents; the allocator's checker runs after every operation and any violation aborts.
 */
#include "carve/buddy.h"
#include "carve/pool.h"
#include "carve/slab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXLIVE 256

typedef struct input { const uint8_t *p; size_t n; } input;
static unsigned take(input *in, unsigned bytes) /* big-endian, 0 past the end */
{
    unsigned v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (in->n > 0 ? *in->p : 0u);
        if (in->n > 0) in->p++, in->n--;
    }
    return v;
}

typedef struct live { unsigned char *p; size_t usable; uint8_t tag; } live;

static _Alignas(4096) unsigned char arena[1 << 20];

static size_t usable(int kind, void *a, void *p)
{
    if (kind == 0) return carve_pool_usable_size(a, p);
    if (kind == 1) return carve_buddy_usable_size(a, p);
    return carve_slab_usable_size(a, p);
}
static size_t check(int kind, void *a)
{
    if (kind == 0) return carve_pool_check(a);
    if (kind == 1) return carve_buddy_check(a);
    return carve_slab_check(a);
}
static carve_status release(int kind, void *a, void *p)
{
    if (kind == 0) return carve_pool_free(a, p);
    if (kind == 1) return carve_buddy_free(a, p);
    return carve_slab_free(a, p);
}
static void verify(const live *l)
{
    for (size_t x = 0; x < l->usable; x++)
        if (l->p[x] != l->tag) abort(); /* another block overlapped this one */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    int kind = (int)(take(&in, 1) % 3);
    size_t bytes = 1024 + take(&in, 2) * 8;
    void *a;
    if (kind == 0) a = carve_pool_init_ex(arena, bytes, 1 + take(&in, 1), take(&in, 1) & 1 ? CARVE_POOL_HARDENED : 0, 0);
    else if (kind == 1) a = carve_buddy_init(arena, bytes, (size_t)16 << (take(&in, 1) % 4));
    else a = carve_slab_create(NULL);
    if (a == NULL) return 0;
    static live lv[MAXLIVE];
    size_t nlive = 0;
    uint8_t tag = 1;
    while (in.n > 0) {
        unsigned op = take(&in, 1) % 4;
        if (op == 0 && nlive < MAXLIVE) {
            size_t want = take(&in, 2) % 5000;
            unsigned char *p = kind == 0   ? carve_pool_alloc(a)
                               : kind == 1 ? carve_buddy_alloc(a, want)
                                           : carve_slab_alloc(a, want);
            if (p != NULL) {
                size_t u = usable(kind, a, p);
                if (u == 0 || (kind != 0 && u < want)) abort();
                lv[nlive] = (live){p, u, tag++};
                memset(p, lv[nlive].tag, u);
                nlive++;
            }
        } else if (op == 1 && nlive > 0) {
            size_t k = take(&in, 1) % nlive;
            verify(&lv[k]);
            if (release(kind, a, lv[k].p) != CARVE_OK) abort();
            lv[k] = lv[--nlive];
        } else if (op == 2 && nlive > 0 && kind == 1) {
            size_t k = take(&in, 1) % nlive;
            verify(&lv[k]);
            size_t want = take(&in, 2) % 5000;
            unsigned char *q = carve_buddy_realloc(a, lv[k].p, want);
            if (q != NULL) {
                size_t u = carve_buddy_usable_size(a, q), keep = u < lv[k].usable ? u : lv[k].usable;
                for (size_t x = 0; x < keep; x++)
                    if (q[x] != lv[k].tag) abort();
                lv[k] = (live){q, u, tag++};
                memset(q, lv[k].tag, u);
            }
        } else if (op == 3) {
            unsigned char *p = arena + take(&in, 3) % sizeof arena;
            if (kind == 2 && nlive > 0) p = lv[take(&in, 1) % nlive].p + 1 + take(&in, 1) % 16;
            bool is_live = false;
            for (size_t k = 0; k < nlive; k++) is_live |= lv[k].p == p;
            if (!is_live && release(kind, a, p) == CARVE_OK) abort(); /* only live blocks free */
        }
        if (check(kind, a) != 0) abort();
    }
    for (size_t k = 0; k < nlive; k++) {
        verify(&lv[k]);
        if (release(kind, a, lv[k].p) != CARVE_OK) abort();
    }
    if (check(kind, a) != 0) abort();
    if (kind == 2) carve_slab_destroy(a);
    return 0;
}
