/*
 * src/segment.c: the segment allocator of seed 004, exactly as the seed states it.
 *
 * Algorithm. The cells [begin, end) are cut into blocks of block_size cells; the last block may
 * be shorter (never shorter than max_size, a config rule). A block is free, or serves one run
 * size Size: it then holds floor(length / Size) segments of Size cells from its start, in groups
 * of 64, one 64-bit mask per group (1 = used) and group_mask (bit g: group g has a free segment).
 *   alloc(Size): the first block of the Size's partial list; else the first free block, which
 *     moves to that (then empty) partial list; else fail. In the block: g = ctz(group_mask),
 *     bit = ctz(~mask[g]). cell = block_index * block_size + segment_index * Size + begin.
 *   free(cell, Size): block_index = (cell - begin) / block_size, segment_index =
 *     (cell - block_size * block_index - begin) / Size; the checks of the seed; clear the bit.
 * Status transitions are only free <-> partial <-> full. A block that fills leaves its partial
 * list; one that stops being full goes to the HEAD of its partial list; one that empties goes to
 * the head of the free list. A block of a single segment (block_size < 2 x Size, or a short last
 * block) passes through partial inside one call both ways: alloc takes it free -> partial (onto
 * its list) -> full (off it), free takes it full -> partial (onto the head) -> free (off it).
 *
 * Invariants (carve_segment_check verifies each):
 *   free block:    size 0, used 0, every mask 0, group_mask 0, in the free list only.
 *   sized block:   segments = length / size; masks of groups >= ceil(segments / 64) are 0; the
 *                  bits of the last group past the last segment are 1 (so they never look free);
 *                  group_mask bit g == (g is a real group and mask[g] != ~0); used = popcount of
 *                  the real bits, 1..segments; partial (used < segments) blocks are in the list
 *                  of their size, full ones in no list.
 * Bound: O(1) per alloc and free (no loop at all); unusable tail <= Size - 1 cells per block
 * (<= 49 for a 4096-cell block); 536 bytes of metadata per block. The layout (handle, packed
 * block heads, line-aligned masks with rotated words) and its traps are in segment_layout.h.
 *
 * Speed. alloc and free test the thread-safe flag once and branch to a locked copy of the same
 * core; the slow and error paths are out of line. On the fast paths nothing branches on the data:
 * whether a group or a block fills (alloc), whether the block was full (free) are random at 90%
 * full, so the list moves they imply are done with conditional moves, and the stores meant for a
 * neighbour that does not exist land in nil_head.
 */
#include "internal.h"
#include "segment_layout.h"

#include <stdalign.h>
#include <string.h>

#define NIL SEG_NIL
#define GROUPS SEG_GROUPS
enum { FREE = SEG_FREE, PARTIAL = SEG_PARTIAL, FULL = SEG_FULL };

/* ---- configuration ------------------------------------------------------------------------ */

static bool config_ok(const carve_segment_config *cfg)
{
    if (cfg == NULL || cfg->index_begin >= cfg->index_end) return false;
    if (cfg->max_size < 1 || cfg->max_size > 64) return false;
    if (cfg->block_size == 0 || cfg->block_size % 64 != 0 || cfg->block_size > 4096) return false;
    if ((cfg->flags & ~CARVE_SEGMENT_THREADSAFE) != 0) return false;
    uint32_t tail = (cfg->index_end - cfg->index_begin) % cfg->block_size;
    return !(tail >= 1 && tail <= cfg->max_size - 1);
}

static uint32_t block_count_of(const carve_segment_config *cfg)
{
    uint32_t total = cfg->index_end - cfg->index_begin;
    return total / cfg->block_size + (total % cfg->block_size != 0);
}

/* The handle, the heads, up to 56 bytes to align the masks to a cache line, the masks. */
CARVE_API size_t carve_segment_footprint(const carve_segment_config *cfg)
{
    size_t blocks, bytes;
    if (!config_ok(cfg)) return 0;
    if (carve_mul_overflow(block_count_of(cfg), SEG_BLOCK_META, &blocks)) return 0;
    if (carve_add_overflow(sizeof(carve_segment) + 56, blocks, &bytes)) return 0;
    return bytes;
}

CARVE_API size_t carve_segment_block_meta(void) { return SEG_BLOCK_META; }

/* c ? a : b (c is 0 or 1) as a conditional move. The fast paths' list moves depend on random
 * data (does this alloc fill its block? did this free hit a full one?), and the compiler turns
 * plain selects that feed a store back into branches, which mispredict about half the time. */
CARVE_INLINE uint32_t select_u32(uint32_t c, uint32_t a, uint32_t b)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__("test %1, %1\n\tcmovnz %2, %0" : "+r"(b) : "r"(c), "rm"(a) : "cc");
    return b;
#else
    uint32_t m = 0u - c;
    return (a & m) | (b & ~m);
#endif
}

/* ---- lists of block indices --------------------------------------------------------------- */

static void list_push(carve_segment *s, uint32_t *head, uint32_t i)
{
    seg_head *b = &s->heads[i];
    b->prev = NIL;
    b->next = *head;
    if (*head != NIL) s->heads[*head].prev = i;
    *head = i;
}

static void list_remove(carve_segment *s, uint32_t *head, uint32_t i)
{
    seg_head *b = &s->heads[i];
    if (b->prev != NIL) s->heads[b->prev].next = b->next;
    else *head = b->next;
    if (b->next != NIL) s->heads[b->next].prev = b->prev;
}

/* ---- locking (CARVE_SEGMENT_THREADSAFE) ---------------------------------------------------- */

CARVE_INLINE void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

CARVE_INLINE void spin_lock(carve_segment *s)
{
    while (atomic_exchange_explicit(&s->lock, 1u, memory_order_acquire) != 0)
        while (atomic_load_explicit(&s->lock, memory_order_relaxed) != 0) cpu_relax();
}

CARVE_INLINE void spin_unlock(carve_segment *s) { atomic_store_explicit(&s->lock, 0u, memory_order_release); }

/* For the O(n) entry points; alloc and free test the flag once and take a locked copy instead. */
CARVE_INLINE void lock(const carve_segment *cs)
{
    carve_segment *s = (carve_segment *)cs;   /* the lock word is writable caller memory */
    if (s->flags & CARVE_SEGMENT_THREADSAFE) spin_lock(s);
}

CARVE_INLINE void unlock(const carve_segment *cs)
{
    carve_segment *s = (carve_segment *)cs;
    if (s->flags & CARVE_SEGMENT_THREADSAFE) spin_unlock(s);
}

/* ---- blocks --------------------------------------------------------------------------------- */

static uint32_t block_length(const carve_segment *s, uint32_t i)
{
    return i + 1 == s->block_count ? s->last_length : s->block_size;
}

static void block_reset(carve_segment *s, uint32_t i)
{
    seg_head *b = &s->heads[i];
    memset(seg_masks(s, i), 0, GROUPS * sizeof(uint64_t));
    b->group_mask = 0;
    b->size = b->segments = b->used = 0;
    b->status = FREE;
}

/* The free block i starts serving `size`: set the padding bits of its last group and mark its
 * real groups as having a free segment. Two stores: the other masks are already 0. */
static void block_take(carve_segment *s, uint32_t i, uint32_t size)
{
    seg_head *b = &s->heads[i];
    uint32_t segments = block_length(s, i) / size;
    uint32_t groups = (segments + 63) / 64;
    uint32_t in_last = segments % 64;
    CARVE_ASSERT(b->status == FREE && segments >= 1 && "a free block, at least one segment");
    *seg_mask(s, i, groups - 1) = in_last != 0 ? ~0ull << in_last : 0;
    b->group_mask = groups == 64 ? ~0ull : (1ull << groups) - 1;
    b->size = (uint16_t)size;
    b->segments = (uint16_t)segments;
    b->used = 0;
    b->status = PARTIAL;
}

/* The block i has no live segment left: back to free (its last group held the padding bits). */
static void block_release(carve_segment *s, uint32_t i)
{
    seg_head *b = &s->heads[i];
    *seg_mask(s, i, (b->segments - 1u) / 64) = 0;
    b->group_mask = 0;
    b->size = b->segments = 0;
    b->status = FREE;
    list_push(s, &s->free_head, i);
}

static void init_blocks(carve_segment *s)
{
    s->free_head = NIL;
    for (uint32_t size = 0; size <= 64; size++) s->by_size[size].partial_head = NIL;
    for (uint32_t i = s->block_count; i-- > 0;) {   /* pushed backwards: block 0 first */
        block_reset(s, i);
        list_push(s, &s->free_head, i);
    }
    s->live_cells = 0;
}

CARVE_API carve_segment *carve_segment_init(void *meta, size_t bytes, const carve_segment_config *cfg)
{
    size_t need = carve_segment_footprint(cfg);
    if (need == 0 || meta == NULL || bytes < need || (uintptr_t)meta % alignof(carve_segment) != 0)
        return NULL;
    carve_segment *s = meta;
    memset(s, 0, sizeof *s);
    s->begin = cfg->index_begin;
    s->end = cfg->index_end;
    s->total = s->end - s->begin;
    s->block_size = cfg->block_size;
    s->max_size = cfg->max_size;
    s->flags = cfg->flags;
    s->block_count = block_count_of(cfg);
    uint32_t tail = (s->end - s->begin) % s->block_size;
    s->last_length = tail != 0 ? tail : s->block_size;
    s->block_recip = ((1ull << 32) + s->block_size / 64 - 1) / (s->block_size / 64);
    uintptr_t heads_end = (uintptr_t)(s->heads + s->block_count);
    s->masks_at = (uint32_t)(carve_align_up_ptr(heads_end, 64) - (uintptr_t)s);
    for (uint32_t d = 1; d <= 64; d++) s->by_size[d].recip = ((1u << SEG_RECIP_SHIFT) + d - 1) / d;
    atomic_init(&s->lock, 0u);
    init_blocks(s);
    return s;
}

/* ---- alloc and free ------------------------------------------------------------------------ */

/* The slow and error paths are out of line, so the fast paths keep few registers and no spills. */
static CARVE_NOINLINE __attribute__((cold)) uint32_t alloc_failed(carve_segment *s)
{
    s->failed++;
    return CARVE_SEGMENT_NONE;
}

/* Take a free segment of block i, the head of Size's partial list. A block that fills leaves
 * the list: it is its head, so that is a pop. Then the stats and the seed's cell formula. */
CARVE_INLINE uint32_t alloc_in(carve_segment *s, uint32_t i, uint32_t size)
{
    seg_head *b = &s->heads[i];
    uint64_t groups = b->group_mask;
    unsigned g = carve_ctz64(groups);
    uint64_t *mask = seg_mask(s, i, g), m = *mask;
    unsigned bit = carve_ctz64(~m);
    m |= 1ull << bit;
    *mask = m;
    b->used++;
    /* No branch on the data from here on: whether this alloc fills its group, or its block
     * (about a third of allocs at 90% full), is random, and such branches mispredicted often.
     * The group filled: clear its bit. The block filled (groups == 0): partial -> full, it
     * leaves its list, of which it is the head (a pop): the head becomes next (else stays i),
     * and next's prev (else nil_head's) becomes NIL. */
    groups &= ~((uint64_t)(m == ~0ull) << g);
    b->group_mask = groups;
    CARVE_ASSERT(s->by_size[size].partial_head == i && "alloc takes the list's head");
    uint32_t filled = groups == 0, next = b->next;
    uint32_t head = select_u32(filled, next, i), unlinked = select_u32(filled, next, NIL);
    s->by_size[size].partial_head = head;
    seg_link(s, unlinked)->prev = NIL;
    b->status = (uint8_t)(PARTIAL + filled);
    uint64_t live = s->live_cells + size;
    s->live_cells = live;
    s->peak_cells = live > s->peak_cells ? live : s->peak_cells;
    s->allocs++;
    return i * s->block_size + (g * 64 + bit) * size + s->begin;
}

/* Size's partial list is empty: the first free block starts serving Size, or the alloc fails. */
static CARVE_NOINLINE uint32_t alloc_in_free_block(carve_segment *s, uint32_t size)
{
    uint32_t i = s->free_head;
    if (i == NIL) return alloc_failed(s);
    list_remove(s, &s->free_head, i);
    block_take(s, i, size);
    list_push(s, &s->by_size[size].partial_head, i);
    return alloc_in(s, i, size);
}

/* Every call below is a tail call, so the fast path saves no register. */
CARVE_INLINE uint32_t alloc_core(carve_segment *s, uint32_t size)
{
    if (CARVE_UNLIKELY(size - 1u >= s->max_size)) return alloc_failed(s);   /* 0 wraps high */
    uint32_t i = s->by_size[size].partial_head;
    if (CARVE_UNLIKELY(i == NIL)) return alloc_in_free_block(s, size);
    return alloc_in(s, i, size);
}

static CARVE_NOINLINE uint32_t alloc_locked(carve_segment *s, uint32_t size)
{
    spin_lock(s);
    uint32_t cell = alloc_core(s, size);
    spin_unlock(s);
    return cell;
}

CARVE_API uint32_t carve_segment_alloc(carve_segment *s, uint32_t size)
{
    if (CARVE_UNLIKELY(s == NULL)) return CARVE_SEGMENT_NONE;
    if (CARVE_UNLIKELY(s->flags & CARVE_SEGMENT_THREADSAFE)) return alloc_locked(s, size);
    return alloc_core(s, size);
}

/* Where the run [cell, cell + size) lives: its block and segment, or an error (the checks of seed
 * 004's free but the used bit). A free block has size 0, so the size test also refuses it. The
 * three EFOREIGN checks after the range test share one branch. */
CARVE_INLINE carve_status locate(const carve_segment *s, uint32_t cell, uint32_t size, uint32_t *block,
                                 uint32_t *segment)
{
    if (CARVE_UNLIKELY(size - 1u >= s->max_size)) return CARVE_EINVAL;      /* 0 wraps high */
    uint32_t offset = cell - s->begin, total = s->total;   /* cell < begin wraps high, leaves the range */
    if (CARVE_UNLIKELY((uint64_t)offset + size > total)) return CARVE_EFOREIGN;
    uint32_t i = seg_block_of(s, offset);                                 /* block_index */
    uint32_t inside = offset - s->block_size * i;
    uint32_t seg = seg_index_of(s, inside, size);                        /* segment_index */
    const seg_head *b = &s->heads[i];
    /* cell == block_index * BlockSize + segment_index * Size + IndexBegin, common terms cancelled */
    bool foreign = (b->size != size)            /* free, or another size */
                   | (seg * size != inside)     /* inside a segment      */
                   | (seg >= b->segments);      /* the unusable tail     */
    if (CARVE_UNLIKELY(foreign)) return CARVE_EFOREIGN;
    *block = i;
    *segment = seg;
    return CARVE_OK;
}

/* The stats of a successful free. */
CARVE_INLINE carve_status freed(carve_segment *s, uint32_t size)
{
    s->live_cells -= size;
    s->frees++;
    return CARVE_OK;
}

/* Block i (of Size) has no live segment left. If it was full, it holds a single segment, and
 * both of the seed's rules apply: "was full -> partial, at the head of its list" first (3 -> 2),
 * then "became empty -> free" (2 -> 1), so it never goes 3 -> 1, which the seed does not allow. */
static CARVE_NOINLINE carve_status free_empties_block(carve_segment *s, uint32_t i, uint32_t size, bool was_full)
{
    uint32_t *partial = &s->by_size[size].partial_head;
    if (was_full) {                                     /* full -> partial */
        s->heads[i].status = PARTIAL;
        list_push(s, partial, i);
    }
    list_remove(s, partial, i);                         /* partial -> free */
    block_release(s, i);
    return freed(s, size);
}

CARVE_INLINE carve_status free_core(carve_segment *s, uint32_t cell, uint32_t size)
{
    uint32_t i, seg;
    carve_status st = locate(s, cell, size, &i, &seg);
    if (CARVE_UNLIKELY(st != CARVE_OK)) return st;
    seg_head *b = &s->heads[i];
    unsigned g = seg / 64;
    uint64_t bit = 1ull << (seg % 64);
    uint64_t *mask = seg_mask(s, i, g), m = *mask;
    if (CARVE_UNLIKELY(!(m & bit))) return CARVE_EDOUBLEFREE;
    *mask = m & ~bit;
    uint64_t groups = b->group_mask;        /* 0: the block was full */
    b->group_mask = groups | 1ull << g;
    if (CARVE_UNLIKELY(--b->used == 0)) return free_empties_block(s, i, size, groups == 0);
    /* full -> partial when groups == 0: onto the head of its list. Branch-free (at 90% full
     * about 40% of frees hit a full block): the links change only if it was full; otherwise the
     * store meant for the old head's prev lands in nil_head. */
    uint32_t was_full = groups == 0, *head = &s->by_size[size].partial_head, old = *head;
    uint32_t prev = select_u32(was_full, NIL, b->prev), next = select_u32(was_full, old, b->next);
    uint32_t linked = select_u32(was_full, old, NIL), new_head = select_u32(was_full, i, old);
    b->status = PARTIAL;
    b->prev = prev;
    b->next = next;
    seg_link(s, linked)->prev = i;
    *head = new_head;
    return freed(s, size);
}

static CARVE_NOINLINE carve_status free_locked(carve_segment *s, uint32_t cell, uint32_t size)
{
    spin_lock(s);
    carve_status st = free_core(s, cell, size);
    spin_unlock(s);
    return st;
}

CARVE_API carve_status carve_segment_free(carve_segment *s, uint32_t cell, uint32_t size)
{
    if (CARVE_UNLIKELY(s == NULL)) return CARVE_EINVAL;
    if (CARVE_UNLIKELY(s->flags & CARVE_SEGMENT_THREADSAFE)) return free_locked(s, cell, size);
    return free_core(s, cell, size);
}

/* ---- check --------------------------------------------------------------------------------- */

/* The violated invariants of block i on its own (masks, counts, status). */
static size_t check_block(const carve_segment *s, uint32_t i, uint64_t *live_cells)
{
    const seg_head *b = &s->heads[i];
    size_t bad = 0;
    if (b->status == FREE) {
        bad += b->size != 0 || b->segments != 0 || b->used != 0 || b->group_mask != 0;
        for (unsigned g = 0; g < GROUPS; g++) bad += *seg_mask(s, i, g) != 0;
        return bad;
    }
    if (b->status != PARTIAL && b->status != FULL) return 1;
    if (b->size < 1 || b->size > s->max_size || b->segments != block_length(s, i) / b->size)
        return 1;
    unsigned groups = (b->segments + 63u) / 64u, in_last = b->segments % 64u;
    uint64_t want_group = 0;
    unsigned used = 0;
    for (unsigned g = 0; g < GROUPS; g++) {
        uint64_t m = *seg_mask(s, i, g);
        if (g >= groups) {
            bad += m != 0;
            continue;
        }
        uint64_t pad = g + 1 == groups && in_last != 0 ? ~0ull << in_last : 0;
        bad += (m & pad) != pad;
        used += carve_popcount64(m & ~pad);
        if (m != ~0ull) want_group |= 1ull << g;
    }
    bad += b->group_mask != want_group;
    bad += b->used != used || used == 0;
    bad += (b->status == FULL) != (used == b->segments);
    *live_cells += (uint64_t)used * b->size;
    return bad;
}

/* Walk one list: every member has `status` (and `size` if sized), the back links agree, no cycle.
 * *members counts them. */
static size_t check_list(const carve_segment *s, uint32_t head, uint8_t status, uint32_t size,
                         uint32_t *members)
{
    size_t bad = 0;
    uint32_t prev = NIL, n = 0;
    for (uint32_t i = head; i != NIL; prev = i, i = s->heads[i].next) {
        if (i >= s->block_count || ++n > s->block_count) return bad + 1;   /* wild link or cycle */
        const seg_head *b = &s->heads[i];
        bad += b->prev != prev || b->status != status || (status != FREE && b->size != size);
    }
    *members += n;
    return bad;
}

CARVE_API size_t carve_segment_check(const carve_segment *s)
{
    if (s == NULL) return 1;
    lock(s);
    size_t bad = 0;
    uint64_t live = 0;
    uint32_t free_blocks = 0, partial_blocks = 0, in_free = 0, in_partial = 0;
    for (uint32_t i = 0; i < s->block_count; i++) {
        bad += check_block(s, i, &live);
        free_blocks += s->heads[i].status == FREE;
        partial_blocks += s->heads[i].status == PARTIAL;
    }
    bad += check_list(s, s->free_head, FREE, 0, &in_free);
    bad += s->by_size[0].partial_head != NIL;
    for (uint32_t size = 1; size <= 64; size++) {
        if (size > s->max_size) bad += s->by_size[size].partial_head != NIL;
        else bad += check_list(s, s->by_size[size].partial_head, PARTIAL, size, &in_partial);
    }
    /* Every member had the right status, so equal counts mean each block of the status is
     * listed once and full blocks nowhere. */
    bad += in_free != free_blocks;
    bad += in_partial != partial_blocks;
    bad += live != s->live_cells || s->peak_cells < s->live_cells;
    unlock(s);
    return bad;
}

/* ---- walk and stats -------------------------------------------------------------------------- */

static void emit(carve_walk_fn fn, void *ctx, uint32_t start, uint32_t cells, bool used, uint32_t payload)
{
    carve_block_info info = {.start = start, .size = cells, .payload = payload, .used = used};
    fn(ctx, &info);
}

CARVE_API void carve_segment_walk(const carve_segment *s, carve_walk_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL) return;
    lock(s);
    for (uint32_t i = 0; i < s->block_count; i++) {
        const seg_head *b = &s->heads[i];
        uint32_t start = s->begin + i * s->block_size, length = block_length(s, i);
        if (b->status == FREE) {
            emit(fn, ctx, start, length, false, 0);
            continue;
        }
        for (uint32_t k = 0; k < b->segments; k++) {
            bool used = (*seg_mask(s, i, k / 64) >> (k % 64)) & 1;
            emit(fn, ctx, start + k * b->size, b->size, used, used ? b->size : 0);
        }
        uint32_t tail = length - b->segments * b->size;
        if (tail != 0) emit(fn, ctx, start + b->segments * b->size, tail, true, 0);
    }
    unlock(s);
}

CARVE_API void carve_segment_stats(const carve_segment *s, carve_stats *out)
{
    if (s == NULL || !carve_stats_begin(out)) return;
    lock(s);
    size_t free_runs = 0;
    for (uint32_t i = 0; i < s->block_count; i++) {
        const seg_head *b = &s->heads[i];
        free_runs += b->status == FREE ? 1u : (size_t)(b->segments - b->used);
    }
    uint32_t largest = 0;
    if (s->free_head != NIL) largest = s->max_size;
    else
        for (uint32_t size = s->max_size; size >= 1 && largest == 0; size--)
            if (s->by_size[size].partial_head != NIL) largest = size;
    out->capacity = (size_t)(s->end - s->begin);
    out->used = out->requested = (size_t)s->live_cells;
    out->free = out->capacity - out->used;
    out->free_blocks = free_runs;
    out->largest_free = largest;
    out->peak_requested = (size_t)s->peak_cells;
    out->allocs = s->allocs;
    out->frees = s->frees;
    out->failed = s->failed;
    unlock(s);
}

/* ---- rebuild -------------------------------------------------------------------------------- */

/* Mark one run of the list as live; its block takes the run's size if it was free. */
static carve_status rebuild_one(carve_segment *s, carve_segment_run run)
{
    if (run.size == 0 || run.size > s->max_size) return CARVE_EINVAL;
    if (run.cell < s->begin || run.cell >= s->end || s->end - run.cell < run.size) return CARVE_EFOREIGN;
    uint32_t i = seg_block_of(s, run.cell - s->begin);
    seg_head *b = &s->heads[i];
    if (b->status == FREE) block_take(s, i, run.size);
    else if (b->size != run.size) return CARVE_EINVAL;                 /* sizes mixed in a block */
    uint32_t block, seg;
    carve_status st = locate(s, run.cell, run.size, &block, &seg);
    if (st != CARVE_OK) return st;                                       /* misaligned, tail */
    uint64_t bit = 1ull << (seg % 64);
    uint64_t *mask = seg_mask(s, i, seg / 64);
    if (*mask & bit) return CARVE_EINVAL;                                 /* a repeated segment */
    *mask |= bit;
    if (*mask == ~0ull) b->group_mask &= ~(1ull << (seg / 64));
    b->used++;
    s->live_cells += run.size;
    return CARVE_OK;
}

/* Undo the marks of runs[0, n): every block they reached is free again (masks 0, no size). Its
 * links were never written, so the free list is as before. O(n + 64 x blocks reached). */
static void rebuild_undo(carve_segment *s, const carve_segment_run *runs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        carve_segment_run run = runs[k];
        if (run.size == 0 || run.size > s->max_size || run.cell < s->begin || run.cell >= s->end) continue;
        uint32_t i = seg_block_of(s, run.cell - s->begin);
        if (s->heads[i].status != FREE) block_reset(s, i);
    }
    s->live_cells = 0;
}

CARVE_API carve_status carve_segment_rebuild(carve_segment *s, const carve_segment_run *runs, size_t n,
                                             size_t *bad)
{
    if (s == NULL || (runs == NULL && n != 0)) return CARVE_EINVAL;
    lock(s);
    carve_status st = CARVE_OK;
    if (s->live_cells != 0) {
        st = CARVE_EINVAL;
        goto out;
    }
    /* Mark every run, then rebuild the lists in block order from the marks. Blocks taken while
     * marking are sized but in no list yet, and marking writes no link; on an error, the blocks
     * the runs up to the offending one touched are made free again (an empty s has only free
     * blocks), so s is as before, free-list order included. */
    for (size_t k = 0; k < n; k++) {
        st = rebuild_one(s, runs[k]);
        if (st != CARVE_OK) {
            if (bad != NULL) *bad = k;
            rebuild_undo(s, runs, k + 1);
            goto out;
        }
    }
    s->free_head = NIL;
    for (uint32_t size = 0; size <= 64; size++) s->by_size[size].partial_head = NIL;
    for (uint32_t i = s->block_count; i-- > 0;) {
        seg_head *b = &s->heads[i];
        CARVE_ASSERT((b->status == FREE || b->used != 0) && "a block is taken only by a marked run");
        if (b->status == FREE) list_push(s, &s->free_head, i);
        else if (b->used == b->segments) b->status = FULL;
        else list_push(s, &s->by_size[b->size].partial_head, i);
    }
    if (s->live_cells > s->peak_cells) s->peak_cells = s->live_cells;
out:
    unlock(s);
    return st;
}
