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
 * Invariants (carve_heap_check verifies them all): the blocks of a region tile [first, end)
 * exactly and every header passes its check; PREV_FREE is set exactly when the block before is
 * free; a free block's footer repeats its size; with coalescing no two free blocks touch; every
 * free block is in the index exactly once, in the list its size and the order call for; the
 * counters equal a walk's sums.
 *
 * Bounds: free O(1) apart from the insert of an ADDRESS/SIZE-ordered list (O(free blocks));
 * alloc O(1) for TLSF, O(classes + one class) for SEGREGATED, O(free blocks) for the lists.
 * Misuse is detected in O(1) on the fast path; a pointer whose header fails the check costs one
 * walk of its region to say whether it lies inside a block or the heap is damaged.
 */
#include "heap/heap_internal.h"

#include <string.h>

#define CARVE_EAGAIN_ ((carve_status)-1) /* internal: not decided yet */
/* Hot helpers are inlined into the public calls; misuse diagnosis and growth stay out of line. */
#define CARVE_HOT  static inline __attribute__((always_inline))
#define CARVE_COLD __attribute__((noinline, cold))

/* ---- regions ------------------------------------------------------------------------------ */

static region *region_of(const carve_heap *h, uintptr_t a)
{
    if (h->last != NULL && a >= h->last->first && a < h->last->end) return h->last;
    for (region *r = h->regions; r != NULL; r = r->next)
        if (a >= r->first && a < r->end) return r;
    return NULL;
}

static void link_region(carve_heap *h, region *r)
{
    region **at = &h->regions;
    while (*at != NULL && (*at)->mem < r->mem) at = &(*at)->next;
    r->next = *at;
    *at = r;
}

/* Put a free block [b, b+size) whose predecessor's state is prev_free into the heap. */
static void add_free_block(carve_heap *h, uintptr_t b, size_t size, bool prev_free)
{
    mark_free(h, b, size, prev_free);
    heap_index_insert(h, (fblock *)b);
    h->free_bytes += size;
    h->free_blocks++;
}

/* The bytes [r->mem_end, r->mem_end + bytes) were given: move the epilogue up and grow the
 * region's last block (merging with it when it is free), as sbrk would. */
static carve_status extend_region(carve_heap *h, region *r, size_t bytes)
{
    uintptr_t mem_end = r->mem_end + bytes;
    uintptr_t end = carve_align_down(mem_end, h->align) - HDR;
    if (end - r->first >= MAX_BLOCK) return CARVE_EINVAL;
    r->mem_end = mem_end;
    h->capacity += bytes;
    h->last = r;
    if (end <= r->end) return CARVE_OK;
    uintptr_t start = r->end;
    bool prev_free = b_prev_free(r->end);
    if (prev_free) {
        start = prev_block(r->end);
        heap_index_remove(h, (fblock *)start);
        prev_free = b_prev_free(start);
        h->free_bytes -= b_size(start);
        h->free_blocks--;
    } else if (end - start < h->min_block) {
        return CARVE_OK; /* too little for a block yet: kept for the next extension */
    }
    *word_at(end) = make_word(h, end, 0, true, 0, false);
    r->end = end;
    add_free_block(h, start, end - start, prev_free);
    return CARVE_OK;
}

/* Place a region descriptor at mem and turn the rest into one free block. */
static carve_status new_region(carve_heap *h, uintptr_t mem, size_t bytes)
{
    uintptr_t rstart = carve_align_up_ptr(mem, sizeof(void *));
    uintptr_t first = carve_align_up_ptr(rstart + sizeof(region) + HDR, h->align) - HDR;
    uintptr_t mem_end = mem + bytes;
    if (mem_end < mem || first + h->min_block + 2 * h->align > mem_end) return CARVE_EINVAL;
    uintptr_t end = carve_align_down(mem_end, h->align) - HDR;
    if (end - first >= MAX_BLOCK) {
        end = first + carve_align_down(MAX_BLOCK - 1, h->align);
        mem_end = end + HDR;
        bytes = mem_end - mem;
    }
    region *r = (region *)rstart;
    *r = (region){.mem = mem, .mem_end = mem_end, .first = first, .end = end};
    link_region(h, r);
    h->last = r;
    h->capacity += bytes;
    *word_at(end) = make_word(h, end, 0, true, 0, false);
    add_free_block(h, first, end - first, false);
    return CARVE_OK;
}

static carve_status add_memory(carve_heap *h, uintptr_t mem, size_t bytes)
{
    if (mem == 0 || bytes == 0 || mem + bytes < mem) return CARVE_EINVAL;
    for (region *r = h->regions; r != NULL; r = r->next)
        if (mem < r->mem_end && mem + bytes > r->mem) return CARVE_EINVAL; /* overlaps */
    carve_status st = CARVE_EAGAIN_;
    for (region *r = h->regions; r != NULL && st == CARVE_EAGAIN_; r = r->next)
        if (r->mem_end == mem) st = extend_region(h, r, bytes);
    if (st == CARVE_EAGAIN_) st = new_region(h, mem, bytes);
    /* TLSF: the next public call moves the list table if the heap outgrew its rows */
    if (st == CARVE_OK && h->fit == CARVE_FIT_TLSF) {
        unsigned rows = heap_index_rows(h, h->capacity);
        if (rows > h->rows) h->rows_wanted = rows; /* else no move: keep alloc's fast path */
    }
    return st;
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
    if (attempt == 0 && r != NULL) {
        size_t have = r->mem_end - (r->end + HDR);
        if (b_prev_free(r->end)) have += b_size(prev_block(r->end));
        want = size > have ? size - have : h->min_block;
    }
    size_t got = 0;
    void *mem = h->grow(h->grow_ctx, want > h->grow_min ? want : h->grow_min, &got);
    if (mem == NULL || got == 0) return false;
    return add_memory(h, (uintptr_t)mem, got) == CARVE_OK;
}

static fblock *find_or_grow(carve_heap *h, size_t size)
{
    for (int attempt = 0;; attempt++) {
        fblock *b = heap_index_find(h, size);
        if (b != NULL || attempt == 2 || !grow_for(h, size, attempt)) return b;
    }
}

CARVE_HOT void release(carve_heap *h, uintptr_t b);

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
        .align = c.align, .align_log2 = carve_log2_floor(c.align),
        .min_block = carve_align_up(4 * HDR, c.align),
        .grow = c.grow, .grow_ctx = c.grow_ctx, .grow_min = c.grow_min, .split_high = c.split_high_below,
        .lists = (fblock **)(base + sizeof(carve_heap)),
    };
    h->rows = heap_index_rows(h, bytes);
    h->nlists = (unsigned)heap_index_lists(c.fit, h->rows);
    size_t control = sizeof(carve_heap) + h->nlists * sizeof(fblock *);
    if (base + control >= end) return NULL;
    for (unsigned i = 0; i < h->nlists; i++) h->lists[i] = NULL;
    if (new_region(h, base + control, end - (base + control)) != CARVE_OK) return NULL;
    h->control = base + control - (uintptr_t)mem;
    h->capacity += h->control;
    return h;
}

/* ---- allocation --------------------------------------------------------------------------- */

/* The block size a request of n bytes needs; false when none can hold it. */
static bool block_size_for(const carve_heap *h, size_t n, size_t *out)
{
    if (n >= MAX_BLOCK - HDR - h->align) return false;
    size_t s = carve_align_up(n + HDR, h->align);
    *out = s < h->min_block ? h->min_block : s;
    return true;
}

static void count_alloc(carve_heap *h, size_t n)
{
    h->allocs++;
    h->requested += n;
    if (h->requested > h->peak_requested) h->peak_requested = h->requested;
}

/* Take the low size bytes of the detached free block [b, b+have) (already taken out of the
 * index and the free counters) for a request of n bytes; a remainder of at least min_block goes
 * back to the index. */
static void *carve_block(carve_heap *h, uintptr_t b, size_t have, size_t size, size_t n, bool prev_free)
{
    if (have - size >= h->min_block) add_free_block(h, b + size, have - size, false);
    else size = have;
    mark_used(h, b, size, size - HDR - n, prev_free);
    h->used_bytes += size;
    return (void *)(b + HDR);
}

/* Allocate from the free block fb found in the index. */
CARVE_HOT void *place(carve_heap *h, fblock *fb, size_t size, size_t n)
{
    uintptr_t b = (uintptr_t)fb;
    size_t have = w_size(fb->head);
    bool prev_free = (fb->head & F_PREV_FREE) != 0;
    count_alloc(h, n);
    if (have - size < h->min_block) {
        heap_index_remove(h, fb);
        h->free_blocks--;
        mark_used(h, b, have, have - HDR - n, prev_free);
        h->free_bytes -= have;
        h->used_bytes += have;
        return (void *)(b + HDR);
    }
    if (size < h->split_high) { /* a small request: the high end, the free rest stays at b */
        bool keep = heap_index_keeps_place(h);
        if (!keep) heap_index_remove(h, fb);
        uint64_t w = make_word(h, b, have - size, false, 0, false);
        *word_at(b + have - size - HDR) = w;
        *word_at(b) = w | (prev_free ? F_PREV_FREE : 0);
        if (!keep) heap_index_insert(h, fb);
        uintptr_t c = b + have - size;
        mark_used(h, c, size, size - HDR - n, true);
        h->free_bytes -= size;
        h->used_bytes += size;
        return (void *)(c + HDR);
    }
    uintptr_t rest = b + size;
    uint64_t w = make_word(h, rest, have - size, false, 0, false);
    *word_at(rest) = w;
    *word_at(b + have - HDR) = w;
    heap_index_replace(h, fb, (fblock *)rest);
    *word_at(b) = make_word(h, b, size, true, size - HDR - n, prev_free);
    h->free_bytes -= size;
    h->used_bytes += size;
    return (void *)(b + HDR);
}

void *heap_alloc_internal(carve_heap *h, size_t bytes)
{
    size_t need;
    fblock *fb = block_size_for(h, bytes, &need) ? heap_index_find(h, need) : NULL;
    if (fb == NULL) return NULL;
    size_t requested = h->requested, peak = h->peak_requested;
    uint64_t allocs = h->allocs;
    void *p = place(h, fb, need, bytes);
    h->requested = requested;
    h->peak_requested = peak;
    h->allocs = allocs;
    h->used_bytes -= b_size((uintptr_t)p - HDR);
    return p;
}

void heap_free_internal(carve_heap *h, uintptr_t b)
{
    uint64_t w = *word_at(b);
    h->used_bytes += w_size(w);
    h->requested += usable_of(w) - w_slack(w);
    h->frees--;
    release(h, b);
}

/* TLSF outgrew its table and enough is free to hold a bigger one (heap_index_fit_table makes the
 * same test): checked inline so that a heap that cannot move its table yet pays no call. */
CARVE_HOT bool table_may_move(const carve_heap *h)
{
    return h->rows_wanted != 0 &&
           h->free_bytes >= heap_index_lists(CARVE_FIT_TLSF, h->rows_wanted) * sizeof(fblock *) + HDR;
}

CARVE_API void *carve_heap_alloc(carve_heap *h, size_t size)
{
    if (h == NULL) return NULL;
    if (CARVE_UNLIKELY(table_may_move(h))) heap_index_fit_table(h);
    size_t need;
    fblock *fb = NULL;
    if (block_size_for(h, size, &need)) fb = find_or_grow(h, need);
    if (fb == NULL) {
        h->failed++;
        return NULL;
    }
    return place(h, fb, need, size);
}

CARVE_API void *carve_heap_aligned_alloc(carve_heap *h, size_t align, size_t size)
{
    if (h == NULL) return NULL;
    if (!carve_is_pow2(align)) {
        h->failed++;
        return NULL;
    }
    if (align <= h->align) return carve_heap_alloc(h, size);
    if (CARVE_UNLIKELY(table_may_move(h))) heap_index_fit_table(h);
    size_t need, search;
    fblock *fb = NULL;
    if (align < MAX_BLOCK && block_size_for(h, size, &need) &&
        !carve_add_overflow(need, align + h->min_block, &search) && search < MAX_BLOCK)
        fb = find_or_grow(h, search);
    if (fb == NULL) {
        h->failed++;
        return NULL;
    }
    uintptr_t b = (uintptr_t)fb;
    size_t have = w_size(fb->head);
    bool prev_free = (fb->head & F_PREV_FREE) != 0;
    uintptr_t p = carve_align_up_ptr(b + HDR, align);
    if (p - HDR != b && p - HDR - b < h->min_block) p += carve_align_up(h->min_block - (p - HDR - b), align);
    size_t lead = p - HDR - b;
    heap_index_remove(h, fb);
    h->free_blocks--;
    h->free_bytes -= have;
    if (lead != 0) {
        add_free_block(h, b, lead, prev_free);
        prev_free = true;
    }
    count_alloc(h, size);
    return carve_block(h, p - HDR, have - lead, need, size, prev_free);
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

/* The used block whose payload is p, checked against its neighbours. */
CARVE_HOT carve_status locate(const carve_heap *h, const void *p, uintptr_t *out)
{
    uintptr_t a = (uintptr_t)p;
    region *r = (a & (h->align - 1)) == 0 ? region_of(h, a - HDR) : NULL;
    if (r == NULL) return CARVE_EFOREIGN;
    uintptr_t b = a - HDR;
    if (b == h->table_block) return CARVE_EFOREIGN; /* the heap's own block */
    uint64_t w = *word_at(b);
    if (!w_valid(h, b, w)) return diagnose(h, r, b);
    if (!w_used(w)) return CARVE_EDOUBLEFREE;
    size_t size = w_size(w);
    if (size < h->min_block || (size & (h->align - 1)) != 0 || size > r->end - b ||
        usable_of(w) < w_slack(w))
        return diagnose(h, r, b);
    uintptr_t next = b + size;
    uint64_t wn = *word_at(next);
    if (!w_valid(h, next, wn) || (wn & F_PREV_FREE) != 0) return diagnose(h, r, b);
    if ((w & F_PREV_FREE) != 0) {
        uint64_t fw = *word_at(b - HDR);
        uintptr_t pb = b - w_size(fw);
        if (w_size(fw) < h->min_block || pb < r->first || pb > b ||
            (*word_at(pb) & ~F_PREV_FREE) != fw || !w_valid(h, pb, fw))
            return diagnose(h, r, b);
    }
    *out = b;
    return CARVE_OK;
}

CARVE_API size_t carve_heap_usable_size(const carve_heap *h, const void *p)
{
    uintptr_t b = 0;
    if (h == NULL || p == NULL || locate(h, p, &b) != CARVE_OK) return 0;
    return usable_of(*word_at(b));
}

/* ---- free --------------------------------------------------------------------------------- */

/* Return the used block b to the free index, merging it with free neighbours. */
CARVE_HOT void release(carve_heap *h, uintptr_t b)
{
    uint64_t w = *word_at(b);
    size_t size = w_size(w);
    bool prev_free = (w & F_PREV_FREE) != 0;
    h->frees++;
    h->requested -= usable_of(w) - w_slack(w);
    h->used_bytes -= size;
    h->free_bytes += size;
    h->free_blocks++;
    uintptr_t start = b;
    size_t total = size;
    if (h->coalesce) {
        uintptr_t next = b + size;
        if (!b_used(next)) {
            heap_index_remove(h, (fblock *)next);
            total += b_size(next);
            h->free_blocks--;
        }
        if (prev_free) {
            start = prev_block(b);
            heap_index_remove(h, (fblock *)start);
            *word_at(b) = make_word(h, b, size, false, 0, true); /* left behind: reads as freed */
            total += b_size(start);
            prev_free = b_prev_free(start);
            h->free_blocks--;
        }
    }
    mark_free(h, start, total, prev_free);
    heap_index_insert(h, (fblock *)start);
}

CARVE_API carve_status carve_heap_free(carve_heap *h, void *p)
{
    if (p == NULL) return CARVE_OK;
    if (h == NULL) return CARVE_EINVAL;
    uintptr_t b = 0;
    carve_status st = locate(h, p, &b);
    if (st == CARVE_OK) release(h, b);
    return st;
}

/* ---- realloc ------------------------------------------------------------------------------ */

/* Make the used block b exactly size bytes if it is larger by a minimum block or more (the tail
 * goes back as a free block), and record n in place of its old request old_n. */
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
    h->used_bytes -= have - size;
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
    region *r = region_of(h, b);
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
    h->used_bytes += extra;
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
    h->used_bytes += before;
    *word_at(pb) = make_word(h, pb, before + whole, true, 0, b_prev_free(pb));
    *word_at(b) = make_word(h, b, whole, false, 0, true); /* left behind: reads as freed */
    memmove((void *)(pb + HDR), p, copy);
    trim_to(h, pb, need, n, old_n);
    return (void *)(pb + HDR);
}

CARVE_API void *carve_heap_realloc(carve_heap *h, void *p, size_t size)
{
    if (p == NULL) return carve_heap_alloc(h, size);
    if (h == NULL) return NULL;
    size_t need;
    uintptr_t b = 0;
    if (!block_size_for(h, size, &need) || locate(h, p, &b) != CARVE_OK) {
        h->failed++;
        return NULL;
    }
    uint64_t w = *word_at(b);
    size_t have = w_size(w), old_n = usable_of(w) - w_slack(w);
    if (need <= have) {
        trim_to(h, b, need, size, old_n);
        return p;
    }
    if (have + free_after(b) < need) grow_after(h, b, need);
    if (have + free_after(b) >= need) {
        absorb_next(h, b);
        trim_to(h, b, need, size, old_n);
        return p;
    }
    if (h->coalesce && b_prev_free(b) && b_size(prev_block(b)) + have + free_after(b) >= need)
        return slide_down(h, b, p, need, size, old_n);
    void *q = carve_heap_alloc(h, size);
    if (q == NULL) return NULL;
    size_t old = usable_of(w);
    memcpy(q, p, old < size ? old : size);
    release(h, b);
    return q;
}
