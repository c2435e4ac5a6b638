/*
 * src/heap/heap_index.c: where the region heap finds free blocks, one index per policy.
 *
 * FIRST, NEXT, BEST, WORST keep every free block on one doubly linked list whose order is
 * cfg->order:
 *   LIFO       a freed block goes to the front           insert O(1)
 *   FIFO       a freed block goes to the back            insert O(1)
 *   ADDRESS    ascending block address                   insert O(n) (only when the heap's
 *              tree flag is clear: normally heap_tree.c's treaps index ADDRESS order instead,
 *              with the same decisions; the tests keep this list as their reference)
 *   SIZE_ASC   ascending size, ties by ascending address insert O(n)
 *   SIZE_DESC  descending size, ties by ascending address insert O(n)
 * and search it, in list order, for:
 *   FIRST  the first block that fits; NEXT  the same, starting at the roving pointer (the block
 *   the previous search ended on) and wrapping once; BEST  a smallest fitting block (the first of
 *   equals); WORST  a largest block (the first of equals), if it fits. Search is O(n).
 * When an allocation splits a block, the remainder (the high part) keeps the block's place in a
 * LIFO, FIFO or ADDRESS list and is re-inserted by size in the SIZE orders.
 *
 * SEGREGATED (seed 000): class c holds the free blocks of size [min_block * 2^c,
 * min_block * 2^(c+1)), each a LIFO list. A request searches its own class first fit, then takes
 * the head of the next non-empty class above (found through a bitmap), which always fits.
 *
 * TLSF (Masmano et al.; inline in heap_internal.h): lists indexed by (fl, sl): sizes below 16
 * units of G map linearly to fl 0; above, fl is the position of the top bit and sl the next 4
 * bits, so each power-of-two range is cut into 16 lists. Two bitmap levels find the first
 * non-empty list at or above a class in O(1). A request first looks at the head of its own class
 * (a block there may fit); otherwise it rounds up to the next class boundary, where every block
 * fits: O(1), whatever the heap holds. Rows beyond the table (after growth) have one coarse list
 * each, searched the same way (heap_internal.h).
 *
 * Damage: every walk here checks each block it reaches through a link (block_sound) before it
 * reads it, and stops after more steps than there are free blocks (a cycle), answering
 * FB_DAMAGED or false instead of following a bad pointer.
 */
#include "heap/heap_internal.h"

/* ---- the single list of FIRST/NEXT/BEST/WORST ---------------------------------------------- */

/* Does a free block (address a, size sa) come before one at b of size sb in the list order? */
static bool list_before(const carve_heap *h, uintptr_t a, size_t sa, uintptr_t b, size_t sb)
{
    switch (h->order) {
    case CARVE_ORDER_SIZE_ASC: return sa < sb || (sa == sb && a < b);
    case CARVE_ORDER_SIZE_DESC: return sa > sb || (sa == sb && a < b);
    default: return a < b;
    }
}

static bool fb_before(const carve_heap *h, const fblock *a, const fblock *b)
{
    return list_before(h, (uintptr_t)a, w_size(a->head), (uintptr_t)b, w_size(b->head));
}

static void list_link_before(carve_heap *h, fblock *b, fblock *at) /* at NULL: append */
{
    b->next = at;
    b->prev = at != NULL ? at->prev : h->tail;
    if (b->prev != NULL) b->prev->next = b;
    else h->head = b;
    if (at != NULL) at->prev = b;
    else h->tail = b;
}

void heap_list_insert(carve_heap *h, fblock *b)
{
    switch (h->order) {
    case CARVE_ORDER_LIFO: list_link_before(h, b, h->head); return;
    case CARVE_ORDER_FIFO: list_link_before(h, b, NULL); return;
    default: break;
    }
    if (h->tail != NULL && fb_before(h, h->tail, b)) {
        list_link_before(h, b, NULL);
        return;
    }
    fblock *at = h->head;
    while (at != NULL && fb_before(h, at, b)) at = at->next;
    list_link_before(h, b, at);
}

bool heap_list_insertable(const carve_heap *h, uintptr_t b, size_t size, const fblock *skip1, const fblock *skip2)
{
    /* LIFO and FIFO write the head or the tail, kept in the control struct (heads_trusted);
     * the sorted orders read every block on the path to the insertion point, the tail first
     * (their shortcut); a skipped block's neighbours were checked by heap_index_removable */
    if (h->order == CARVE_ORDER_LIFO || h->order == CARVE_ORDER_FIFO) return true;
    const fblock *t = h->tail;
    if (t != NULL && t != skip1 && t != skip2 && !(block_sound(h, t) && t->next == NULL)) return false;
    const region *hint = NULL;
    const fblock *prev = NULL;
    size_t steps = 0;
    for (const fblock *at = h->head; at != NULL; prev = at, at = at->next) {
        if (++steps > h->free_blocks) return false; /* a cycle */
        if (at != skip1 && at != skip2) {
            if (!block_sound_near(h, at, &hint) || at->prev != prev) return false;
            if (!list_before(h, (uintptr_t)at, w_size(at->head), b, size)) return true;
        }
    }
    return true;
}

void heap_list_remove(carve_heap *h, fblock *b)
{
    if (b->prev != NULL) b->prev->next = b->next;
    else h->head = b->next;
    if (b->next != NULL) b->next->prev = b->prev;
    else h->tail = b->prev;
    if (h->rover == b) h->rover = b->next;
}

/* Walks the list checking each block before it reads it. */
typedef struct walk {
    const carve_heap *h;
    const region *hint;
    size_t steps;
    bool damaged;
} walk;

/* b (reached through a link) is sound; else the walk is marked damaged. */
static bool walk_ok(walk *w, const fblock *b)
{
    if (++w->steps > w->h->free_blocks || !block_sound_near(w->h, b, &w->hint)) w->damaged = true;
    return !w->damaged;
}

static fblock *list_find(carve_heap *h, size_t size, walk *w)
{
    fblock *pick = NULL;
    switch (h->fit) {
    case CARVE_FIT_FIRST:
        for (fblock *b = h->head; b != NULL && walk_ok(w, b); b = b->next)
            if (w_size(b->head) >= size) return b;
        return NULL;
    case CARVE_FIT_NEXT: {
        fblock *start = h->rover != NULL ? h->rover : h->head;
        for (fblock *b = start; b != NULL && walk_ok(w, b); b = b->next)
            if (w_size(b->head) >= size) return h->rover = b;
        for (fblock *b = h->head; b != start && b != NULL && walk_ok(w, b); b = b->next)
            if (w_size(b->head) >= size) return h->rover = b;
        return NULL;
    }
    case CARVE_FIT_BEST:
        for (fblock *b = h->head; b != NULL && walk_ok(w, b); b = b->next) {
            size_t s = w_size(b->head);
            if (s < size || (pick != NULL && s >= w_size(pick->head))) continue;
            pick = b;
            if (s == size || h->order == CARVE_ORDER_SIZE_ASC) break;
        }
        return pick;
    default: /* CARVE_FIT_WORST */
        for (fblock *b = h->head; b != NULL && walk_ok(w, b); b = b->next) {
            if (pick == NULL || w_size(b->head) > w_size(pick->head)) pick = b;
            if (h->order == CARVE_ORDER_SIZE_DESC) break;
        }
        return pick != NULL && w_size(pick->head) >= size ? pick : NULL;
    }
}

fblock *heap_list_find(carve_heap *h, size_t size)
{
    walk w = {h, NULL, 0, false};
    fblock *rover = h->rover;
    fblock *b = list_find(h, size, &w);
    if (!w.damaged) return b;
    h->rover = rover; /* NEXT: a damaged search moves nothing */
    return FB_DAMAGED;
}

/* ---- SEGREGATED's search ------------------------------------------------------------------- */

fblock *heap_seg_find(carve_heap *h, size_t size)
{
    unsigned c = seg_class(h, size);
    walk w = {h, NULL, 0, false};
    for (fblock *b = h->lists[c]; b != NULL; b = b->next) {
        if (!walk_ok(&w, b)) return FB_DAMAGED;
        if (w_size(b->head) >= size) return b;
    }
    uint64_t above = c + 1 < 64 ? h->top_map & (~(uint64_t)0 << (c + 1)) : 0;
    if (above == 0) return NULL;
    fblock *b = h->lists[carve_ctz64(above)];
    return block_sound(h, b) ? b : FB_DAMAGED;
}

/* ---- the interface ------------------------------------------------------------------------ */

void heap_list_replace(carve_heap *h, fblock *b, fblock *rest)
{
    rest->next = b->next;
    rest->prev = b->prev;
    if (rest->prev != NULL) rest->prev->next = rest;
    else h->head = rest;
    if (rest->next != NULL) rest->next->prev = rest;
    else h->tail = rest;
    if (h->rover == b) h->rover = rest;
}
