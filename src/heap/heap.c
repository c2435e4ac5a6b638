/*
 * src/heap/heap.c: the region heap (seeds 000, 001, 002): allocation, free, realloc, growth and
 * the misuse checks. The block layout is drawn in heap_internal.h; the free-block indexes of the
 * six policies are in heap_index.c; check, walk and stats in heap_check.c.
 *
 * Algorithm. A request for n bytes needs a block of S = max(min_block, align_up(n + 8, G)).
 * The policy's index finds a free block of at least S; the low S bytes become the used block and
 * a remainder of at least min_block stays free (else the whole block is used). Free clears the
 * block and, unless cfg->no_coalesce, merges it with a free neighbour on either side in O(1)
 * through the boundary tags (the PREV_FREE bit and the footer). When nothing fits, the grow
 * callback is asked: memory that begins where a region ends extends that region (its last
 * block grows, as with sbrk); other memory becomes a new region.
 *
 * Every operation first checks everything it is about to follow or change, then changes: the
 * block it takes or frees (header, footer, neighbours), the list neighbours of each block it
 * unlinks (safe unlinking) and the list heads it links in front of. Damage found on the way
 * gives NULL (counted in failed) or CARVE_ECORRUPT, with the heap unchanged.
 *
 * TLSF's list table: the control area holds the rows (16 heads each) the initial memory needs.
 * A block of a row beyond the table goes to that row's one coarse list (heap_internal.h), so
 * alloc stays O(1) after growth. When the heap has outgrown the table, an alloc moves it into a
 * free block that holds the rows the largest region needs (heap_tlsf_grow_table: O(rows)
 * copies; the old table is freed); a row whose coarse list is not empty stays coarse until it
 * empties, so nothing is ever searched linearly or re-filed. The table's block is marked OWN.
 *
 * Invariants (carve_heap_check verifies them all): the blocks of a region tile [first, end)
 * exactly and every header passes its check; PREV_FREE is set exactly when the block before is
 * free; a free block's footer repeats its size; with coalescing no two free blocks touch; every
 * free block is in the index exactly once, in the list its size and the order call for (TLSF:
 * its fine list, or its row's coarse list for every row beyond the table and, below it, for rows
 * still marked coarse); the bitmaps match the lists; the counters equal a walk's sums.
 *
 * Bounds: free O(1) apart from the insert of an ADDRESS/SIZE-ordered list (O(free blocks));
 * alloc O(1) for TLSF, O(classes + one class) for SEGREGATED, O(free blocks) for the lists. A
 * pointer read from the heap's memory is checked against the region last grown in O(1), and
 * against the others by a walk of the regions. Misuse is detected in O(1) on the fast path; a
 * pointer whose header fails the check costs one walk of its region to say whether it lies
 * inside a block or the heap is damaged.
 */
#include "heap/heap_internal.h"

#include <string.h>

/* Hot helpers are inlined into the public calls; misuse diagnosis and growth stay out of line. */
#define CARVE_HOT  static inline __attribute__((always_inline))
#define CARVE_COLD __attribute__((noinline, cold))

/* ---- regions ------------------------------------------------------------------------------ */

const region *heap_region_walk(const carve_heap *h, uintptr_t a)
{
    for (const region *r = h->regions; r != NULL; r = r->next)
        if (a >= r->first && a < r->end) return r;
    return NULL;
}

/* r is the region last grown: its bounds are copied into the struct for the O(1) checks. */
static void set_last(carve_heap *h, region *r)
{
    h->last = r;
    h->last_first = r->first;
    h->last_end = r->end;
}

static void link_region(carve_heap *h, region *r)
{
    region **at = &h->regions;
    while (*at != NULL && (*at)->mem < r->mem) at = &(*at)->next;
    r->next = *at;
    *at = r;
}

/* Put a free block [b, b+size) whose predecessor's state is prev_free into the heap (the caller
 * checked heap_index_insertable). */
static void add_free_block(carve_heap *h, uintptr_t b, size_t size, bool prev_free)
{
    mark_free(h, b, size, prev_free);
    heap_index_insert(h, (fblock *)b);
    h->free_bytes += size;
    h->free_blocks++;
}

/* What freeing a used block does: the free block [start, start+total) it becomes, after
 * merging with the free block after it (next) and the one before it (prev), NULL if not. */
typedef struct merge {
    uintptr_t start;
    size_t total;
    bool prev_free;
    fblock *next, *prev;
} merge;

/* ---- taking a block out of a free one ------------------------------------------------------ */

/* The block size a request of n bytes needs; false when none can hold it. */
CARVE_HOT bool block_size_for(const carve_heap *h, size_t n, size_t *out)
{
    if (n >= MAX_BLOCK - HDR - h->align) return false;
    size_t s = carve_align_up(n + HDR, h->align);
    *out = s < h->min_block ? h->min_block : s;
    return true;
}

/* Can the free block fb (sound, found in the index) give a block of size bytes: its footer is
 * sound, it can be unlinked, and the blocks the remainder's insert writes are sound? */
CARVE_HOT bool take_ok(const carve_heap *h, const fblock *fb, size_t size)
{
    size_t have = w_size(fb->head);
    if (have < size || !footer_sound(fb) || !heap_index_removable(h, fb)) return false;
    if (have - size < h->min_block || heap_index_keeps_place(h)) return true;
    uintptr_t rest = size < h->split_high ? (uintptr_t)fb : (uintptr_t)fb + size;
    return heap_index_insertable(h, rest, have - size, fb, NULL);
}

/* Take *size bytes out of the free block fb (checked by take_ok) for a request of n bytes: the
 * low end (the high end below cfg->split_high_below); a remainder of min_block or more stays
 * free, else the whole block is taken and *size grows to it. Returns the used block's start.
 * Counts the free bytes and blocks; the caller counts the block as used (or the heap's own). */
CARVE_HOT uintptr_t take(carve_heap *h, fblock *fb, size_t *size_io, size_t n)
{
    uintptr_t b = (uintptr_t)fb;
    size_t have = w_size(fb->head), size = *size_io;
    bool prev_free = (fb->head & F_PREV_FREE) != 0;
    if (have - size < h->min_block) {
        heap_index_remove(h, fb);
        h->free_blocks--;
        mark_used(h, b, have, have - HDR - n, prev_free);
        h->free_bytes -= have;
        *size_io = have;
        return b;
    }
    h->free_bytes -= size;
    if (size < h->split_high) { /* a small request: the high end, the free rest stays at b */
        bool keep = heap_index_keeps_place(h), rove = h->rover == fb;
        if (!keep) heap_index_remove(h, fb);
        uint64_t w = make_word(h, b, have - size, false, 0, false);
        *word_at(b + have - size - HDR) = w;
        *word_at(b) = w | (prev_free ? F_PREV_FREE : 0);
        if (!keep) heap_index_insert(h, fb);
        if (rove) h->rover = fb; /* NEXT: the rest keeps the rover, as in heap_index_replace */
        uintptr_t c = b + have - size;
        mark_used(h, c, size, size - HDR - n, true);
        return c;
    }
    uintptr_t rest = b + size;
    uint64_t w = make_word(h, rest, have - size, false, 0, false);
    *word_at(rest) = w;
    *word_at(b + have - HDR) = w;
    heap_index_replace(h, fb, (fblock *)rest);
    *word_at(b) = make_word(h, b, size, true, size - HDR - n, prev_free);
    return b;
}

/* ---- the TLSF table ----------------------------------------------------------------------- */

/* The bytes of a fine table of rows rows, as a block. */
static size_t table_block_size(const carve_heap *h, unsigned rows)
{
    size_t need = 0;
    (void)block_size_for(h, (size_t)rows * TLSF_SL * sizeof(fblock *), &need);
    return need;
}

/* Worth a call: the heap wants more rows and has the free space for the bigger table
 * (heap_tlsf_grow_table decides). Inline: one branch. */
CARVE_HOT bool table_may_grow(const carve_heap *h)
{
    return h->rows_wanted > h->rows && h->free_bytes >= table_block_size(h, h->rows_wanted);
}

CARVE_HOT bool release_plan(const carve_heap *h, uintptr_t b, merge *m);
CARVE_HOT void release(carve_heap *h, uintptr_t b, const merge *m);

/* Move the fine table into a free block with the rows the heap wants: O(rows) copies. A new
 * row whose coarse list holds blocks stays coarse until that list empties (nothing is
 * re-filed). The old table goes back as a free block if it was in the heap. Nothing happens
 * when no free block fits or one on the way is damaged. */
CARVE_COLD void heap_tlsf_grow_table(carve_heap *h)
{
    unsigned rows = h->rows_wanted;
    size_t need = table_block_size(h, rows);
    fblock *fb = tlsf_find(h, need);
    if (fb == NULL || fb == FB_DAMAGED || !take_ok(h, fb, need)) return;
    /* fb's list is the same with the new rows (its row stays coarse if it was: it is still in
     * that list); the rest is filed after the switch, in the list the new rows give it */
    uintptr_t b = (uintptr_t)fb;
    size_t have = w_size(fb->head);
    heap_index_remove(h, fb);
    h->free_blocks--;
    h->free_bytes -= have;
    if (have - need < h->min_block) need = have;
    uint64_t w = (uint64_t)need | F_USED | F_OWN;
    w |= hdr_check(h, b, w);
    *word_at(b) = w | (fb->head & F_PREV_FREE);
    set_prev_free(b + need, false);
    h->own_bytes += need;
    fblock **table = (fblock **)(b + HDR), **old = h->lists;
    for (unsigned i = 0; i < h->rows * TLSF_SL; i++) table[i] = old[i];
    for (unsigned i = h->rows * TLSF_SL; i < rows * TLSF_SL; i++) table[i] = NULL;
    for (unsigned fl = h->rows; fl < rows; fl++)
        if (h->sl_map[fl] == 0) h->coarse_rows &= ~((uint64_t)1 << fl);
    tlsf_set_fine_idx(h);
    h->lists = table;
    h->rows = rows;
    h->rows_wanted = 0;
    if (need < have) add_free_block(h, b + need, have - need, false);
    uintptr_t old_block = h->table_block;
    h->table_block = b;
    h->table_word = w;
    if (old_block == 0) return; /* the first table stays in the control area */
    /* the old table is given back like a used block (if its neighbours are sound) */
    uint64_t ow = *word_at(old_block);
    size_t osize = w_size(ow);
    *word_at(old_block) = make_word(h, old_block, osize, true, 0, (ow & F_PREV_FREE) != 0);
    h->own_bytes -= osize;
    h->requested += osize - HDR;
    h->frees--;
    merge m;
    if (release_plan(h, old_block, &m)) {
        release(h, old_block, &m);
        return;
    }
    *word_at(old_block) = ow; /* kept as the heap's own */
    h->own_bytes += osize;
    h->requested -= osize - HDR;
    h->frees++;
}

/* ---- growth ------------------------------------------------------------------------------- */

/* Give [mem, mem+bytes) to the heap. Everything is checked first, then changed: memory that
 * starts where a region ends extends it (a free last block grows into it, else a new free block
 * follows the last one); other memory becomes a new region. TLSF notes the rows the largest
 * region now needs (the next alloc moves the table when it can; meanwhile larger blocks use the
 * coarse lists). CARVE_EINVAL: bad, overlapping or too small memory; CARVE_ECORRUPT: the free
 * last block it would merge with, or a list head it would write, is damaged. The heap is
 * unchanged on either. */
static carve_status add_memory(carve_heap *h, uintptr_t mem, size_t bytes)
{
    if (mem == 0 || bytes == 0 || mem + bytes < mem) return CARVE_EINVAL;
    region *ext = NULL;
    for (region *r = h->regions; r != NULL; r = r->next) {
        if (mem < r->mem_end && mem + bytes > r->mem) return CARVE_EINVAL; /* overlaps */
        if (r->mem_end == mem) ext = r;
    }
    uintptr_t mem_end = mem + bytes, first, start, end;
    bool prev_free = false;
    fblock *tail = NULL; /* the free last block that grows */
    if (ext != NULL) {
        end = carve_align_down(mem_end, h->align) - HDR;
        first = ext->first;
        if (end - first >= MAX_BLOCK) return CARVE_EINVAL;
        start = ext->end;
        prev_free = b_prev_free(ext->end);
        if (prev_free) {
            tail = (fblock *)prev_block(ext->end);
            if (!block_sound(h, tail) || (uintptr_t)tail + b_size((uintptr_t)tail) != ext->end ||
                !heap_index_removable(h, tail))
                return CARVE_ECORRUPT;
            start = (uintptr_t)tail;
            prev_free = b_prev_free(start);
        }
        if (end <= ext->end || (tail == NULL && end - start < h->min_block)) {
            ext->mem_end = mem_end; /* too little for a block yet: kept for the next extension */
            h->capacity += bytes;
            set_last(h, ext);
            return CARVE_OK;
        }
    } else {
        uintptr_t rstart = carve_align_up_ptr(mem, sizeof(void *));
        first = carve_align_up_ptr(rstart + sizeof(region) + HDR, h->align) - HDR;
        if (mem_end < mem || first + h->min_block + 2 * h->align > mem_end) return CARVE_EINVAL;
        end = carve_align_down(mem_end, h->align) - HDR;
        if (end - first >= MAX_BLOCK) { /* clamp: the rest of the memory stays unused */
            end = first + carve_align_down(MAX_BLOCK - 1, h->align);
            mem_end = end + HDR;
            bytes = mem_end - mem;
        }
        start = first;
    }
    if (!heap_index_insertable(h, start, end - start, tail, NULL)) return CARVE_ECORRUPT;

    if (tail != NULL) {
        heap_index_remove(h, tail);
        h->free_bytes -= b_size(start);
        h->free_blocks--;
    }
    region *r = ext;
    if (r == NULL) {
        r = (region *)carve_align_up_ptr(mem, sizeof(void *));
        *r = (region){.mem = mem, .first = first, .end = first};
        link_region(h, r);
    }
    h->block_bytes += end - r->end;
    r->mem_end = mem_end;
    r->end = end;
    set_last(h, r);
    h->capacity += bytes;
    *word_at(end) = make_word(h, end, 0, true, 0, true);
    add_free_block(h, start, end - start, prev_free);
    if (h->fit == CARVE_FIT_TLSF) {
        unsigned rows = heap_tlsf_rows(h->align_log2, end - first);
        if (rows > h->rows && rows > h->rows_wanted) h->rows_wanted = rows;
    }
    return CARVE_OK;
}

CARVE_API carve_status carve_heap_add_region(carve_heap *h, void *mem, size_t bytes)
{
    if (h == NULL) return CARVE_EINVAL;
    return add_memory(h, (uintptr_t)mem, bytes);
}

/* Ask the grow callback for enough memory to hold a block of size bytes. The first attempt
 * assumes the memory will extend the last region (so it asks for what the region's free tail
 * lacks); the second asks for a whole new region. */
CARVE_COLD static bool grow_for(carve_heap *h, size_t size, int attempt)
{
    if (h->grow == NULL) return false;
    size_t want = size + sizeof(region) + 4 * h->align + 2 * HDR;
    region *r = h->last;
    if (attempt == 0) {
        size_t have = r->mem_end - (r->end + HDR);
        if (b_prev_free(r->end)) have += b_size(prev_block(r->end));
        want = size > have ? size - have : h->min_block;
    }
    size_t got = 0;
    void *mem = h->grow(h->grow_ctx, want > h->grow_min ? want : h->grow_min, &got);
    if (mem == NULL || got == 0) return false;
    return add_memory(h, (uintptr_t)mem, got) == CARVE_OK;
}

/* A sound free block of at least size (growing the heap if none), NULL, or FB_DAMAGED. */
static fblock *find_or_grow(carve_heap *h, size_t size)
{
    for (int attempt = 0;; attempt++) {
        fblock *b = heap_index_find(h, size);
        if (b != NULL || attempt == 2 || !grow_for(h, size, attempt)) return b;
    }
}

/* ---- init --------------------------------------------------------------------------------- */

CARVE_API carve_heap *carve_heap_init(void *mem, size_t bytes, const carve_heap_config *cfg)
{
    carve_heap_config c = cfg != NULL ? *cfg : (carve_heap_config){0};
    if (c.align == 0) c.align = 16;
    if (mem == NULL || (unsigned)c.fit > CARVE_FIT_TLSF || (unsigned)c.order > CARVE_ORDER_SIZE_DESC ||
        !carve_is_pow2(c.align) || c.align < MIN_ALIGN || c.align > MAX_CFG_ALIGN)
        return NULL;
    uintptr_t base = carve_align_up_ptr((uintptr_t)mem, sizeof(void *));
    uintptr_t end = (uintptr_t)mem + bytes;
    if (end < (uintptr_t)mem || base + sizeof(carve_heap) >= end) return NULL;

    carve_heap *h = (carve_heap *)base;
    *h = (carve_heap){
        .key = ((uint64_t)base * 0xD6E8FEB86659FD93ull) ^ 0xC2B2AE3D27D4EB4Full,
        .fit = c.fit, .order = c.order, .coalesce = !c.no_coalesce,
        .tree = c.fit <= CARVE_FIT_WORST && c.order == CARVE_ORDER_ADDRESS,
        .align = c.align, .align_log2 = carve_log2_floor(c.align),
        .min_block = carve_align_up(4 * HDR, c.align),
        .grow = c.grow, .grow_ctx = c.grow_ctx, .grow_min = c.grow_min, .split_high = c.split_high_below,
    };
    /* after the struct: SEGREGATED's class heads, or TLSF's coarse heads and the fine table with
     * the rows the initial memory needs (bytes bounds its largest block) */
    size_t control = sizeof(carve_heap), heads = 0;
    if (c.fit == CARVE_FIT_SEGREGATED) {
        heads = SEG_CLASSES;
    } else if (c.fit == CARVE_FIT_TLSF) {
        control += TLSF_FL_MAX * sizeof(fblock *);
        h->rows = heap_tlsf_rows(h->align_log2, bytes < MAX_BLOCK ? bytes : MAX_BLOCK - 1);
        h->coarse_rows = ~(uint64_t)0 << h->rows;
        tlsf_set_fine_idx(h);
        h->tlsf_fast = h->coalesce && h->split_high == 0;
        heads = (size_t)h->rows * TLSF_SL;
    }
    h->lists = (fblock **)(base + control);
    control += heads * sizeof(fblock *);
    if (base + control >= end) return NULL;
    for (size_t i = 0; i < heads; i++) h->lists[i] = NULL;
    if (c.fit == CARVE_FIT_TLSF)
        for (unsigned fl = 0; fl < TLSF_FL_MAX; fl++) h->coarse[fl] = NULL;
    if (add_memory(h, base + control, end - (base + control)) != CARVE_OK) return NULL;
    h->control = base + control - (uintptr_t)mem;
    h->capacity += h->control;
    return h;
}

/* ---- allocation --------------------------------------------------------------------------- */

CARVE_HOT void count_alloc(carve_heap *h, size_t n)
{
    size_t r = h->requested + n;
    h->allocs++;
    h->requested = r;
    h->peak_requested = r > h->peak_requested ? r : h->peak_requested;
}

/* Any policy, and TLSF when its fast path needs the grow callback. */
static CARVE_NOINLINE void *alloc_slow(carve_heap *h, size_t size)
{
    if (CARVE_UNLIKELY(table_may_grow(h))) heap_tlsf_grow_table(h);
    size_t need;
    fblock *fb = NULL, *rover = h->rover;
    if (block_size_for(h, size, &need)) fb = find_or_grow(h, need);
    if (CARVE_UNLIKELY(fb == NULL || fb == FB_DAMAGED || !take_ok(h, fb, need))) {
        h->rover = rover;
        h->failed++;
        return NULL;
    }
    count_alloc(h, size);
    uintptr_t b = take(h, fb, &need, size);
    return (void *)(b + HDR);
}

/* ---- TLSF's fast paths ----------------------------------------------------------------------

 * TLSF's alloc and free (with coalescing, without split_high_below) have their own paths with
 * the policy known: every header is checked once, everything is checked before anything is
 * written, each block's list is computed at most once, and lists are named by their flat index
 * i = fl * 16 + sl (head lists[i], bit i & 15 of sl_map[i >> 4]). They serve the common case:
 * blocks in the region last grown, lists in fine rows (i < fine_idx), the list table in the
 * control area or matching its copy. Anything else (an older region, a coarse row, the grow
 * callback, a table move, damage, a free that needs the full diagnosis) makes them answer "not
 * here" with nothing changed, and the generic paths serve the call or say what is wrong. */

/* List i (in a fine row) is not empty any more. */
CARVE_HOT void tlsf_mark(carve_heap *h, unsigned i)
{
    h->sl_map[i >> TLSF_SL_LOG2] |= (uint16_t)(1u << (i & (TLSF_SL - 1)));
    h->top_map |= (uint64_t)1 << (i >> TLSF_SL_LOG2);
}

/* List i (in a fine row) is empty now. */
CARVE_HOT void tlsf_clear(carve_heap *h, unsigned i)
{
    unsigned fl = i >> TLSF_SL_LOG2;
    uint16_t bits = h->sl_map[fl] & (uint16_t)~(1u << (i & (TLSF_SL - 1)));
    h->sl_map[fl] = bits;
    if (bits == 0) h->top_map &= ~((uint64_t)1 << fl);
}

/* Link b in front of list i (fine). */
CARVE_HOT void tlsf_link_at(carve_heap *h, fblock *b, unsigned i)
{
    fblock *n = h->lists[i];
    b->prev = NULL;
    b->next = n;
    h->lists[i] = b;
    if (n != NULL) n->prev = b; /* the list's bits are set already */
    else tlsf_mark(h, i);
}

/* Is x, a list neighbour read from a free block, a free block in the region last grown whose
 * links can be written: where a block can start, with room for a minimum block, its header
 * passing the check with USED clear? (link_sound for the region last grown.) */
CARVE_HOT bool tlsf_link_ok(const carve_heap *h, const fblock *x)
{
    uintptr_t a = (uintptr_t)x, first = h->last_first;
    return a - first <= h->last_end - first - h->min_block && ((a + HDR) & (h->align - 1)) == 0 &&
           hdr_ok(h, a, x->head, F_USED, 0);
}

/* Can x, a free block of size bytes whose header was checked, be unlinked: its neighbours
 * sound and pointing back at it (safe unlinking), or, without a predecessor, x the head of its
 * list (fine), whose index goes to *i? */
CARVE_HOT bool tlsf_unlinkable_at(const carve_heap *h, const fblock *x, size_t size, unsigned *i)
{
    const fblock *p = x->prev, *n = x->next;
    if (p == NULL) {
        *i = tlsf_index(h->align_log2, size);
        if (*i >= h->fine_idx || h->lists[*i] != x) return false;
    } else if (!(tlsf_link_ok(h, p) && p->next == x)) {
        return false;
    }
    return n == NULL || (tlsf_link_ok(h, n) && n->prev == x);
}

/* Unlink x (checked by tlsf_unlinkable_at); i is its list if it has no predecessor. */
CARVE_HOT void tlsf_unlink_at(carve_heap *h, fblock *x, unsigned i)
{
    fblock *p = x->prev, *n = x->next;
    if (n != NULL) n->prev = p;
    if (p != NULL) {
        p->next = n;
        return;
    }
    h->lists[i] = n;
    if (n == NULL) tlsf_clear(h, i);
}

/* The free block r, at or inside free block x of list i, takes x's place in it. */
CARVE_HOT void tlsf_replace_at(carve_heap *h, fblock *x, fblock *r, unsigned i)
{
    fblock *p = x->prev, *n = x->next;
    r->prev = p;
    r->next = n;
    if (n != NULL) n->prev = r;
    if (p != NULL) p->next = r;
    else h->lists[i] = r;
}

/* Is b, a list head (so a block in a region, put there by the heap), a sound free block in the
 * region last grown: its header w passing the check with USED clear, its size within the
 * region? */
CARVE_HOT bool tlsf_head_ok(const carve_heap *h, uintptr_t b, uint64_t w)
{
    size_t s = w_size(w);
    return hdr_ok(h, b, w, F_USED, 0) && b - h->last_first < h->last_end - h->last_first && s >= h->min_block &&
           s <= h->last_end - b;
}

/* Are the list heads where no overflow reaches them (heads_trusted, inline)? */
CARVE_HOT bool tlsf_heads_trusted(const carve_heap *h)
{
    return CARVE_LIKELY(h->table_block == 0) || ((*word_at(h->table_block) ^ h->table_word) & ~F_PREV_FREE) == 0;
}

/* TLSF's fast alloc: the head of the request's own list if it fits, else the head of the first
 * non-empty list from the next one up (every block there fits); its footer and successor are
 * checked (safe unlinking; a head has no predecessor); the low end is used and the remainder is
 * filed, in the block's place when its list is the block's. NULL when it cannot serve the
 * request here (nothing changed). */
CARVE_HOT void *tlsf_alloc(carve_heap *h, size_t n)
{
    size_t need;
    if (CARVE_UNLIKELY(table_may_grow(h)) || !tlsf_heads_trusted(h) || !block_size_for(h, n, &need)) return NULL;
    unsigned fine = h->fine_idx, i = tlsf_index(h->align_log2, need);
    if (CARVE_UNLIKELY(i >= fine)) return NULL;
    fblock *fb = h->lists[i];
    uint64_t w = 0;
    if (fb != NULL) {
        w = fb->head;
        if (CARVE_UNLIKELY(!tlsf_head_ok(h, (uintptr_t)fb, w))) return NULL;
        if (w_size(w) < need) fb = NULL;
    }
    if (fb == NULL) {
        unsigned fl = (i + 1) >> TLSF_SL_LOG2;
        uint32_t bits = h->sl_map[fl] & (~0u << ((i + 1) & (TLSF_SL - 1)));
        if (bits == 0) {
            uint64_t rows = h->top_map & (~(uint64_t)1 << fl);
            if (rows == 0) return NULL;
            fl = carve_ctz64(rows);
            bits = h->sl_map[fl];
        }
        i = fl * TLSF_SL + carve_ctz64(bits);
        if (CARVE_UNLIKELY(i >= fine)) return NULL;
        fb = h->lists[i];
        w = fb->head;
        if (CARVE_UNLIKELY(!tlsf_head_ok(h, (uintptr_t)fb, w))) return NULL;
    }
    uintptr_t b = (uintptr_t)fb;
    size_t have = w_size(w), rest = have - need;
    fblock *next = fb->next;
    if (CARVE_UNLIKELY(*word_at(b + have - HDR) != (w & ~F_PREV_FREE) || fb->prev != NULL ||
                       (next != NULL && !(tlsf_link_ok(h, next) && next->prev == fb))))
        return NULL;
    uint64_t pf = w & F_PREV_FREE;
    if (rest < h->min_block) { /* the whole block */
        tlsf_unlink_at(h, fb, i);
        count_alloc(h, n);
        set_prev_free(b + have, false);
        h->free_blocks--;
        h->free_bytes -= have;
        *word_at(b) = word_of(h, b, have, F_USED, have - HDR - n) | pf;
        return (void *)(b + HDR);
    }
    unsigned ri = tlsf_index(h->align_log2, rest);
    if (CARVE_UNLIKELY(ri >= fine)) return NULL;
    count_alloc(h, n);
    fblock *r = (fblock *)(b + need);
    uint64_t rw = word_of(h, (uintptr_t)r, rest, 0, 0);
    r->head = rw;
    *word_at(b + have - HDR) = rw;
    if (ri == i) { /* the remainder stays in fb's list, in its place */
        tlsf_replace_at(h, fb, r, i);
    } else {
        tlsf_unlink_at(h, fb, i);
        tlsf_link_at(h, r, ri);
    }
    h->free_bytes -= need;
    *word_at(b) = word_of(h, b, need, F_USED, need - HDR - n) | pf;
    return (void *)(b + HDR);
}

/* A used block as tlsf_locate found it: b, its header w (size bytes), the next block's header
 * wn and, when b's PREV_FREE is set, the free block before it (pb, its header wp); pb 0 if not. */
typedef struct tlsf_used {
    uintptr_t b, pb;
    uint64_t w, wn, wp;
    size_t size;
} tlsf_used;

/* The used block with payload p in the region last grown, checked as locate does: its header
 * (USED, not OWN, size and slack sane), the next header (PREV_FREE clear; if free, its size
 * within the region), with PREV_FREE the footer before it and the header that footer names.
 * False when any of that fails or the list table does not match its copy. */
CARVE_HOT bool tlsf_locate(const carve_heap *h, void *p, tlsf_used *u)
{
    uintptr_t b = (uintptr_t)p - HDR, first = h->last_first, end = h->last_end;
    size_t amask = h->align - 1, minb = h->min_block;
    if (CARVE_UNLIKELY(b - first >= end - first || ((uintptr_t)p & amask) != 0)) return false;
    uint64_t w = *word_at(b);
    size_t size = w_size(w), room = end - b;
    if (CARVE_UNLIKELY(!hdr_ok(h, b, w, F_USED | F_OWN, F_USED) || size < minb || size > room ||
                       (size & amask) != 0 || usable_of(w) < w_slack(w) || !tlsf_heads_trusted(h)))
        return false;
    uint64_t wn = *word_at(b + size);
    if (CARVE_UNLIKELY(!hdr_ok(h, b + size, wn, F_PREV_FREE, 0) ||
                       (!w_used(wn) && (w_size(wn) < minb || w_size(wn) > room - size))))
        return false;
    *u = (tlsf_used){b, 0, w, wn, 0, size};
    if ((w & F_PREV_FREE) == 0) return true;
    uint64_t fw = *word_at(b - HDR);
    size_t ps = w_size(fw);
    if (CARVE_UNLIKELY(ps < minb || ps > b - first)) return false;
    u->pb = b - ps;
    u->wp = *word_at(u->pb);
    return (u->wp & ~F_PREV_FREE) == fw && hdr_ok(h, u->pb, fw, F_USED, 0);
}

/* TLSF's fast free (with coalescing): the used block with payload p (tlsf_locate), then the free
 * neighbours it merges with (safe unlinking). False, with nothing changed, when anything is not
 * as expected: the generic path then frees it or says what is wrong. */
CARVE_HOT bool tlsf_free(carve_heap *h, void *p)
{
    tlsf_used u;
    if (!tlsf_locate(h, p, &u)) return false;
    uintptr_t b = u.b, next = b + u.size, start = b;
    size_t total = u.size;
    uint64_t pf = u.w & F_PREV_FREE;
    fblock *nb = NULL, *pb = NULL;
    unsigned ni = 0, pi = 0;
    if (!w_used(u.wn)) {
        nb = (fblock *)next;
        if (CARVE_UNLIKELY(!tlsf_unlinkable_at(h, nb, w_size(u.wn), &ni))) return false;
        total += w_size(u.wn);
    }
    if (u.pb != 0) {
        pb = (fblock *)u.pb;
        if (CARVE_UNLIKELY(!tlsf_unlinkable_at(h, pb, w_size(u.wp), &pi))) return false;
        /* if pb's predecessor is nb, nb's unlink makes pb the head of nb's list */
        if (pb->prev == nb && nb != NULL) pi = ni;
        start = u.pb;
        total += w_size(u.wp);
        pf = u.wp & F_PREV_FREE;
    }
    unsigned mi = tlsf_index(h->align_log2, total);
    if (CARVE_UNLIKELY(mi >= h->fine_idx)) return false;
    h->frees++;
    h->requested -= usable_of(u.w) - w_slack(u.w);
    h->free_bytes += u.size;
    uint64_t mw = word_of(h, start, total, 0, 0);
    if (nb != NULL) {
        tlsf_unlink_at(h, nb, ni);
    } else {
        *word_at(next) = u.wn | F_PREV_FREE; /* else the block after nb has it already */
        h->free_blocks++;
    }
    if (pb != NULL) {
        tlsf_unlink_at(h, pb, pi);
        *word_at(b) = word_of(h, b, u.size, 0, 0) | F_PREV_FREE; /* left behind: reads as freed */
        h->free_blocks--;
    }
    *word_at(start + total - HDR) = mw;
    *word_at(start) = mw | pf;
    tlsf_link_at(h, (fblock *)start, mi);
    return true;
}

/* Count a request that changed from old_n to n bytes in place. */
CARVE_HOT void count_resize(carve_heap *h, size_t old_n, size_t n)
{
    size_t r = h->requested - old_n + n;
    h->requested = r;
    h->peak_requested = r > h->peak_requested ? r : h->peak_requested;
}

/* TLSF's fast realloc in place (with coalescing): the block with payload p (tlsf_locate) keeps
 * need bytes, giving back a tail of min_block or more (merged with a free block after it), or
 * grows over the free block after it. NULL, with nothing changed, when it cannot do that here:
 * the generic path then grows through the callback, slides down, moves, or says what is
 * wrong. */
CARVE_HOT void *tlsf_realloc(carve_heap *h, void *p, size_t n)
{
    size_t need;
    tlsf_used u;
    if (!block_size_for(h, n, &need) || !tlsf_locate(h, p, &u)) return NULL;
    uintptr_t b = u.b, next = b + u.size;
    size_t have = u.size, old_n = usable_of(u.w) - w_slack(u.w), minb = h->min_block;
    uint64_t pf = u.w & F_PREV_FREE;
    fblock *nb = NULL;
    unsigned ni = 0;
    size_t span = have;
    if (!w_used(u.wn)) {
        nb = (fblock *)next;
        span += w_size(u.wn);
    }
    if (span < need) return NULL;
    if (span - need < minb) { /* the whole span: only when growing (else nothing to give back) */
        if (nb != NULL && need > have) {
            if (CARVE_UNLIKELY(!tlsf_unlinkable_at(h, nb, w_size(u.wn), &ni))) return NULL;
            tlsf_unlink_at(h, nb, ni);
            set_prev_free(b + span, false);
            h->free_blocks--;
            h->free_bytes -= span - have;
        } else {
            span = have;
        }
        count_resize(h, old_n, n);
        *word_at(b) = word_of(h, b, span, F_USED, span - HDR - n) | pf;
        return p;
    }
    /* a tail [b + need, b + span) stays free: it replaces nb in nb's list when that is its list,
     * else nb leaves and the tail is linked */
    size_t rest = span - need;
    unsigned ri = tlsf_index(h->align_log2, rest);
    if (CARVE_UNLIKELY(ri >= h->fine_idx)) return NULL;
    if (nb != NULL && CARVE_UNLIKELY(!tlsf_unlinkable_at(h, nb, w_size(u.wn), &ni))) return NULL;
    count_resize(h, old_n, n);
    fblock *r = (fblock *)(b + need);
    uint64_t rw = word_of(h, (uintptr_t)r, rest, 0, 0);
    if (nb != NULL) {
        /* nb's list, when nb is not its head, is not known; in place only when it is */
        if (nb->prev == NULL && ni == ri) {
            tlsf_replace_at(h, nb, r, ri);
        } else {
            tlsf_unlink_at(h, nb, ni);
            tlsf_link_at(h, r, ri);
        }
        h->free_bytes -= span - have - rest;
    } else {
        *word_at(next) = u.wn | F_PREV_FREE;
        tlsf_link_at(h, r, ri);
        h->free_blocks++;
        h->free_bytes += rest;
    }
    r->head = rw;
    *word_at(b + span - HDR) = rw;
    *word_at(b) = word_of(h, b, need, F_USED, need - HDR - n) | pf;
    return p;
}

CARVE_API void *carve_heap_alloc(carve_heap *h, size_t size)
{
    if (h == NULL) return NULL;
    if (CARVE_LIKELY(h->tlsf_fast)) {
        void *p = tlsf_alloc(h, size);
        if (CARVE_LIKELY(p != NULL)) return p;
    }
    return alloc_slow(h, size);
}

CARVE_API void *carve_heap_aligned_alloc(carve_heap *h, size_t align, size_t size)
{
    if (h == NULL) return NULL;
    if (!carve_is_pow2(align)) {
        h->failed++;
        return NULL;
    }
    if (align <= h->align) return carve_heap_alloc(h, size);
    if (CARVE_UNLIKELY(table_may_grow(h))) heap_tlsf_grow_table(h);
    size_t need, search;
    fblock *fb = NULL, *rover = h->rover;
    if (align < MAX_BLOCK && block_size_for(h, size, &need) &&
        !carve_add_overflow(need, align + h->min_block, &search) && search < MAX_BLOCK)
        fb = find_or_grow(h, search);
    /* the block starts at the first aligned payload that leaves either no lead or a lead that
     * can be a free block; the lead and the tail (if a minimum block) go back */
    uintptr_t b = (uintptr_t)fb, p = 0;
    size_t have = 0, lead = 0, rest = 0;
    bool ok = fb != NULL && fb != FB_DAMAGED && footer_sound(fb) && heap_index_removable(h, fb);
    if (ok) {
        have = w_size(fb->head);
        p = carve_align_up_ptr(b + HDR, align);
        if (p - HDR != b && p - HDR - b < h->min_block) p += carve_align_up(h->min_block - (p - HDR - b), align);
        lead = p - HDR - b;
        rest = have - lead - need;
        ok = (lead == 0 || heap_index_insertable(h, b, lead, fb, NULL)) &&
             (rest < h->min_block || heap_index_insertable(h, p - HDR + need, rest, fb, NULL));
    }
    if (!ok) {
        h->rover = rover;
        h->failed++;
        return NULL;
    }
    bool prev_free = (fb->head & F_PREV_FREE) != 0;
    heap_index_remove(h, fb);
    h->free_blocks--;
    h->free_bytes -= have;
    if (lead != 0) {
        add_free_block(h, b, lead, prev_free);
        prev_free = true;
    }
    count_alloc(h, size);
    if (rest >= h->min_block) add_free_block(h, p - HDR + need, rest, false);
    else need += rest;
    mark_used(h, p - HDR, need, need - HDR - size, prev_free);
    return (void *)p;
}

/* ---- finding a caller's block -------------------------------------------------------------- */

/* p's header failed a fast check: walk its region to tell a pointer inside a block (foreign)
 * from damaged metadata. */
CARVE_COLD static carve_status diagnose(const carve_heap *h, const region *r, uintptr_t b)
{
    for (uintptr_t x = r->first; x < r->end;) {
        uint64_t w = *word_at(x);
        size_t size = w_size(w);
        if (!w_valid(h, x, w) || size < h->min_block || x + size > r->end) return CARVE_ECORRUPT;
        if (x == b) return CARVE_ECORRUPT;
        if (b < x + size) return CARVE_EFOREIGN;
        x += size;
    }
    return CARVE_EFOREIGN;
}

/* The used block whose payload is p, checked against its neighbours: its header, the next
 * header (and, if that block is free, its size), and with PREV_FREE the footer before it and
 * the header that footer points to. The full version: any region, and the status of a bad p. */
CARVE_COLD static carve_status locate_slow(const carve_heap *h, const void *p, uintptr_t *out)
{
    uintptr_t a = (uintptr_t)p, b = a - HDR;
    const region *r = NULL;
    if ((a & (h->align - 1)) != 0 || (r = region_holding(h, b, &r)) == NULL) return CARVE_EFOREIGN;
    uint64_t w = *word_at(b);
    if (!w_valid(h, b, w)) return diagnose(h, r, b);
    if (!w_used(w)) return CARVE_EDOUBLEFREE;
    if ((w & F_OWN) != 0) return CARVE_EFOREIGN; /* the heap's own block */
    size_t size = w_size(w);
    if (size < h->min_block || (size & (h->align - 1)) != 0 || size > r->end - b || usable_of(w) < w_slack(w))
        return diagnose(h, r, b);
    uintptr_t next = b + size;
    uint64_t wn = *word_at(next);
    if (!w_valid(h, next, wn) || (wn & F_PREV_FREE) != 0 ||
        (!w_used(wn) && (w_size(wn) < h->min_block || w_size(wn) > r->end - next)))
        return diagnose(h, r, b);
    if ((w & F_PREV_FREE) != 0) {
        uint64_t fw = *word_at(b - HDR);
        uintptr_t pb = b - w_size(fw);
        if (w_size(fw) < h->min_block || pb < r->first || pb > b || w_used(fw) ||
            (*word_at(pb) & ~F_PREV_FREE) != fw || !w_valid(h, pb, fw))
            return diagnose(h, r, b);
    }
    *out = b;
    return CARVE_OK;
}

/* locate's fast path: the same checks for a block in the region last grown, with one way out
 * (to locate_slow, which also answers for other regions and says what is wrong). */
CARVE_HOT carve_status locate(const carve_heap *h, const void *p, uintptr_t *out)
{
    uintptr_t b = (uintptr_t)p - HDR;
    const region *r = h->last;
    if (CARVE_LIKELY(b - r->first < r->end - r->first && ((b + HDR) & (h->align - 1)) == 0)) {
        uint64_t w = *word_at(b);
        size_t size = w_size(w), room = r->end - b;
        if (CARVE_LIKELY(hdr_ok(h, b, w, F_USED | F_OWN, F_USED) &&
                         size >= h->min_block && size <= room && (size & (h->align - 1)) == 0 &&
                         usable_of(w) >= w_slack(w))) {
            uintptr_t next = b + size;
            uint64_t wn = *word_at(next);
            size_t ns = w_size(wn);
            if (CARVE_LIKELY(hdr_ok(h, next, wn, F_PREV_FREE, 0) &&
                             (w_used(wn) || (ns >= h->min_block && ns <= room - size)))) {
                if ((w & F_PREV_FREE) == 0) {
                    *out = b;
                    return CARVE_OK;
                }
                uint64_t fw = *word_at(b - HDR);
                uintptr_t pb = b - w_size(fw);
                if (CARVE_LIKELY(w_size(fw) >= h->min_block && pb >= r->first && pb < b &&
                                 (*word_at(pb) & ~F_PREV_FREE) == fw &&
                                 hdr_ok(h, pb, fw, F_USED, 0))) {
                    *out = b;
                    return CARVE_OK;
                }
            }
        }
    }
    return locate_slow(h, p, out);
}

CARVE_API size_t carve_heap_usable_size(const carve_heap *h, const void *p)
{
    uintptr_t b = 0;
    if (h == NULL || p == NULL || locate(h, p, &b) != CARVE_OK) return 0;
    return usable_of(*word_at(b));
}

/* ---- free --------------------------------------------------------------------------------- */


/* Plan the free of the used block b (checked by locate): false if a block it would unlink or
 * write is damaged. */
CARVE_HOT bool release_plan(const carve_heap *h, uintptr_t b, merge *m)
{
    uint64_t w = *word_at(b);
    size_t size = w_size(w);
    *m = (merge){b, size, (w & F_PREV_FREE) != 0, NULL, NULL};
    if (h->coalesce) {
        uintptr_t next = b + size;
        if (!b_used(next)) {
            m->next = (fblock *)next;
            if (!heap_index_removable(h, m->next)) return false;
            m->total += b_size(next);
        }
        if (m->prev_free) {
            uintptr_t pb = prev_block(b);
            m->prev = (fblock *)pb;
            if (!heap_index_removable(h, m->prev)) return false;
            m->start = pb;
            m->total += b_size(pb);
            m->prev_free = b_prev_free(pb);
        }
    }
    return heap_index_insertable(h, m->start, m->total, m->next, m->prev);
}

/* Free the used block b as planned. */
CARVE_HOT void release(carve_heap *h, uintptr_t b, const merge *m)
{
    uint64_t w = *word_at(b);
    size_t size = w_size(w);
    h->frees++;
    h->requested -= usable_of(w) - w_slack(w);
    h->free_bytes += size;
    h->free_blocks++;
    if (m->next != NULL) {
        heap_index_remove(h, m->next);
        h->free_blocks--;
    }
    if (m->prev != NULL) {
        heap_index_remove(h, m->prev);
        *word_at(b) = make_word(h, b, size, false, 0, true); /* left behind: reads as freed */
        h->free_blocks--;
    }
    mark_free(h, m->start, m->total, m->prev_free);
    heap_index_insert(h, (fblock *)m->start);
}

/* Free the used block b (located) through the policy's index: any policy. */
static CARVE_NOINLINE carve_status free_slow(carve_heap *h, uintptr_t b)
{
    merge m;
    if (!release_plan(h, b, &m)) return CARVE_ECORRUPT;
    release(h, b, &m);
    return CARVE_OK;
}

/* Free p through locate and the policy's index: any policy, and what TLSF's fast free left. */
static CARVE_NOINLINE carve_status free_generic(carve_heap *h, void *p)
{
    uintptr_t b = 0;
    carve_status st = locate(h, p, &b);
    if (CARVE_UNLIKELY(st != CARVE_OK)) return st;
    return free_slow(h, b);
}

CARVE_API carve_status carve_heap_free(carve_heap *h, void *p)
{
    if (p == NULL) return CARVE_OK;
    if (h == NULL) return CARVE_EINVAL;
    if (CARVE_LIKELY(h->tlsf_fast) && CARVE_LIKELY(tlsf_free(h, p))) return CARVE_OK;
    return free_generic(h, p);
}

/* ---- realloc ------------------------------------------------------------------------------ */

/* The used block b now spans total bytes from b (free blocks inside already out of the index and
 * counted as used): keep size bytes for a request of n (replacing old_n), and give back a tail
 * of min_block or more as a free block, merged with a free block after it (when coalescing). */
static void trim_to(carve_heap *h, uintptr_t b, size_t size, size_t n, size_t old_n)
{
    uint64_t w = *word_at(b);
    size_t have = w_size(w);
    bool prev_free = (w & F_PREV_FREE) != 0;
    h->requested = h->requested - old_n + n;
    if (h->requested > h->peak_requested) h->peak_requested = h->requested;
    if (have - size < h->min_block) {
        *word_at(b) = make_word(h, b, have, true, have - HDR - n, prev_free);
        return;
    }
    *word_at(b) = make_word(h, b, size, true, size - HDR - n, prev_free);
    uintptr_t tail = b + size, next = b + have;
    size_t tail_size = have - size;
    if (h->coalesce && !b_used(next)) {
        heap_index_remove(h, (fblock *)next);
        tail_size += b_size(next);
        h->free_bytes -= b_size(next);
        h->free_blocks--;
    }
    add_free_block(h, tail, tail_size, false);
}

/* Can trim_to give back the tail of a block that will span [b, b+have) and keep size bytes?
 * skip1/skip2: free blocks inside the span that will have been unlinked by then (the caller
 * checked them). The tail merges with a free block after the span; with coalescing that can
 * only be the successor of a block that had no free neighbour inside the span. */
static bool trim_ok(const carve_heap *h, uintptr_t b, size_t have, size_t size, const fblock *skip1,
                    const fblock *skip2)
{
    if (have - size < h->min_block) return true;
    uintptr_t after = b + have;
    size_t tail_size = have - size;
    const fblock *nb = NULL;
    if (h->coalesce && !b_used(after)) {
        nb = (fblock *)after;
        if (skip1 != NULL || !block_sound(h, nb) || !heap_index_removable(h, nb))
            return false; /* two free neighbours, or a damaged one */
        tail_size += b_size(after);
    }
    return heap_index_insertable(h, b + size, tail_size, nb != NULL ? nb : skip1, skip2);
}

/* The bytes of free space right after the used block b (0 if its successor is used). */
static size_t free_after(uintptr_t b)
{
    uintptr_t next = b + b_size(b);
    return b_used(next) ? 0 : b_size(next);
}

/* b is the last used block of its region, or followed only by a free block: ask the grow
 * callback for memory that extends the region so that b can reach size bytes. */
static void grow_after(carve_heap *h, uintptr_t b, size_t size)
{
    const region *r = NULL;
    r = region_holding(h, b, &r);
    uintptr_t next = b + b_size(b);
    if (h->grow == NULL || r == NULL || (next != r->end && (b_used(next) || next + b_size(next) != r->end)))
        return;
    /* the new tail must make a block of its own (min_block) when b is the last block */
    size_t short_by = size - b_size(b) - free_after(b);
    if (free_after(b) == 0 && short_by < h->min_block) short_by = h->min_block;
    size_t spare = r->mem_end - (r->end + HDR);
    size_t got = 0;
    size_t want = short_by > spare ? short_by - spare : h->min_block;
    void *mem = h->grow(h->grow_ctx, want > h->grow_min ? want : h->grow_min, &got);
    if (mem != NULL && got != 0) (void)add_memory(h, (uintptr_t)mem, got);
}

/* Grow the used block b (request old_n) in place over the free block after it, to need bytes for
 * a request of n; a tail of min_block or more goes back as a free block (checked by trim_ok:
 * with coalescing the block after is used). */
static void grow_into_next(carve_heap *h, uintptr_t b, size_t need, size_t n, size_t old_n)
{
    uint64_t w = *word_at(b);
    uintptr_t next = b + w_size(w);
    size_t extra = b_size(next), span = w_size(w) + extra, tail = span - need;
    heap_index_remove(h, (fblock *)next);
    h->free_blocks--;
    h->free_bytes -= extra;
    h->requested = h->requested - old_n + n;
    if (h->requested > h->peak_requested) h->peak_requested = h->requested;
    if (tail < h->min_block) {
        need = span;
        set_prev_free(b + span, false);
    }
    *word_at(b) = make_word(h, b, need, true, need - HDR - n, (w & F_PREV_FREE) != 0);
    if (tail >= h->min_block) add_free_block(h, b + need, tail, false);
}

/* Grow the used block b in place over the free block after it. The slack field is left 0 for
 * trim_to to set. */
static void absorb_next(carve_heap *h, uintptr_t b)
{
    uint64_t w = *word_at(b);
    uintptr_t next = b + w_size(w);
    size_t extra = b_size(next);
    heap_index_remove(h, (fblock *)next);
    h->free_blocks--;
    h->free_bytes -= extra;
    set_prev_free(next + extra, false);
    *word_at(b) = make_word(h, b, w_size(w) + extra, true, 0, (w & F_PREV_FREE) != 0);
}

/* Grow the used block b (payload p) downwards over the free block before it (and the one after
 * it, if free), moving the contents. */
static void *slide_down(carve_heap *h, uintptr_t b, void *p, size_t need, size_t n, size_t old_n)
{
    size_t copy = usable_of(*word_at(b));
    if (free_after(b) != 0) absorb_next(h, b);
    uintptr_t pb = prev_block(b);
    size_t before = b_size(pb), whole = b_size(b);
    heap_index_remove(h, (fblock *)pb);
    h->free_blocks--;
    h->free_bytes -= before;
    *word_at(pb) = make_word(h, pb, before + whole, true, 0, b_prev_free(pb));
    *word_at(b) = make_word(h, b, whole, false, 0, true); /* left behind: reads as freed */
    memmove((void *)(pb + HDR), p, copy);
    trim_to(h, pb, need, n, old_n);
    return (void *)(pb + HDR);
}

/* Realloc p through locate and the policy's index: any policy, and what TLSF's fast realloc
 * left (growing through the callback, sliding down, moving, or saying what is wrong). */
static CARVE_NOINLINE void *realloc_generic(carve_heap *h, void *p, size_t size)
{
    size_t need;
    uintptr_t b = 0;
    if (!block_size_for(h, size, &need) || locate(h, p, &b) != CARVE_OK) goto fail;
    uint64_t w = *word_at(b);
    size_t have = w_size(w), old_n = usable_of(w) - w_slack(w);
    if (need <= have) {
        if (!trim_ok(h, b, have, need, NULL, NULL)) goto fail;
        trim_to(h, b, need, size, old_n);
        return p;
    }
    if (have + free_after(b) < need) grow_after(h, b, need);
    fblock *next = free_after(b) != 0 ? (fblock *)(b + have) : NULL;
    if (next != NULL && !heap_index_removable(h, next)) goto fail;
    size_t span = have + free_after(b);
    if (span >= need) {
        if (!trim_ok(h, b, span, need, next, NULL)) goto fail;
        grow_into_next(h, b, need, size, old_n);
        return p;
    }
    if (h->coalesce && b_prev_free(b) && b_size(prev_block(b)) + span >= need) {
        fblock *prev = (fblock *)prev_block(b);
        if (!heap_index_removable(h, prev) ||
            !trim_ok(h, (uintptr_t)prev, b_size((uintptr_t)prev) + span, need, prev, next))
            goto fail;
        return slide_down(h, b, p, need, size, old_n);
    }
    merge m;
    if (!release_plan(h, b, &m)) goto fail;
    void *q = carve_heap_alloc(h, size);
    if (q == NULL) return NULL;
    size_t old = usable_of(w);
    memcpy(q, p, old < size ? old : size);
    /* the new block may have changed b's neighbourhood, but only through blocks the alloc
     * checked or wrote, so the plan holds again */
    bool again = release_plan(h, b, &m);
    CARVE_ASSERT(again && "alloc only writes blocks it checked");
    if (again) release(h, b, &m);
    return q;
fail:
    h->failed++;
    return NULL;
}

CARVE_API void *carve_heap_realloc(carve_heap *h, void *p, size_t size)
{
    if (p == NULL) return carve_heap_alloc(h, size);
    if (h == NULL) return NULL;
    if (CARVE_LIKELY(h->tlsf_fast)) {
        void *q = tlsf_realloc(h, p, size);
        if (CARVE_LIKELY(q != NULL)) return q;
    }
    return realloc_generic(h, p, size);
}
