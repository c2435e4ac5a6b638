/*
 * src/heap/heap_internal.h: the region heap's block layout and control struct, shared by
 * heap.c (alloc, free, realloc, growth, misuse), heap_index.c (the free-block indexes of the six
 * policies) and heap_check.c (check, walk, stats). Not installed.
 *
 * Block layout (one 8-byte header word per block; G = the heap's alignment, at least 8):
 *
 *   used block                              free block
 *   +--------------------------+ b          +--------------------------+ b
 *   | header word              |            | header word              |
 *   +--------------------------+ b+8 = p    +--------------------------+ b+8
 *   | payload (p is G-aligned) |            | next free (pointer)      |
 *   |   ...                    |            | prev free (pointer)      |
 *   |                          |            |   ... (unused)           |
 *   |                          |            | footer word (size, check)|
 *   +--------------------------+ b+size     +--------------------------+ b+size
 *
 *   header word: bit 0 USED, bit 1 PREV_FREE (the block before this one is free), bit 2 OWN (a
 *                used block the heap keeps for itself: the TLSF list table),
 *                bits 3..39 the block size in bytes (header included, a multiple of G),
 *                bits 40..51 slack = usable - requested bytes (used blocks; 0 when free),
 *                bits 52..63 a 12-bit check = hash(heap key, block address, bits 0, 2 and 3..51).
 *   footer word: size | check computed as for a free header with PREV_FREE clear.
 *
 * Each region ends in an epilogue: a header word of size 0, USED, whose PREV_FREE bit says
 * whether the region's last block is free. Block starts are = -8 (mod G), so payloads are
 * G-aligned and a region's epilogue sits exactly where a contiguous extension's first block
 * begins.
 *
 * Traps:
 * - PREV_FREE is outside the check, so flipping it (when a neighbour changes state) is one OR;
 *   carve_heap_check verifies it against the walk instead.
 * - A used block has no footer: its last 8 bytes are payload. Read the footer at b-8 only when
 *   b's PREV_FREE bit is set, and then verify it against the header it points back to.
 * - Headers of blocks swallowed by coalescing are left behind as "free" words: a later free of
 *   that address then reads as a double free, never as a live block (free always clears USED).
 * - The check is 12 bits: a random word passes 1 time in 4096, so free also checks the next
 *   header and, with PREV_FREE, the footer before trusting a block.
 * - Every pointer the heap reads from its blocks (a list link, a TLSF list head kept in an OWN
 *   block) can have been overwritten by the user: it is followed only after block_sound() (a
 *   block whose size is used) or link_sound() (a list neighbour) found it inside a region with a
 *   sound free header, and a block is unlinked only after links_sound() found that its
 *   neighbours point back at it (safe unlinking). List heads kept in the control struct are
 *   inside a region by construction (no block lies below the struct, so no overflow reaches it);
 *   the block they point to is still checked before it is used.
 * - Sizes are below 2^40 (regions are clamped), slack below 4096 (splitting keeps it small).
 */
#ifndef CARVE_HEAP_INTERNAL_H
#define CARVE_HEAP_INTERNAL_H

#include "carve/heap.h"
#include "internal.h"

#define HDR            ((size_t)8)
#define F_USED         ((uint64_t)1)
#define F_PREV_FREE    ((uint64_t)2)
#define F_OWN          ((uint64_t)4)
#define SIZE_MASK      ((uint64_t)0x000000FFFFFFFFF8ull)
#define SLACK_SHIFT    40
#define SLACK_MAX      ((size_t)0xFFF)
#define CHECK_SHIFT    52
#define CHECK_MASK     ((uint64_t)0xFFF << CHECK_SHIFT)
#define MAX_BLOCK      ((size_t)1 << 40)    /* exclusive */
#define MIN_ALIGN      ((size_t)8)
#define MAX_CFG_ALIGN  ((size_t)1024)       /* cfg->align; aligned_alloc goes higher */

/* TLSF: 16 second-level lists per first-level range (a row): the "fine" table of rows * 16
 * heads, sized at init for the initial memory. Blocks of a row the table does not have (after
 * growth) go to that row's single "coarse" list, searched like a TLSF row whose only list is
 * its first (its head, else the next non-empty row), so alloc stays O(1). When the heap has
 * outgrown the table, an alloc that finds a free block for a bigger one moves the table there
 * (O(rows) copies; the old table is freed). Rows whose coarse list still holds blocks stay
 * coarse until it empties: nothing is ever re-filed. 34 rows cover 2^40 bytes at G = 8. */
#define TLSF_SL_LOG2   4
#define TLSF_SL        (1u << TLSF_SL_LOG2)
#define TLSF_FL_MAX    34
/* Segregated: one class per power of two from the minimum block up to 2^40. */
#define SEG_CLASSES    40

typedef struct fblock {     /* a free block: its header, then the links inside its payload */
    uint64_t head;
    struct fblock *next, *prev;
} fblock;

/* What a search returns when it met a damaged block or link (it changed nothing). */
#define FB_DAMAGED ((fblock *)(uintptr_t)1)

typedef struct region {     /* at the start of each region's memory (after the control) */
    struct region *next;    /* regions in ascending address order */
    uintptr_t mem, mem_end; /* every byte the caller gave, counted in capacity */
    uintptr_t first;        /* the first block */
    uintptr_t end;          /* the epilogue word */
} region;

struct carve_heap {
    uint64_t key;           /* mixed into every check: headers of other heaps do not pass */
    carve_fit fit;
    carve_order order;
    bool coalesce;
    bool tree;              /* FIRST/NEXT/BEST/WORST in ADDRESS order: the free blocks are in
                               treaps (heap_tree.c), not the list; set at init (a white-box test
                               clears it to run the ADDRESS list as its reference) */
    size_t align, min_block;
    unsigned align_log2;
    carve_grow_fn grow;
    void *grow_ctx;
    size_t grow_min, split_high; /* cfg->grow_min, cfg->split_high_below */
    region *regions, *last; /* last: the region most recently added or extended */

    /* FIRST/NEXT/BEST/WORST: one doubly linked list; NEXT's roving pointer. */
    fblock *head, *tail, *rover;
    /* FIRST/NEXT/BEST/WORST in ADDRESS order: treaps instead (heap_tree.h; tree, above). */
    struct tnode *troot[3];
    /* SEGREGATED and TLSF: bitmaps of non-empty lists (SEGREGATED: bit c of top_map). */
    uint64_t top_map;
    uint16_t sl_map[TLSF_FL_MAX + 1]; /* the last stays 0: a search may start past the top row */
    unsigned rows;            /* TLSF: rows of the fine table */
    uint64_t coarse_rows;     /* TLSF: bit fl: row fl keeps its free blocks in coarse[fl]: every
                                 row >= rows, and those below whose coarse list is not empty */
    unsigned fine_idx;        /* TLSF: 16 * the lowest coarse row: a list index below it is fine */
    bool tlsf_fast;           /* TLSF with coalescing and no split_high_below: heap.c's fast paths */
    uintptr_t last_first, last_end; /* the region last grown's [first, end) (h->last's copy) */
    unsigned rows_wanted;     /* TLSF: rows the largest region needs, when more than rows */
    fblock **lists;           /* SEGREGATED: its SEG_CLASSES heads; TLSF: the fine table */
    uintptr_t table_block;    /* TLSF: the OWN block holding the fine table (0: after this struct) */
    uint64_t table_word;      /* TLSF: that block's header, PREV_FREE clear */

    size_t control;           /* bytes of the first memory before its region: this struct, heads */
    /* counters kept on every operation; carve_heap_check compares them with a walk. The bytes
     * in used blocks are block_bytes (all blocks: the regions' [first, end)) - free - own. */
    size_t capacity, block_bytes, free_bytes, free_blocks, own_bytes, requested, peak_requested;
    uint64_t allocs, frees, failed;
    fblock *coarse[];         /* TLSF: the coarse list of each row (TLSF_FL_MAX) */
};

/* ---- header words ------------------------------------------------------------------------ */

/* The product whose top 12 bits are the check of word w at address b. One multiply: the
 * address, rotated so that its bits land above the word's size field, the key and the word
 * (without PREV_FREE and the check) are mixed by xor; the top bits of the product depend on
 * every bit below them, so a change anywhere in the input changes the check with probability
 * about 1 - 2^-12. */
CARVE_INLINE uint64_t hdr_mix_clean(const carve_heap *h, uintptr_t b, uint64_t w) /* w: no PREV_FREE, no check */
{
    return (w ^ h->key ^ (((uint64_t)b << 29) | ((uint64_t)b >> 35))) * 0xBF58476D1CE4E5B9ull;
}
CARVE_INLINE uint64_t hdr_mix(const carve_heap *h, uintptr_t b, uint64_t w)
{
    return hdr_mix_clean(h, b, w & ~(F_PREV_FREE | CHECK_MASK));
}
CARVE_INLINE uint64_t hdr_check(const carve_heap *h, uintptr_t b, uint64_t w)
{
    return hdr_mix(h, b, w) & CHECK_MASK;
}
/* Does w (at b) pass its check, with the flag bits in mask equal to flags? */
CARVE_INLINE bool hdr_ok(const carve_heap *h, uintptr_t b, uint64_t w, uint64_t mask, uint64_t flags)
{
    return ((w ^ hdr_mix(h, b, w)) >> CHECK_SHIFT) == 0 && (w & mask) == flags;
}
CARVE_INLINE uint64_t *word_at(uintptr_t a) { return (uint64_t *)a; }
CARVE_INLINE size_t w_size(uint64_t w) { return (size_t)(w & SIZE_MASK); }
CARVE_INLINE size_t w_slack(uint64_t w) { return (size_t)((w >> SLACK_SHIFT) & SLACK_MAX); }
CARVE_INLINE bool w_used(uint64_t w) { return (w & F_USED) != 0; }
CARVE_INLINE bool w_valid(const carve_heap *h, uintptr_t b, uint64_t w)
{
    return ((w ^ hdr_mix(h, b, w)) >> CHECK_SHIFT) == 0;
}
CARVE_INLINE size_t b_size(uintptr_t b) { return w_size(*word_at(b)); }
CARVE_INLINE bool b_used(uintptr_t b) { return w_used(*word_at(b)); }
CARVE_INLINE bool b_prev_free(uintptr_t b) { return (*word_at(b) & F_PREV_FREE) != 0; }

/* The header word of a block with these fields and PREV_FREE clear, check included. */
CARVE_INLINE uint64_t word_of(const carve_heap *h, uintptr_t b, size_t size, uint64_t used, size_t slack)
{
    CARVE_ASSERT(slack <= SLACK_MAX && size < MAX_BLOCK && "splitting keeps slack and size in their fields");
    uint64_t w = (uint64_t)size | used | ((uint64_t)slack << SLACK_SHIFT);
    return w | (hdr_mix_clean(h, b, w) & CHECK_MASK);
}
/* The header word of a block with these fields, check included. */
CARVE_INLINE uint64_t make_word(const carve_heap *h, uintptr_t b, size_t size, bool used, size_t slack,
                                bool prev_free)
{
    return word_of(h, b, size, used ? F_USED : 0, slack) | (prev_free ? F_PREV_FREE : 0);
}
CARVE_INLINE void set_prev_free(uintptr_t b, bool prev_free)
{
    if (prev_free) *word_at(b) |= F_PREV_FREE;
    else *word_at(b) &= ~F_PREV_FREE;
}
/* Write b as a used block (keeping the caller's PREV_FREE) and tell the next block. */
CARVE_INLINE void mark_used(const carve_heap *h, uintptr_t b, size_t size, size_t slack, bool prev_free)
{
    *word_at(b) = make_word(h, b, size, true, slack, prev_free);
    set_prev_free(b + size, false);
}
/* Write b as a free block: header, footer, and the next block's PREV_FREE. */
CARVE_INLINE void mark_free(const carve_heap *h, uintptr_t b, size_t size, bool prev_free)
{
    uint64_t w = make_word(h, b, size, false, 0, false);
    *word_at(b + size - HDR) = w;
    *word_at(b) = w | (prev_free ? F_PREV_FREE : 0);
    set_prev_free(b + size, true);
}
/* The free block before b (b's PREV_FREE is set), read through its footer. */
CARVE_INLINE uintptr_t prev_block(uintptr_t b) { return b - w_size(*word_at(b - HDR)); }

CARVE_INLINE size_t usable_of(uint64_t w) { return w_size(w) - HDR; }

/* ---- regions and soundness ---------------------------------------------------------------- */

/* In heap.c: the region whose blocks [first, end) hold address a, or NULL (a walk). */
const region *heap_region_walk(const carve_heap *h, uintptr_t a);

/* The region holding a: *hint (the region of a previous answer) first, then the region last
 * grown, then a walk. O(1) unless a lies in an older region than both. */
CARVE_INLINE const region *region_holding(const carve_heap *h, uintptr_t a, const region **hint)
{
    const region *r = *hint;
    if (r != NULL && a - r->first < r->end - r->first) return r;
    if (CARVE_LIKELY(a - h->last_first < h->last_end - h->last_first)) return *hint = h->last;
    return *hint = heap_region_walk(h, a);
}

/* Is b, a free block inside a region that ends at end, sound: where a block can start, its
 * header passing the check (with USED clear: one compare), its size within the region? */
CARVE_INLINE bool block_sound_in(const carve_heap *h, const fblock *b, uintptr_t end)
{
    uintptr_t a = (uintptr_t)b;
    uint64_t w = b->head;
    size_t s = w_size(w);
    return ((a + HDR) & (h->align - 1)) == 0 && hdr_ok(h, a, w, F_USED, 0) && s >= h->min_block && s <= end - a;
}
/* Is b, a pointer read from the heap's memory, a sound free block (inside a region, then as
 * block_sound_in)? Reads only inside a region. */
CARVE_INLINE bool block_sound_near(const carve_heap *h, const fblock *b, const region **hint)
{
    const region *r = region_holding(h, (uintptr_t)b, hint);
    return r != NULL && block_sound_in(h, b, r->end);
}
CARVE_INLINE bool block_sound(const carve_heap *h, const fblock *b)
{
    uintptr_t a = (uintptr_t)b, first = h->last_first, end = h->last_end;
    if (CARVE_UNLIKELY(a - first >= end - first)) {
        const region *r = heap_region_walk(h, a);
        if (r == NULL) return false;
        end = r->end;
    }
    return block_sound_in(h, b, end);
}
/* Is x, a list neighbour read from the heap's memory that an unlink or link will write (its
 * links) but whose size it does not use, a free block: a block start inside a region with room
 * for a minimum block, its header passing the check with USED clear? */
CARVE_INLINE bool link_sound(const carve_heap *h, const fblock *x)
{
    uintptr_t a = (uintptr_t)x, first = h->last_first, end = h->last_end;
    if (CARVE_UNLIKELY(a - first >= end - first)) {
        const region *r = heap_region_walk(h, a);
        if (r == NULL) return false;
        end = r->end;
    }
    return end - a >= h->min_block && ((a + HDR) & (h->align - 1)) == 0 && hdr_ok(h, a, x->head, F_USED, 0);
}
/* A sound free block's footer repeats its header. */
CARVE_INLINE bool footer_sound(const fblock *b)
{
    return *word_at((uintptr_t)b + w_size(b->head) - HDR) == (b->head & ~F_PREV_FREE);
}
/* Safe unlinking: b's list neighbours are sound and point back at it; without a predecessor it
 * is its list's head (*head), without a successor its list's tail (*tail; NULL: not kept). */
CARVE_INLINE bool links_sound(const carve_heap *h, const fblock *b, fblock *const *head, fblock *const *tail)
{
    const fblock *p = b->prev, *n = b->next;
    if (p == NULL ? *head != b : !(link_sound(h, p) && p->next == b)) return false;
    if (n == NULL) return tail == NULL || *tail == b;
    return link_sound(h, n) && n->prev == b;
}
/* A list head that a block will be linked in front of: empty, or sound with no predecessor. */
CARVE_INLINE bool head_sound(const carve_heap *h, const fblock *head)
{
    return head == NULL || (link_sound(h, head) && head->prev == NULL);
}

/* ---- the class lists of SEGREGATED and TLSF (inline: TLSF's hot path) ---------------------- */

CARVE_INLINE bool is_list_policy(const carve_heap *h) { return h->fit <= CARVE_FIT_WORST; }

CARVE_INLINE unsigned seg_class(const carve_heap *h, size_t size)
{
    unsigned c = carve_log2_floor(size) - carve_log2_floor(h->min_block);
    return c < SEG_CLASSES ? c : SEG_CLASSES - 1;
}

/* TLSF's list of a size, as one flat index fl * 16 + sl: linear below 32 units of G (rows 0
 * and 1), then the top bit (the row) and the next 4 bits. With s = max(0, log2(u) - 4) for u
 * units of G, the index is 16 * s + (u >> s): no branch, one bit scan. */
CARVE_INLINE unsigned tlsf_index(unsigned align_log2, size_t size)
{
    size_t u = size >> align_log2;
    unsigned s = carve_log2_floor(u | (2 * TLSF_SL - 1)) - TLSF_SL_LOG2;
    return (s << TLSF_SL_LOG2) + (unsigned)(u >> s);
}
CARVE_INLINE void tlsf_map(unsigned align_log2, size_t size, unsigned *fl, unsigned *sl)
{
    unsigned i = tlsf_index(align_log2, size);
    *fl = i >> TLSF_SL_LOG2;
    *sl = i & (TLSF_SL - 1);
}

/* The TLSF rows a block of size bytes needs in the fine table (its fl + 1). */
CARVE_INLINE unsigned heap_tlsf_rows(unsigned align_log2, size_t size)
{
    return (tlsf_index(align_log2, size) >> TLSF_SL_LOG2) + 1;
}

/* A class list: where its head is kept, and its bits (SEGREGATED: fl = class, sl = 0). */
typedef struct cls {
    fblock **head;
    unsigned fl, sl;
} cls;

CARVE_INLINE bool tlsf_coarse(const carve_heap *h, unsigned fl) { return ((h->coarse_rows >> fl) & 1) != 0; }

/* TLSF's list with flat index i (in a coarse row: the row's one list, sl 0). */
CARVE_INLINE cls tlsf_class_at(const carve_heap *h, unsigned i)
{
    cls c = {&h->lists[i], i >> TLSF_SL_LOG2, i & (TLSF_SL - 1)};
    if (CARVE_UNLIKELY(i >= h->fine_idx) && tlsf_coarse(h, c.fl)) {
        c.sl = 0;
        c.head = (fblock **)&h->coarse[c.fl]; /* h is const only for the checker */
    }
    return c;
}

CARVE_INLINE cls class_of(const carve_heap *h, size_t size)
{
    if (h->fit == CARVE_FIT_TLSF) return tlsf_class_at(h, tlsf_index(h->align_log2, size));
    unsigned c = seg_class(h, size);
    return (cls){&h->lists[c], c, 0};
}

/* c was the class of a block of size bytes before an unlink that may have emptied a coarse list
 * below the table's rows, which turns that row fine: the class to link with now. */
CARVE_INLINE cls class_again(const carve_heap *h, cls c, size_t size)
{
    if (CARVE_UNLIKELY(c.head == &h->coarse[c.fl] && !tlsf_coarse(h, c.fl))) return class_of(h, size);
    return c;
}

/* TLSF: the lowest coarse row changed. */
CARVE_INLINE void tlsf_set_fine_idx(carve_heap *h) { h->fine_idx = TLSF_SL * carve_ctz64(h->coarse_rows); }

/* TLSF: every list of row fl is empty now; a coarse row below the table's rows turns fine. */
CARVE_INLINE void tlsf_row_emptied(carve_heap *h, unsigned fl)
{
    h->top_map &= ~((uint64_t)1 << fl);
    if (CARVE_UNLIKELY(fl * TLSF_SL >= h->fine_idx) && fl < h->rows && tlsf_coarse(h, fl)) {
        h->coarse_rows &= ~((uint64_t)1 << fl);
        tlsf_set_fine_idx(h);
    }
}

CARVE_INLINE void class_link(carve_heap *h, fblock *b, cls c)
{
    fblock *n = *c.head;
    b->prev = NULL;
    b->next = n;
    *c.head = b;
    if (n != NULL) {
        n->prev = b;
        return; /* the list's bits are set already */
    }
    if (h->fit == CARVE_FIT_TLSF) h->sl_map[c.fl] |= (uint16_t)(1u << c.sl);
    h->top_map |= (uint64_t)1 << c.fl;
}

CARVE_INLINE void class_unlink(carve_heap *h, fblock *b, cls c)
{
    fblock *n = b->next, *p = b->prev;
    if (p != NULL) p->next = n;
    else *c.head = n;
    if (n != NULL) n->prev = p;
    if (*c.head != NULL) return;
    if (h->fit == CARVE_FIT_TLSF) {
        h->sl_map[c.fl] &= (uint16_t)~(1u << c.sl);
        if (h->sl_map[c.fl] == 0) tlsf_row_emptied(h, c.fl);
        return;
    }
    h->top_map &= ~((uint64_t)1 << c.fl);
}

/* What tlsf_search found: a sound block and the list it heads, or b NULL (none) or FB_DAMAGED. */
typedef struct found {
    fblock *b;
    cls c;
} found;

/* TLSF: the first non-empty list at flat index j or above (two bitmap scans); in a coarse row
 * only sl 0 (its one list) is ever marked. Returns the list, or c.head NULL when none. */
CARVE_INLINE cls tlsf_first_at(const carve_heap *h, unsigned j)
{
    unsigned fl = j >> TLSF_SL_LOG2;
    uint32_t bits = h->sl_map[fl] & (~0u << (j & (TLSF_SL - 1)));
    if (bits == 0) {
        uint64_t rows = h->top_map & (~(uint64_t)1 << fl);
        if (rows == 0) return (cls){NULL, 0, 0};
        fl = carve_ctz64(rows);
        bits = h->sl_map[fl];
    }
    return tlsf_class_at(h, fl * TLSF_SL + carve_ctz64(bits));
}

/* TLSF: a request first looks at the head of its own list (a block there may fit); otherwise
 * it takes the head of the first non-empty list from the next class up, where every block fits
 * (in a coarse row: from the next row). */
CARVE_INLINE found tlsf_search(carve_heap *h, size_t size)
{
    found f = {NULL, tlsf_class_at(h, tlsf_index(h->align_log2, size))};
    fblock *b = *f.c.head;
    if (b != NULL) {
        if (!block_sound(h, b)) return (found){FB_DAMAGED, f.c};
        if (w_size(b->head) >= size) return (found){b, f.c};
    }
    unsigned next = f.c.sl == 0 && tlsf_coarse(h, f.c.fl) ? (f.c.fl + 1) * TLSF_SL : f.c.fl * TLSF_SL + f.c.sl + 1;
    f.c = tlsf_first_at(h, next);
    if (f.c.head == NULL) return f;
    f.b = *f.c.head;
    if (!block_sound(h, f.b)) f.b = FB_DAMAGED;
    return f;
}

CARVE_INLINE fblock *tlsf_find(carve_heap *h, size_t size) { return tlsf_search(h, size).b; }

/* ---- the index interface (heap_index.c; the class-list cases inline) ---------------------- */

/* The single list of FIRST/NEXT/BEST/WORST and SEGREGATED's search, in heap_index.c. */
void heap_list_insert(carve_heap *h, fblock *b);
void heap_list_remove(carve_heap *h, fblock *b);
fblock *heap_list_find(carve_heap *h, size_t size);
bool heap_list_insertable(const carve_heap *h, uintptr_t b, size_t size, const fblock *skip1, const fblock *skip2);
fblock *heap_seg_find(carve_heap *h, size_t size);
void heap_list_replace(carve_heap *h, fblock *b, fblock *rest); /* a LIFO/FIFO/ADDRESS list */

/* FIRST/NEXT/BEST/WORST in ADDRESS order keep treaps instead of the list (heap_tree.c): the same
 * calls, each O(log free blocks) expected. */
CARVE_INLINE bool is_tree_index(const carve_heap *h) { return h->tree; }
void heap_tree_insert(carve_heap *h, fblock *b);
void heap_tree_remove(carve_heap *h, fblock *b);
void heap_tree_replace(carve_heap *h, fblock *b, fblock *rest);
fblock *heap_tree_find(carve_heap *h, size_t size);
bool heap_tree_removable(const carve_heap *h, const fblock *b);
bool heap_tree_insertable(const carve_heap *h, uintptr_t b, size_t size, const fblock *skip1, const fblock *skip2);
size_t heap_tree_check(const carve_heap *h, size_t free_blocks); /* in heap_tree.c, for heap_check.c */

/* b's header is already written as free. */
CARVE_INLINE void heap_index_insert(carve_heap *h, fblock *b)
{
    if (is_tree_index(h)) heap_tree_insert(h, b);
    else if (is_list_policy(h)) heap_list_insert(h, b);
    else class_link(h, b, class_of(h, w_size(b->head)));
}

CARVE_INLINE void heap_index_remove(carve_heap *h, fblock *b)
{
    if (is_tree_index(h)) heap_tree_remove(h, b);
    else if (is_list_policy(h)) heap_list_remove(h, b);
    else class_unlink(h, b, class_of(h, w_size(b->head)));
}

/* Can b, a sound free block in the index, be taken out of it (safe unlinking; a tree: the paths
 * the removal changes are sound)? A class list's head is looked up only when b has no
 * predecessor. */
CARVE_INLINE bool heap_index_removable(const carve_heap *h, const fblock *b)
{
    if (is_tree_index(h)) return heap_tree_removable(h, b);
    if (is_list_policy(h)) return links_sound(h, b, &h->head, &h->tail);
    const fblock *p = b->prev, *n = b->next;
    if (p == NULL ? *class_of(h, w_size(b->head)).head != b : !(link_sound(h, p) && p->next == b)) return false;
    return n == NULL || (link_sound(h, n) && n->prev == b);
}

/* Are the list heads kept where no overflow reached them? Then a block can be linked in front of
 * one without reading it: the head points into a region (it was checked when stored), so the
 * write stays inside the heap. The control struct has no block below it; TLSF's table, once
 * moved into a block, can only be reached by an overflow through that block's header, which is
 * compared with the heap's copy. */
CARVE_INLINE bool heads_trusted(const carve_heap *h)
{
    return h->table_block == 0 || ((*word_at(h->table_block) ^ h->table_word) & ~F_PREV_FREE) == 0;
}

/* Are the blocks that inserting a free block [b, b+size) would write to sound? skip1 and skip2
 * (or NULL) are blocks that will have been removed by then (the caller checked them with
 * heap_index_removable). Heads and tails kept in the control struct need no check (see
 * heads_trusted); a sorted list's walk checks every block it reads. */
CARVE_INLINE bool heap_index_insertable(const carve_heap *h, uintptr_t b, size_t size, const fblock *skip1,
                                        const fblock *skip2)
{
    if (is_tree_index(h)) return heap_tree_insertable(h, b, size, skip1, skip2); /* the paths it changes */
    if (is_list_policy(h)) return heap_list_insertable(h, b, size, skip1, skip2);
    if (heads_trusted(h)) return true;
    const fblock *head = *class_of(h, size).head;
    return head == skip1 || head == skip2 || head_sound(h, head);
}
/* Does a free block that changes size (same address) keep its place in the index without being
 * told? (A tree is told: its node holds the block's size, or is keyed by it.) */
CARVE_INLINE bool heap_index_keeps_place(const carve_heap *h)
{
    return is_list_policy(h) && !is_tree_index(h) && h->order != CARVE_ORDER_SIZE_ASC &&
           h->order != CARVE_ORDER_SIZE_DESC;
}

/* b (in the index) shrank to rest, a free block at a higher address inside it: rest takes b's
 * place where the order allows, or is re-filed. */
CARVE_INLINE void heap_index_replace(carve_heap *h, fblock *b, fblock *rest)
{
    if (is_tree_index(h)) {
        heap_tree_replace(h, b, rest);
        return;
    }
    if (heap_index_keeps_place(h)) {
        heap_list_replace(h, b, rest);
        return;
    }
    bool rove = h->rover == b;
    heap_index_remove(h, b);
    heap_index_insert(h, rest);
    if (rove) h->rover = rest;
}

/* A sound free block of at least size, NULL (none), or FB_DAMAGED (a damaged block or link
 * was met on the way; nothing changed). */
CARVE_INLINE fblock *heap_index_find(carve_heap *h, size_t size)
{
    if (h->fit == CARVE_FIT_TLSF) return tlsf_find(h, size);
    if (h->fit == CARVE_FIT_SEGREGATED) return heap_seg_find(h, size);
    if (is_tree_index(h)) return heap_tree_find(h, size);
    return heap_list_find(h, size);
}

/* TLSF: move the fine table into a free block with room for the rows the heap wants (heap.c). */
void heap_tlsf_grow_table(carve_heap *h);

#endif /* CARVE_HEAP_INTERNAL_H */
