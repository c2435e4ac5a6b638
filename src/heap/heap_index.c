/*
 * src/heap/heap_index.c: where the region heap finds free blocks, one index per policy.
 *
 * FIRST, NEXT, BEST, WORST keep every free block on one doubly linked list whose order is
 * cfg->order:
 *   LIFO       a freed block goes to the front           insert O(1)
 *   FIFO       a freed block goes to the back            insert O(1)
 *   ADDRESS    ascending block address                   insert O(n)
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
 * TLSF (Masmano et al.): lists indexed by (fl, sl): sizes below 16 units of G map linearly to
 * fl 0; above, fl is the position of the top bit and sl the next 4 bits, so each power-of-two
 * range is cut into 16 lists. Two bitmap levels find the first non-empty list at or above a
 * class in O(1). A request first looks at the head of its own class (a block there may fit);
 * otherwise it rounds up to the next class boundary, where every block fits: O(1), whatever the
 * heap holds.
 */
#include "heap/heap_internal.h"

static unsigned tlsf_fl(unsigned align_log2, size_t size)
{
    size_t u = size >> align_log2;
    return u < TLSF_SL ? 0 : carve_log2_floor(u) - TLSF_SL_LOG2 + 1;
}

unsigned heap_index_rows(const carve_heap *h, size_t capacity)
{
    unsigned rows = tlsf_fl(h->align_log2, capacity) + 1;
    return rows < TLSF_FL_MAX ? rows : TLSF_FL_MAX;
}


/* ---- class mappings ---------------------------------------------------------------------- */

/* ---- the single list of FIRST/NEXT/BEST/WORST ---------------------------------------------- */

static bool list_before(const carve_heap *h, const fblock *a, const fblock *b)
{
    size_t sa = w_size(a->head), sb = w_size(b->head);
    switch (h->order) {
    case CARVE_ORDER_SIZE_ASC: return sa < sb || (sa == sb && a < b);
    case CARVE_ORDER_SIZE_DESC: return sa > sb || (sa == sb && a < b);
    default: return a < b;
    }
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
    if (h->tail != NULL && list_before(h, h->tail, b)) {
        list_link_before(h, b, NULL);
        return;
    }
    fblock *at = h->head;
    while (at != NULL && list_before(h, at, b)) at = at->next;
    list_link_before(h, b, at);
}

void heap_list_remove(carve_heap *h, fblock *b)
{
    if (b->prev != NULL) b->prev->next = b->next;
    else h->head = b->next;
    if (b->next != NULL) b->next->prev = b->prev;
    else h->tail = b->prev;
    if (h->rover == b) h->rover = b->next;
}

fblock *heap_list_find(carve_heap *h, size_t size)
{
    fblock *pick = NULL;
    switch (h->fit) {
    case CARVE_FIT_FIRST:
        for (fblock *b = h->head; b != NULL; b = b->next)
            if (w_size(b->head) >= size) return b;
        return NULL;
    case CARVE_FIT_NEXT: {
        fblock *start = h->rover != NULL ? h->rover : h->head;
        for (fblock *b = start; b != NULL; b = b->next)
            if (w_size(b->head) >= size) return h->rover = b;
        for (fblock *b = h->head; b != start; b = b->next)
            if (w_size(b->head) >= size) return h->rover = b;
        return NULL;
    }
    case CARVE_FIT_BEST:
        for (fblock *b = h->head; b != NULL; b = b->next) {
            size_t s = w_size(b->head);
            if (s < size || (pick != NULL && s >= w_size(pick->head))) continue;
            pick = b;
            if (s == size || h->order == CARVE_ORDER_SIZE_ASC) break;
        }
        return pick;
    default: /* CARVE_FIT_WORST */
        for (fblock *b = h->head; b != NULL; b = b->next) {
            if (pick == NULL || w_size(b->head) > w_size(pick->head)) pick = b;
            if (h->order == CARVE_ORDER_SIZE_DESC) break;
        }
        return pick != NULL && w_size(pick->head) >= size ? pick : NULL;
    }
}

/* ---- the class lists of SEGREGATED and TLSF ----------------------------------------------- */

fblock *heap_seg_find(carve_heap *h, size_t size)
{
    unsigned c = seg_class(h, size);
    for (fblock *b = h->lists[c]; b != NULL; b = b->next)
        if (w_size(b->head) >= size) return b;
    uint64_t above = c + 1 < 64 ? h->top_map & (~(uint64_t)0 << (c + 1)) : 0;
    return above != 0 ? h->lists[carve_ctz64(above)] : NULL;
}

fblock *heap_tlsf_spill_find(carve_heap *h, size_t size)
{
    for (fblock *b = h->lists[h->nlists - 1]; b != NULL; b = b->next)
        if (w_size(b->head) >= size) return b;
    return NULL;
}

void heap_index_fit_table(carve_heap *h)
{
    unsigned rows = h->rows_wanted, old_n = h->nlists;
    if (h->fit != CARVE_FIT_TLSF || rows <= h->rows) {
        h->rows_wanted = 0;
        return;
    }
    /* only from free space, never by growing (which would put the table at the heap's end,
     * in the way of a block growing there): until a block is free, the spill list serves */
    size_t bytes = heap_index_lists(CARVE_FIT_TLSF, rows) * sizeof(fblock *);
    if (h->free_bytes < bytes + HDR) return; /* cannot fit yet: skip the search */
    fblock **table = heap_alloc_internal(h, bytes);
    if (table == NULL) return;
    h->rows_wanted = 0;
    fblock *spill = h->lists[old_n - 1];
    for (unsigned i = 0; i < old_n - 1; i++) table[i] = h->lists[i];
    for (unsigned i = old_n - 1; i < rows * TLSF_SL; i++) table[i] = NULL;
    unsigned last_row = (old_n - 1) / TLSF_SL;
    h->sl_map[last_row] &= (uint16_t)~(1u << (TLSF_SL - 1));
    if (h->sl_map[last_row] == 0) h->top_map &= ~((uint64_t)1 << last_row);
    uintptr_t old_block = h->table_block;
    h->lists = table;
    h->nlists = rows * TLSF_SL;
    h->rows = rows;
    h->table_block = (uintptr_t)table - HDR;
    while (spill != NULL) {
        fblock *next = spill->next;
        heap_index_insert(h, spill);
        spill = next;
    }
    if (old_block != 0) heap_free_internal(h, old_block);
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

