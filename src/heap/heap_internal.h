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
 *   header word: bit 0 USED, bit 1 PREV_FREE (the block before this one is free), bit 2 spare,
 *                bits 3..39 the block size in bytes (header included, a multiple of G),
 *                bits 40..51 slack = usable - requested bytes (used blocks; 0 when free),
 *                bits 52..63 a 12-bit check = hash(heap key, block address, bits 0 and 3..51).
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
 * - Sizes are below 2^40 (regions are clamped), slack below 4096 (splitting keeps it small).
 */
#ifndef CARVE_HEAP_INTERNAL_H
#define CARVE_HEAP_INTERNAL_H

#include "carve/heap.h"
#include "internal.h"

#define HDR            ((size_t)8)
#define F_USED         ((uint64_t)1)
#define F_PREV_FREE    ((uint64_t)2)
#define SIZE_MASK      ((uint64_t)0x000000FFFFFFFFF8ull)
#define SLACK_SHIFT    40
#define SLACK_MAX      ((size_t)0xFFF)
#define CHECK_SHIFT    52
#define CHECK_MASK     ((uint64_t)0xFFF << CHECK_SHIFT)
#define MAX_BLOCK      ((size_t)1 << 40)    /* exclusive */
#define MIN_ALIGN      ((size_t)8)
#define MAX_CFG_ALIGN  ((size_t)1024)       /* cfg->align; aligned_alloc goes higher */

/* TLSF: 16 second-level lists per first-level range (a row); rows up to blocks of 2^40 bytes.
 * A heap keeps only the rows its capacity needs: the last list of its last row also holds every
 * larger block (searched first fit), until an alloc after a growth moves the table into a
 * bigger heap block taken from free space (see heap_index_fit_table). */
#define TLSF_SL_LOG2   4
#define TLSF_SL        (1u << TLSF_SL_LOG2)
#define TLSF_FL_MAX    38
/* Segregated: one class per power of two from the minimum block up to 2^40. */
#define SEG_CLASSES    40

typedef struct fblock {     /* a free block: its header, then the links inside its payload */
    uint64_t head;
    struct fblock *next, *prev;
} fblock;

typedef struct region {     /* at the start of each region's memory (after the control) */
    struct region *next;    /* regions in the order they were added */
    uintptr_t mem, mem_end; /* every byte the caller gave, counted in capacity */
    uintptr_t first;        /* the first block */
    uintptr_t end;          /* the epilogue word */
} region;

struct carve_heap {
    uint64_t key;           /* mixed into every check: headers of other heaps do not pass */
    carve_fit fit;
    carve_order order;
    bool coalesce;
    size_t align, min_block;
    unsigned align_log2;
    carve_grow_fn grow;
    void *grow_ctx;
    size_t grow_min, split_high; /* cfg->grow_min, cfg->split_high_below */
    region *regions, *last; /* last: the region most recently added or extended */

    /* FIRST/NEXT/BEST/WORST: one doubly linked list; NEXT's roving pointer. */
    fblock *head, *tail, *rover;
    /* SEGREGATED and TLSF: bitmaps of non-empty lists; the list heads follow the struct. */
    uint64_t top_map;
    uint16_t sl_map[TLSF_FL_MAX];
    unsigned nlists;        /* TLSF: rows * TLSF_SL */
    unsigned rows, rows_wanted;
    fblock **lists;
    uintptr_t table_block;  /* TLSF: the heap block holding lists (0: inside this struct) */

    size_t control;         /* bytes of the first memory before its region: this struct, lists */
    /* counters kept on every operation; carve_heap_check compares them with a walk */
    size_t capacity, used_bytes, free_bytes, free_blocks, requested, peak_requested;
    uint64_t allocs, frees, failed;
};

/* ---- header words ------------------------------------------------------------------------ */

CARVE_INLINE uint64_t hdr_check(const carve_heap *h, uintptr_t b, uint64_t w)
{
    /* two independent multiplies (the address's runs in parallel); the top bits of the last
     * product depend on every bit of its input */
    uint64_t x = ((w & ~(F_PREV_FREE | CHECK_MASK)) ^ h->key) + (uint64_t)b * 0x9E3779B97F4A7C15ull;
    return (x * 0xBF58476D1CE4E5B9ull) & CHECK_MASK;
}
CARVE_INLINE uint64_t *word_at(uintptr_t a) { return (uint64_t *)a; }
CARVE_INLINE size_t w_size(uint64_t w) { return (size_t)(w & SIZE_MASK); }
CARVE_INLINE size_t w_slack(uint64_t w) { return (size_t)((w >> SLACK_SHIFT) & SLACK_MAX); }
CARVE_INLINE bool w_used(uint64_t w) { return (w & F_USED) != 0; }
CARVE_INLINE bool w_valid(const carve_heap *h, uintptr_t b, uint64_t w)
{
    return (w & CHECK_MASK) == hdr_check(h, b, w);
}
CARVE_INLINE size_t b_size(uintptr_t b) { return w_size(*word_at(b)); }
CARVE_INLINE bool b_used(uintptr_t b) { return w_used(*word_at(b)); }
CARVE_INLINE bool b_prev_free(uintptr_t b) { return (*word_at(b) & F_PREV_FREE) != 0; }

/* The header word of a block with these fields, check included. */
CARVE_INLINE uint64_t make_word(const carve_heap *h, uintptr_t b, size_t size, bool used, size_t slack,
                                bool prev_free)
{
    CARVE_ASSERT(slack <= SLACK_MAX && size < MAX_BLOCK && "splitting keeps slack and size in their fields");
    uint64_t w = (uint64_t)size | (used ? F_USED : 0) | ((uint64_t)slack << SLACK_SHIFT);
    return w | hdr_check(h, b, w) | (prev_free ? F_PREV_FREE : 0);
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

/* ---- the free-block index (heap_index.c; the class-list hot path inline here) ----------- */

/* The TLSF rows a capacity needs. */
unsigned heap_index_rows(const carve_heap *h, size_t capacity);
/* In heap.c: allocate a block for the heap's own use (not counted as used or requested), or
 * give one back. */
void *heap_alloc_internal(carve_heap *h, size_t bytes);
void heap_free_internal(carve_heap *h, uintptr_t b);
/* TLSF: when the heap has grown past its table's rows, move the table into a bigger block if a
 * free one fits (else try again at the next alloc). */
void heap_index_fit_table(carve_heap *h);
/* The single list of FIRST/NEXT/BEST/WORST, SEGREGATED's search, and TLSF's first-fit search of
 * its last list (which also holds the blocks beyond the table's rows). */
void heap_list_insert(carve_heap *h, fblock *b);
void heap_list_remove(carve_heap *h, fblock *b);
fblock *heap_list_find(carve_heap *h, size_t size);
fblock *heap_seg_find(carve_heap *h, size_t size);
fblock *heap_tlsf_spill_find(carve_heap *h, size_t size);
void heap_list_replace(carve_heap *h, fblock *b, fblock *rest); /* a LIFO/FIFO/ADDRESS list */

/* List heads the policy needs (TLSF: with this many rows). */
CARVE_INLINE size_t heap_index_lists(carve_fit fit, size_t rows)
{
    if (fit == CARVE_FIT_SEGREGATED) return SEG_CLASSES;
    if (fit == CARVE_FIT_TLSF) return rows * TLSF_SL;
    return 0;
}

CARVE_INLINE bool is_list_policy(const carve_heap *h) { return h->fit <= CARVE_FIT_WORST; }

CARVE_INLINE unsigned seg_class(const carve_heap *h, size_t size)
{
    unsigned c = carve_log2_floor(size) - carve_log2_floor(h->min_block);
    return c < SEG_CLASSES ? c : SEG_CLASSES - 1;
}

/* TLSF's (fl, sl) of a size: linear below 16 units of G, then the top bit and the next 4. */
CARVE_INLINE void tlsf_map(const carve_heap *h, size_t size, unsigned *fl, unsigned *sl)
{
    size_t u = size >> h->align_log2;
    if (u < TLSF_SL) {
        *fl = 0;
        *sl = (unsigned)u;
        return;
    }
    unsigned f = carve_log2_floor(u);
    *fl = f - TLSF_SL_LOG2 + 1;
    *sl = (unsigned)(u >> (f - TLSF_SL_LOG2)) - TLSF_SL;
}

/* The list SEGREGATED or TLSF keeps a free block of this size in. */
CARVE_INLINE unsigned heap_index_slot(const carve_heap *h, size_t size)
{
    if (h->fit == CARVE_FIT_SEGREGATED) return seg_class(h, size);
    unsigned fl, sl;
    tlsf_map(h, size, &fl, &sl);
    return fl < h->rows ? fl * TLSF_SL + sl : h->nlists - 1;
}

CARVE_INLINE void class_insert(carve_heap *h, fblock *b, unsigned slot)
{
    b->prev = NULL;
    b->next = h->lists[slot];
    if (b->next != NULL) b->next->prev = b;
    h->lists[slot] = b;
    if (h->fit == CARVE_FIT_TLSF) {
        h->sl_map[slot / TLSF_SL] |= (uint16_t)(1u << (slot % TLSF_SL));
        h->top_map |= (uint64_t)1 << (slot / TLSF_SL);
    } else {
        h->top_map |= (uint64_t)1 << slot;
    }
}

CARVE_INLINE void class_remove(carve_heap *h, fblock *b, unsigned slot)
{
    if (b->prev != NULL) b->prev->next = b->next;
    else h->lists[slot] = b->next;
    if (b->next != NULL) b->next->prev = b->prev;
    if (h->lists[slot] != NULL) return;
    if (h->fit == CARVE_FIT_TLSF) {
        unsigned fl = slot / TLSF_SL;
        h->sl_map[fl] &= (uint16_t)~(1u << (slot % TLSF_SL));
        if (h->sl_map[fl] == 0) h->top_map &= ~((uint64_t)1 << fl);
    } else {
        h->top_map &= ~((uint64_t)1 << slot);
    }
}

/* A request first looks at the head of its own class (a block there may fit); otherwise it
 * rounds up to the next class boundary, where every block fits. */
CARVE_INLINE fblock *tlsf_find(carve_heap *h, size_t size)
{
    unsigned fl, sl;
    tlsf_map(h, size, &fl, &sl);
    if (CARVE_UNLIKELY(fl * TLSF_SL + sl >= h->nlists - 1)) return heap_tlsf_spill_find(h, size);
    fblock *b = h->lists[fl * TLSF_SL + sl];
    if (b != NULL && w_size(b->head) >= size) return b;
    if (fl != 0) { /* round up to the next class: everything in it and above fits */
        size_t u = (size >> h->align_log2) + ((size_t)1 << (fl - 1)) - 1;
        tlsf_map(h, u << h->align_log2, &fl, &sl);
    } else {
        sl++;
    }
    if (sl >= TLSF_SL) { fl++; sl = 0; }
    if (CARVE_UNLIKELY(fl * TLSF_SL + sl >= h->nlists - 1)) return heap_tlsf_spill_find(h, size);
    uint32_t sl_bits = h->sl_map[fl] & (uint32_t)(~0u << sl);
    if (sl_bits == 0) {
        uint64_t fl_bits = h->top_map & (~(uint64_t)0 << (fl + 1));
        if (fl_bits == 0) return NULL;
        fl = carve_ctz64(fl_bits);
        sl_bits = h->sl_map[fl];
    }
    return h->lists[fl * TLSF_SL + carve_ctz64(sl_bits)];
}

/* b's header is already written as free. */
CARVE_INLINE void heap_index_insert(carve_heap *h, fblock *b)
{
    if (is_list_policy(h)) heap_list_insert(h, b);
    else class_insert(h, b, heap_index_slot(h, w_size(b->head)));
}

CARVE_INLINE void heap_index_remove(carve_heap *h, fblock *b)
{
    if (is_list_policy(h)) heap_list_remove(h, b);
    else class_remove(h, b, heap_index_slot(h, w_size(b->head)));
}

/* Does a free block that changes size (same address) keep its place in the index? */
CARVE_INLINE bool heap_index_keeps_place(const carve_heap *h)
{
    return is_list_policy(h) && h->order != CARVE_ORDER_SIZE_ASC && h->order != CARVE_ORDER_SIZE_DESC;
}

/* b (in the index) shrank to rest, a free block at a higher address inside it: rest takes b's
 * place where the order allows, or is re-filed. */
CARVE_INLINE void heap_index_replace(carve_heap *h, fblock *b, fblock *rest)
{
    if (heap_index_keeps_place(h)) {
        heap_list_replace(h, b, rest);
        return;
    }
    bool rove = h->rover == b;
    heap_index_remove(h, b);
    heap_index_insert(h, rest);
    if (rove) h->rover = rest;
}

/* A free block of at least size, or NULL. */
CARVE_INLINE fblock *heap_index_find(carve_heap *h, size_t size)
{
    if (h->fit == CARVE_FIT_TLSF) return tlsf_find(h, size);
    if (h->fit == CARVE_FIT_SEGREGATED) return heap_seg_find(h, size);
    return heap_list_find(h, size);
}

#endif /* CARVE_HEAP_INTERNAL_H */
