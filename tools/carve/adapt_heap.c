/*
 * tools/carve/adapt_heap.c: the region heap's six policies (first next best worst segregated
 * tlsf). The heap starts with the smallest first region it accepts and grows through the lab's
 * arena, whose successive chunks are adjacent, so the heap extends its region as with sbrk. Its
 * footprint is everything it took from the arena (control data and headers included). The
 * default first, next, best and worst keep their free blocks in address order, which the heap
 * indexes with treaps (src/heap/heap_tree.c: O(log free blocks) per operation, the list's
 * decisions); the other orders (first:lifo, best:size+, ...) are lists.
 */
#include "carve/heap.h"
#include "lab.h"

#include <stdlib.h>

typedef struct heap_run { carve_heap *h; } heap_run;

static void *heap_create(const lab_env *env, carve_fit fit, carve_order order)
{
    heap_run *r = malloc(sizeof *r);
    if (r == NULL) return NULL;
    carve_heap_config cfg = {.fit = fit, .order = order, .grow = lab_arena_grow, .grow_ctx = env->arena};
    /* The smallest first region the heap accepts: its control data and one block. */
    for (size_t bytes = 256; bytes <= ((size_t)1 << 20); bytes *= 2) {
        size_t got;
        void *mem = lab_arena_grow(env->arena, bytes, &got);
        if (mem == NULL) break;
        r->h = carve_heap_init(mem, got, &cfg);
        if (r->h != NULL) return r;
        lab_arena_release(env->arena, mem, got);
    }
    free(r);
    return NULL;
}

static void *heap_alloc(void *a, size_t size) { return carve_heap_alloc(((heap_run *)a)->h, size); }
static void *heap_realloc(void *a, void *p, size_t size) { return carve_heap_realloc(((heap_run *)a)->h, p, size); }
static carve_status heap_free(void *a, void *p) { return carve_heap_free(((heap_run *)a)->h, p); }
static size_t heap_usable(void *a, const void *p) { return carve_heap_usable_size(((heap_run *)a)->h, p); }
static void heap_walk(void *a, carve_walk_fn fn, void *ctx) { carve_heap_walk(((heap_run *)a)->h, fn, ctx); }
static size_t heap_check(void *a) { return carve_heap_check(((heap_run *)a)->h); }
static void heap_destroy(void *a) { free(a); }

static bool heap_stats(void *a, carve_stats *out)
{
    carve_heap_stats(((heap_run *)a)->h, out);
    return true;
}

/* The list policies in an order other than ADDRESS search one list of every free block, and
 * keep a sorted one in order by walking it (heap_index.c): on a recording with thousands of free
 * blocks, that is most of the time. (ADDRESS order is indexed by treaps: no note.) */
static const char list_cost[] = "searches a list of every free block: O(free blocks) per operation";

#define HEAP_ADAPTER_ORDER(ID, NAME, FIT, ORDER, ABOUT)                                            \
    static void *create_##ID(const lab_env *env) { return heap_create(env, FIT, ORDER); }        \
    const lab_adapter lab_adapter_##ID = {                                                        \
        .name = NAME, .about = ABOUT, .align = 16, .create = create_##ID,                         \
        .alloc = heap_alloc, .realloc = heap_realloc, .free = heap_free, .usable = heap_usable,   \
        .walk = heap_walk, .stats = heap_stats, .check = heap_check, .destroy = heap_destroy,     \
        .cost = FIT <= CARVE_FIT_WORST && ORDER != CARVE_ORDER_ADDRESS ? list_cost : NULL,        \
    };
#define HEAP_ADAPTER(NAME, FIT, ABOUT) HEAP_ADAPTER_ORDER(NAME, #NAME, FIT, CARVE_ORDER_ADDRESS, ABOUT)

HEAP_ADAPTER(first, CARVE_FIT_FIRST, "region heap, first fit (address order, treap index)")
HEAP_ADAPTER(next, CARVE_FIT_NEXT, "region heap, next fit (address order, treap index)")
HEAP_ADAPTER(best, CARVE_FIT_BEST, "region heap, best fit (address order, treap index)")
HEAP_ADAPTER(worst, CARVE_FIT_WORST, "region heap, worst fit (address order, treap index)")
HEAP_ADAPTER(segregated, CARVE_FIT_SEGREGATED, "region heap, segregated free lists")
HEAP_ADAPTER(tlsf, CARVE_FIT_TLSF, "region heap, two-level segregated fit")

/* The list policies with another free-list order, by name: first:lifo, best:size+, ... (not in
 * the default set; --alloc names them). */
#define ORDERS(P, FIT)                                                                              \
    HEAP_ADAPTER_ORDER(P##_lifo, #P ":lifo", FIT, CARVE_ORDER_LIFO, "list: freed blocks in front")  \
    HEAP_ADAPTER_ORDER(P##_fifo, #P ":fifo", FIT, CARVE_ORDER_FIFO, "list: freed blocks at the back") \
    HEAP_ADAPTER_ORDER(P##_size_up, #P ":size+", FIT, CARVE_ORDER_SIZE_ASC, "list: by ascending size") \
    HEAP_ADAPTER_ORDER(P##_size_down, #P ":size-", FIT, CARVE_ORDER_SIZE_DESC, "list: by descending size")
ORDERS(first, CARVE_FIT_FIRST)
ORDERS(next, CARVE_FIT_NEXT)
ORDERS(best, CARVE_FIT_BEST)
ORDERS(worst, CARVE_FIT_WORST)

#define ORDER_REFS(P) &lab_adapter_##P##_lifo, &lab_adapter_##P##_fifo, &lab_adapter_##P##_size_up, &lab_adapter_##P##_size_down
const lab_adapter *const lab_heap_order_adapters[] = {
    ORDER_REFS(first), ORDER_REFS(next), ORDER_REFS(best), ORDER_REFS(worst), NULL,
};
