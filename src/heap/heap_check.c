/*
 * src/heap/heap_check.c: the region heap's three views: carve_heap_check (every invariant listed
 * in heap.c, counted), carve_heap_walk (blocks in address order) and carve_heap_stats.
 *
 * All three are O(blocks + free-list entries) and only read the heap. The checker never
 * follows a pointer it has not first found inside a region, so a damaged heap gives a count,
 * not a crash; a walk stops at the first damaged header of a region.
 */
#include "heap/heap_internal.h"

typedef struct walk_sums {
    size_t used, free, free_blocks, own, nown, requested, largest_free;
} walk_sums;

/* Check one region's blocks and epilogue; add its sums. */
static size_t check_region(const carve_heap *h, const region *r, walk_sums *sum)
{
    size_t bad = 0;
    if (r->first < r->mem || r->end + HDR > r->mem_end || r->first >= r->end ||
        ((r->first + HDR) & (h->align - 1)) != 0 || ((r->end + HDR) & (h->align - 1)) != 0)
        return 1;
    bool prev_free = false;
    uintptr_t x = r->first;
    while (x < r->end) {
        uint64_t w = *word_at(x);
        size_t size = w_size(w);
        if (!w_valid(h, x, w) || size < h->min_block || (size & (h->align - 1)) != 0 ||
            size > r->end - x)
            return bad + 1; /* cannot go on: the next block is unknown */
        bad += ((w & F_PREV_FREE) != 0) != prev_free;
        if (w_used(w) && (w & F_OWN) != 0) {
            /* the TLSF table: heap overhead, not used or requested */
            bad += x != h->table_block || w_slack(w) != 0;
            sum->own += size;
            sum->nown++;
        } else if (w_used(w)) {
            bad += w_slack(w) > usable_of(w);
            sum->used += size;
            sum->requested += usable_of(w) - w_slack(w);
        } else {
            bad += *word_at(x + size - HDR) != (w & ~F_PREV_FREE); /* footer */
            bad += w_slack(w) != 0;
            bad += h->coalesce && prev_free;                       /* two free neighbours */
            sum->free += size;
            sum->free_blocks++;
            if (size > sum->largest_free) sum->largest_free = size;
        }
        prev_free = !w_used(w);
        x += size;
    }
    uint64_t e = *word_at(r->end);
    bad += x != r->end || !w_valid(h, r->end, e) || w_size(e) != 0 || !w_used(e) ||
           ((e & F_PREV_FREE) != 0) != prev_free;
    return bad;
}

/* The class list a free block of this size belongs to: SEGREGATED its class; TLSF
 * fl * TLSF_SL + sl in the fine table, fl * TLSF_SL for a coarse row's list. */
static long list_of(const carve_heap *h, size_t size)
{
    cls c = class_of(h, size);
    return h->fit == CARVE_FIT_TLSF ? (long)(c.fl * TLSF_SL + c.sl) : (long)c.fl;
}

/* Check one NULL-terminated list: sound links, free blocks, the right slot (or the list's
 * order), at most `limit` entries. Adds its length to *count. */
static size_t check_list(const carve_heap *h, const fblock *head, long slot, size_t limit, size_t *count,
                         const fblock **last, bool *saw_rover)
{
    size_t bad = 0;
    const fblock *prev = NULL;
    const region *hint = NULL;
    for (const fblock *b = head; b != NULL; prev = b, b = b->next) {
        if (++*count > limit) return bad + 1; /* longer than the free blocks: a cycle or a stray */
        if (!block_sound_near(h, b, &hint) || !footer_sound(b)) return bad + 1;
        bad += b->prev != prev;
        if (b == h->rover) *saw_rover = true;
        if (slot >= 0) {
            bad += list_of(h, w_size(b->head)) != slot;
        } else if (prev != NULL) {
            size_t sp = w_size(prev->head), sb = w_size(b->head);
            switch (h->order) {
            case CARVE_ORDER_ADDRESS: bad += !(prev < b); break;
            case CARVE_ORDER_SIZE_ASC: bad += !(sp < sb || (sp == sb && prev < b)); break;
            case CARVE_ORDER_SIZE_DESC: bad += !(sp > sb || (sp == sb && prev < b)); break;
            default: break;
            }
        }
    }
    if (last != NULL) *last = prev;
    return bad;
}

/* TLSF's table: in the control area or in the heap's one OWN block, with room for its rows. */
static size_t check_table(const carve_heap *h, const walk_sums *sum)
{
    size_t bad = h->rows == 0 || h->rows > TLSF_FL_MAX || h->rows_wanted > TLSF_FL_MAX;
    bad += h->coarse_rows == 0 || h->fine_idx != TLSF_SL * carve_ctz64(h->coarse_rows) || h->sl_map[TLSF_FL_MAX] != 0;
    if (h->table_block == 0) {
        bad += (uintptr_t)h->lists != (uintptr_t)&h->coarse[TLSF_FL_MAX] || sum->nown != 0;
    } else {
        bad += (uintptr_t)h->lists != h->table_block + HDR || sum->nown != 1 ||
               sum->own < HDR + (size_t)h->rows * TLSF_SL * sizeof(fblock *) ||
               ((*word_at(h->table_block) ^ h->table_word) & ~F_PREV_FREE) != 0;
    }
    return bad;
}

static size_t check_index(const carve_heap *h, const walk_sums *sum)
{
    size_t bad = 0, count = 0, free_blocks = sum->free_blocks;
    bool saw_rover = false;
    if (is_tree_index(h)) return heap_tree_check(h, free_blocks); /* heap_tree.c */
    bad += h->troot[0] != NULL || h->troot[1] != NULL || h->troot[2] != NULL;
    if (h->fit <= CARVE_FIT_WORST) {
        const fblock *last = NULL;
        bad += check_list(h, h->head, -1, free_blocks, &count, &last, &saw_rover);
        bad += last != h->tail;
        bad += h->rover != NULL && !saw_rover;
        bad += h->fit != CARVE_FIT_NEXT && h->rover != NULL;
        bad += h->top_map != 0;
    } else if (h->fit == CARVE_FIT_SEGREGATED) {
        for (unsigned c = 0; c < SEG_CLASSES; c++) {
            bad += check_list(h, h->lists[c], c, free_blocks, &count, NULL, &saw_rover);
            bad += ((h->top_map >> c) & 1u) != (h->lists[c] != NULL);
        }
        bad += (h->top_map >> SEG_CLASSES) != 0;
        bad += h->head != NULL || h->rover != NULL;
    } else {
        size_t table_bad = check_table(h, sum);
        if (table_bad != 0) return bad + table_bad; /* the lists cannot be found */
        for (unsigned fl = 0; fl < TLSF_FL_MAX; fl++) {
            bool coarse = ((h->coarse_rows >> fl) & 1) != 0;
            for (unsigned sl = 0; sl < (coarse ? 1 : TLSF_SL); sl++) {
                const fblock *head = coarse ? h->coarse[fl] : h->lists[fl * TLSF_SL + sl];
                bad += check_list(h, head, fl * TLSF_SL + sl, free_blocks, &count, NULL, &saw_rover);
                bad += ((h->sl_map[fl] >> sl) & 1u) != (head != NULL);
            }
            if (!coarse) {
                bad += h->coarse[fl] != NULL || fl >= h->rows; /* the rows beyond the table are coarse */
                for (unsigned sl = 0; fl >= h->rows && sl < TLSF_SL; sl++) bad += h->lists[fl * TLSF_SL + sl] != NULL;
            } else {
                bad += (h->sl_map[fl] >> 1) != 0;              /* a coarse row has one list */
                bad += fl < h->rows && h->coarse[fl] == NULL;   /* below the rows, only while not empty */
            }
        }
        for (unsigned fl = 0; fl < TLSF_FL_MAX; fl++) {
            bad += (((h->top_map >> fl) & 1u) != 0) != (h->sl_map[fl] != 0);
        }
        bad += (h->top_map >> TLSF_FL_MAX) != 0;
        bad += h->head != NULL || h->rover != NULL;
    }
    bad += count != free_blocks; /* with distinct, sound entries: each free block exactly once */
    return bad;
}

CARVE_API size_t carve_heap_check(const carve_heap *h)
{
    if (h == NULL) return 1;
    size_t bad = 0, capacity = h->control, blocks = 0;
    walk_sums sum = {0};
    uintptr_t prev_end = 0;
    for (const region *r = h->regions; r != NULL; r = r->next) {
        bad += r->mem < prev_end; /* sorted, disjoint */
        prev_end = r->mem_end;
        capacity += r->mem_end - r->mem;
        blocks += r->end - r->first;
        bad += check_region(h, r, &sum);
    }
    bad += capacity != h->capacity;
    bad += h->last == NULL || h->last_first != h->last->first || h->last_end != h->last->end;
    bad += h->tlsf_fast != (h->fit == CARVE_FIT_TLSF && h->coalesce && h->split_high == 0);
    bad += blocks != h->block_bytes;
    bad += sum.used != h->block_bytes - h->free_bytes - h->own_bytes;
    bad += sum.free != h->free_bytes;
    bad += sum.free_blocks != h->free_blocks;
    bad += sum.requested != h->requested;
    bad += h->peak_requested < h->requested;
    bad += sum.own != h->own_bytes;
    bad += h->block_bytes > h->capacity || h->free_bytes + h->own_bytes > h->block_bytes;
    bad += check_index(h, &sum);
    return bad;
}

CARVE_API void carve_heap_walk(const carve_heap *h, carve_walk_fn fn, void *ctx)
{
    if (h == NULL || fn == NULL) return;
    for (const region *r = h->regions; r != NULL; r = r->next) {
        for (uintptr_t x = r->first; x < r->end;) {
            uint64_t w = *word_at(x);
            size_t size = w_size(w);
            if (!w_valid(h, x, w) || size < h->min_block || size > r->end - x) break;
            carve_block_info info = {.start = x, .size = size, .used = w_used(w),
                                     .payload = w_used(w) && (w & F_OWN) == 0 ? usable_of(w) : 0};
            fn(ctx, &info);
            x += size;
        }
    }
}

static void largest_free(void *ctx, const carve_block_info *b)
{
    size_t *largest = ctx;
    if (!b->used && b->size > *largest) *largest = b->size;
}

CARVE_API void carve_heap_stats(const carve_heap *h, carve_stats *out)
{
    if (h == NULL || !carve_stats_begin(out)) return;
    out->capacity = h->capacity;
    out->used = h->block_bytes - h->free_bytes - h->own_bytes;
    out->free = h->free_bytes;
    out->free_blocks = h->free_blocks;
    carve_heap_walk(h, largest_free, &out->largest_free);
    out->requested = h->requested;
    out->peak_requested = h->peak_requested;
    out->allocs = h->allocs;
    out->frees = h->frees;
    out->failed = h->failed;
}
