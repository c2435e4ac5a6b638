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
#define MAX_BLOCK      ((size_t)1 << 40)    /* exclusive */
#define MIN_ALIGN      ((size_t)8)
#define MAX_CFG_ALIGN  ((size_t)1024)       /* cfg->align; aligned_alloc goes higher */

/* TLSF: 16 second-level lists per first-level range; rows up to blocks of 2^40 bytes. */
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
    region *regions, *last; /* last: the region most recently added or extended */

    /* FIRST/NEXT/BEST/WORST: one doubly linked list; NEXT's roving pointer. */
    fblock *head, *tail, *rover;
    /* SEGREGATED and TLSF: bitmaps of non-empty lists; the list heads follow the struct. */
    uint64_t top_map;
    uint16_t sl_map[TLSF_FL_MAX];
    unsigned nlists;
    fblock **lists;

    size_t control;         /* bytes of the first memory before its region: this struct, lists */
    /* counters kept on every operation; carve_heap_check compares them with a walk */
    size_t capacity, used_bytes, free_bytes, free_blocks, requested, peak_requested;
    uint64_t allocs, frees, failed;
};

/* ---- header words ------------------------------------------------------------------------ */

CARVE_INLINE uint64_t hdr_check(const carve_heap *h, uintptr_t b, uint64_t w)
{
    uint64_t x = ((w & ~(F_PREV_FREE | ((uint64_t)0xFFF << CHECK_SHIFT))) ^ h->key) + (uint64_t)b * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    return (x >> CHECK_SHIFT) << CHECK_SHIFT;
}
CARVE_INLINE uint64_t *word_at(uintptr_t a) { return (uint64_t *)a; }
CARVE_INLINE size_t w_size(uint64_t w) { return (size_t)(w & SIZE_MASK); }
CARVE_INLINE size_t w_slack(uint64_t w) { return (size_t)((w >> SLACK_SHIFT) & SLACK_MAX); }
CARVE_INLINE bool w_used(uint64_t w) { return (w & F_USED) != 0; }
CARVE_INLINE bool w_valid(const carve_heap *h, uintptr_t b, uint64_t w)
{
    return (w & ((uint64_t)0xFFF << CHECK_SHIFT)) == hdr_check(h, b, w);
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

/* ---- the free-block index (heap_index.c) -------------------------------------------------- */

size_t heap_index_lists(carve_fit fit);            /* list heads the policy needs after the struct */
void heap_index_insert(carve_heap *h, fblock *b);  /* b's header is already written as free */
void heap_index_remove(carve_heap *h, fblock *b);
/* b (in the index) shrank to rest, a free block at a higher address inside it: rest takes b's
 * place where the order allows, or is re-filed. */
void heap_index_replace(carve_heap *h, fblock *b, fblock *rest);
fblock *heap_index_find(carve_heap *h, size_t size); /* a free block of at least size, or NULL */
/* The list an index keeps b in, for the checker: its head slot (NULL: the single list). */
unsigned heap_index_slot(const carve_heap *h, size_t size);

#endif /* CARVE_HEAP_INTERNAL_H */
