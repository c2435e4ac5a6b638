/*
 * src/buddy.c: the binary buddy allocator (seed 001's merging algorithm).
 *
 * Algorithm: the managed range is nmin min blocks. A block of order k is 2^k min blocks and
 * starts at a min-block index that is a multiple of 2^k. Alloc rounds the request up to an
 * order, takes the smallest non-empty free list of that order or above (a 64-bit mask of the
 * non-empty lists makes this one bit scan), and halves the block down to the order, putting
 * each upper half on its list. Free looks the block up from its control byte and merges it
 * with its buddy (index XOR 2^k) while the buddy is a whole free block of the same order.
 * At init the range is cut greedily into the largest aligned blocks, so a range that is not a
 * power of two is still fully used, as blocks of smaller orders.
 *
 * Layout:
 *
 *   mem -> [pad][struct carve_buddy][ctrl: 1 byte per min block][pad to min(min_block, 4096)]
 *          base -> [min block 0][min block 1]...[min block nmin-1]
 *
 *   ctrl[i]    0 when no block starts at min block i; else HEAD | USED? | order (6 bits).
 *   free block [uint32 next][uint32 prev][...]: doubly linked list of its order, as min-block
 *              indices (NONE = UINT32_MAX).
 *   used block nothing: the whole block is the user's.
 *
 * Traps: the control bytes, not the links, say what is free (double free and foreign pointers
 * are decided by ctrl alone). The links sit in free memory, so a write after free can damage
 * them: every link is validated against ctrl before it is followed (alloc then fails, free
 * returns CARVE_ECORRUPT, check counts it). A merge clears the upper half's ctrl byte, so an
 * interior pointer is never mistaken for a block start.
 *
 * Invariants: blocks tile [0, nmin) exactly; block i of order k has i % 2^k == 0; no free block
 * has a free buddy of its own order; list k holds exactly the free blocks of order k; bit k of
 * nonempty is set iff list k is not empty. Bound: alloc and free are O(log nmin).
 */
#include "carve/buddy.h"

#include "internal.h"

#include <string.h>

#define BUDDY_MAGIC 0x6275646479435256ull
#define NONE UINT32_MAX
#define HEAD 0x80u
#define USED 0x40u
#define ORDER_MASK 0x3Fu
#define MAX_ORDERS 32 /* nmin < 2^32 */

typedef struct link { uint32_t next, prev; } link;

struct carve_buddy {
    uintptr_t base;
    uint8_t *ctrl;
    uint32_t nmin;
    unsigned shift;          /* log2(min_block) */
    uint64_t nonempty;       /* bit k: list k is not empty */
    uint32_t head[MAX_ORDERS];
    size_t used_bytes, free_bytes, free_blocks, peak_used;
    size_t hw_end;           /* min blocks up to the end of the highest block handed out */
    uint64_t allocs, frees, failed;
    uintptr_t mem;
    size_t bytes;
    uint64_t magic;
};

CARVE_INLINE link *blk(const carve_buddy *b, uint32_t i) { return (link *)(b->base + ((uintptr_t)i << b->shift)); }
CARVE_INLINE size_t order_bytes(const carve_buddy *b, unsigned k) { return (size_t)1 << (k + b->shift); }
CARVE_INLINE bool is_free_head(const carve_buddy *b, uint32_t i, unsigned k)
{
    return i < b->nmin && b->ctrl[i] == (HEAD | k);
}

static void push(carve_buddy *b, unsigned k, uint32_t i)
{
    link *l = blk(b, i);
    l->next = b->head[k];
    l->prev = NONE;
    if (l->next != NONE) blk(b, l->next)->prev = i;
    b->head[k] = i;
    b->nonempty |= 1ull << k;
    b->ctrl[i] = (uint8_t)(HEAD | k);
    b->free_bytes += order_bytes(b, k);
    b->free_blocks++;
}

/* May free block i of order k be unlinked? Its neighbours must be free blocks of order k that
 * point back at it. */
static bool links_ok(const carve_buddy *b, unsigned k, uint32_t i)
{
    const link *l = blk(b, i);
    if (l->prev == NONE ? b->head[k] != i : !is_free_head(b, l->prev, k) || blk(b, l->prev)->next != i)
        return false;
    return l->next == NONE || (is_free_head(b, l->next, k) && blk(b, l->next)->prev == i);
}

static void unlink_block(carve_buddy *b, unsigned k, uint32_t i)
{
    link *l = blk(b, i);
    if (l->prev == NONE) b->head[k] = l->next;
    else blk(b, l->prev)->next = l->next;
    if (l->next != NONE) blk(b, l->next)->prev = l->prev;
    if (b->head[k] == NONE) b->nonempty &= ~(1ull << k);
    b->free_bytes -= order_bytes(b, k);
    b->free_blocks--;
}

/* min_block as init uses it: at least 16, a power of two; 0 when too large. */
static size_t normal_min_block(size_t min_block)
{
    if (min_block < 16) min_block = 16;
    if (min_block > ((size_t)1 << 40)) return 0;
    return (size_t)1 << carve_log2_ceil(min_block);
}

CARVE_API size_t carve_buddy_region_bytes(size_t managed, size_t min_block)
{
    min_block = normal_min_block(min_block);
    if (min_block == 0 || managed == 0 || managed > ((size_t)NONE - 1) * min_block) return 0;
    size_t n = (managed + min_block - 1) / min_block;
    size_t align = min_block < 4096 ? min_block : 4096;
    return carve_align_up(sizeof(carve_buddy) + n, align) + n * min_block;
}

CARVE_API carve_buddy *carve_buddy_init(void *mem, size_t bytes, size_t min_block)
{
    if (mem == NULL) return NULL;
    min_block = normal_min_block(min_block);
    if (min_block == 0) return NULL;
    unsigned shift = carve_log2_floor(min_block);
    size_t align = min_block < 4096 ? min_block : 4096;

    uintptr_t start = (uintptr_t)mem, end;
    if (__builtin_add_overflow(start, bytes, &end)) return NULL;
    uintptr_t hdr = carve_align_up_ptr(start, _Alignof(carve_buddy));
    uintptr_t ctrl = hdr + sizeof(carve_buddy);
    if (hdr < start || ctrl > end) return NULL;
    size_t n = (end - ctrl) / (min_block + 1);
    if (n > NONE - 1) n = NONE - 1;
    while (n > 0 && (carve_align_up_ptr(ctrl + n, align) > end || (end - carve_align_up_ptr(ctrl + n, align)) >> shift < n))
        n--;
    if (n == 0) return NULL;

    carve_buddy *b = (carve_buddy *)hdr;
    memset(b, 0, sizeof *b);
    b->ctrl = (uint8_t *)ctrl;
    memset(b->ctrl, 0, n);
    b->base = carve_align_up_ptr(ctrl + n, align);
    b->nmin = (uint32_t)n;
    b->shift = shift;
    b->mem = start;
    b->bytes = bytes;
    b->magic = BUDDY_MAGIC;
    for (unsigned k = 0; k < MAX_ORDERS; k++) b->head[k] = NONE;
    /* The largest aligned block that fits at each index, lowest address first. */
    for (uint32_t i = 0; i < n;) {
        unsigned k = carve_log2_floor(n - i);
        if (i != 0 && carve_ctz64(i) < k) k = carve_ctz64(i);
        push(b, k, i);
        i += 1u << k;
    }
    return b;
}

CARVE_API void *carve_buddy_alloc(carve_buddy *b, size_t size)
{
    size_t units = size == 0 ? 1 : ((size - 1) >> b->shift) + 1;
    if (CARVE_UNLIKELY(units > b->nmin)) goto fail;
    unsigned k = carve_log2_ceil(units);
    uint64_t avail = b->nonempty >> k;
    if (CARVE_UNLIKELY(avail == 0)) goto fail;
    unsigned j = k + carve_ctz64(avail);
    uint32_t i = b->head[j];
    if (CARVE_UNLIKELY(!is_free_head(b, i, j) || !links_ok(b, j, i))) goto fail; /* a damaged link */
    unlink_block(b, j, i);
    while (j > k) {
        j--;
        push(b, j, i + (1u << j));
    }
    b->ctrl[i] = (uint8_t)(HEAD | USED | k);
    b->used_bytes += order_bytes(b, k);
    if (b->used_bytes > b->peak_used) b->peak_used = b->used_bytes;
    if (i + ((size_t)1 << k) > b->hw_end) b->hw_end = i + ((size_t)1 << k);
    b->allocs++;
    return blk(b, i);
fail:
    b->failed++;
    return NULL;
}

/* Min-block index of p, or NONE when p is outside the range or not on a min-block boundary. */
static uint32_t boundary_index(const carve_buddy *b, const void *p)
{
    uintptr_t off = (uintptr_t)p - b->base;
    if (off >= ((size_t)b->nmin << b->shift) || (off & (((uintptr_t)1 << b->shift) - 1)) != 0) return NONE;
    return (uint32_t)(off >> b->shift);
}

/* Start of the block that contains min block i (the tiling makes it i rounded down to the
 * block's own order). O(log nmin); only on the error path. */
static uint32_t container(const carve_buddy *b, uint32_t i)
{
    for (unsigned k = 1; k < MAX_ORDERS; k++) {
        uint32_t cand = i & ~((1u << k) - 1);
        if ((b->ctrl[cand] & HEAD) && (b->ctrl[cand] & ORDER_MASK) >= k) return cand;
    }
    return i;
}

CARVE_API carve_status carve_buddy_free(carve_buddy *b, void *p)
{
    if (p == NULL) return CARVE_OK;
    uint32_t i = boundary_index(b, p);
    if (i == NONE) return CARVE_EFOREIGN;
    if (CARVE_UNLIKELY(!(b->ctrl[i] & HEAD))) {
        /* Inside a block: of a live one, a foreign pointer; of a free one (a freed block that
         * has merged with its buddy), a double free. */
        return (b->ctrl[container(b, i)] & USED) ? CARVE_EFOREIGN : CARVE_EDOUBLEFREE;
    }
    uint8_t c = b->ctrl[i];
    if (!(c & USED)) return CARVE_EDOUBLEFREE;
    unsigned k0 = c & ORDER_MASK, k = k0;
    /* First pass: how far the merge goes, validating every buddy's links before changing
     * anything. */
    uint32_t t = i;
    for (;; k++) {
        uint32_t bud = t ^ (1u << k);
        if (k + 1 >= MAX_ORDERS || (size_t)bud + (1u << k) > b->nmin || b->ctrl[bud] != (HEAD | k)) break;
        if (!links_ok(b, k, bud)) return CARVE_ECORRUPT;
        t &= ~(1u << k);
    }
    unsigned top = k;
    b->used_bytes -= order_bytes(b, k0);
    b->frees++;
    t = i;
    for (k = k0; k < top; k++) {
        uint32_t bud = t ^ (1u << k);
        unlink_block(b, k, bud);
        b->ctrl[t | bud] = 0; /* the upper half is no block start any more */
        t &= ~(1u << k);
    }
    push(b, top, t);
    return CARVE_OK;
}

CARVE_API void *carve_buddy_realloc(carve_buddy *b, void *p, size_t size)
{
    if (p == NULL) return carve_buddy_alloc(b, size);
    uint32_t i = boundary_index(b, p);
    if (i == NONE || (b->ctrl[i] & (HEAD | USED)) != (HEAD | USED)) return NULL;
    size_t units = size == 0 ? 1 : ((size - 1) >> b->shift) + 1;
    if (units > b->nmin || carve_log2_ceil(units) >= MAX_ORDERS) {
        b->failed++;
        return NULL;
    }
    unsigned k = b->ctrl[i] & ORDER_MASK, want = carve_log2_ceil(units);
    if (want < k) { /* shrink: give the upper halves back (their buddies are ours, so no merge) */
        for (unsigned j = k; j-- > want;) push(b, j, i + (1u << j));
    } else if (want > k) {
        /* Grow where the block is when its buddies up to order `want` are whole free blocks:
         * the merged block starts at or below it, and the contents slide down. */
        bool fits = true;
        uint32_t t = i;
        for (unsigned j = k; fits && j < want; j++) {
            uint32_t bud = t ^ (1u << j);
            fits = is_free_head(b, bud, j) && links_ok(b, j, bud);
            t &= ~(1u << j);
        }
        if (!fits) {
            void *n = carve_buddy_alloc(b, size);
            if (n == NULL) return NULL;
            memcpy(n, p, order_bytes(b, k));
            carve_buddy_free(b, p);
            return n;
        }
        t = i;
        for (unsigned j = k; j < want; j++) {
            uint32_t bud = t ^ (1u << j);
            unlink_block(b, j, bud);
            b->ctrl[bud] = 0;
            t &= ~(1u << j);
        }
        if (t != i) {
            b->ctrl[i] = 0;
            memmove(blk(b, t), p, order_bytes(b, k));
            i = t;
            p = blk(b, t);
        }
        if (i + ((size_t)1 << want) > b->hw_end) b->hw_end = i + ((size_t)1 << want);
    }
    b->used_bytes = b->used_bytes - order_bytes(b, k) + order_bytes(b, want);
    if (b->used_bytes > b->peak_used) b->peak_used = b->used_bytes;
    b->ctrl[i] = (uint8_t)(HEAD | USED | want);
    return p;
}

CARVE_API size_t carve_buddy_usable_size(const carve_buddy *b, const void *p)
{
    uint32_t i = boundary_index(b, p);
    if (i == NONE || (b->ctrl[i] & (HEAD | USED)) != (HEAD | USED)) return 0;
    return order_bytes(b, b->ctrl[i] & ORDER_MASK);
}

CARVE_API size_t carve_buddy_check(const carve_buddy *b)
{
    if (b == NULL || b->magic != BUDDY_MAGIC) return 1;
    size_t bad = 0, used = 0, freeb = 0, nfree = 0;
    size_t per_order[MAX_ORDERS] = {0};
    for (uint32_t i = 0; i < b->nmin;) {
        uint8_t c = b->ctrl[i];
        unsigned k = c & ORDER_MASK;
        if (!(c & HEAD) || k >= MAX_ORDERS || (size_t)i + (1u << k) > b->nmin) return bad + 1; /* tiling broken */
        if ((i & ((1u << k) - 1)) != 0) bad++; /* misaligned block */
        for (uint32_t j = i + 1; j < i + (1u << k); j++)
            if (b->ctrl[j] != 0) bad++;
        if (c & USED) {
            used += order_bytes(b, k);
        } else {
            freeb += order_bytes(b, k);
            nfree++;
            per_order[k]++;
            uint32_t bud = i ^ (1u << k);
            if ((size_t)bud + (1u << k) <= b->nmin && b->ctrl[bud] == (HEAD | k)) bad++; /* unmerged */
        }
        i += 1u << k;
    }
    if (used != b->used_bytes || freeb != b->free_bytes || nfree != b->free_blocks) bad++;
    for (unsigned k = 0; k < MAX_ORDERS; k++) {
        size_t len = 0;
        uint32_t prev = NONE;
        for (uint32_t i = b->head[k]; i != NONE; i = blk(b, i)->next) {
            if (!is_free_head(b, i, k) || blk(b, i)->prev != prev || len >= per_order[k]) {
                bad++;
                break;
            }
            prev = i;
            len++;
        }
        if (len != per_order[k]) bad++;
        if (((b->nonempty >> k) & 1) != (b->head[k] != NONE)) bad++;
    }
    return bad;
}

CARVE_API void carve_buddy_walk(const carve_buddy *b, carve_walk_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < b->nmin;) {
        uint8_t c = b->ctrl[i];
        if (!(c & HEAD) || (c & ORDER_MASK) >= MAX_ORDERS) return; /* damaged: check reports it */
        size_t sz = order_bytes(b, c & ORDER_MASK);
        carve_block_info info = {.start = (uintptr_t)blk(b, i), .size = sz, .payload = (c & USED) ? sz : 0,
                                 .used = (c & USED) != 0};
        fn(ctx, &info);
        i += 1u << (c & ORDER_MASK);
    }
}

CARVE_API void carve_buddy_stats(const carve_buddy *b, carve_stats *out)
{
    if (!carve_stats_begin(out)) return;
    out->capacity = b->bytes;
    out->used = b->used_bytes;
    out->free = b->free_bytes;
    out->free_blocks = b->free_blocks;
    out->largest_free = b->nonempty != 0 ? order_bytes(b, carve_log2_floor(b->nonempty)) : 0;
    out->requested = b->used_bytes;
    out->peak_requested = b->peak_used;
    out->allocs = b->allocs;
    out->frees = b->frees;
    out->failed = b->failed;
}

CARVE_API size_t carve_buddy_high_water(const carve_buddy *b)
{
    return b->hw_end == 0 ? 0 : carve_buddy_region_bytes(b->hw_end << b->shift, (size_t)1 << b->shift);
}

CARVE_API size_t carve_buddy_min_block(const carve_buddy *b) { return (size_t)1 << b->shift; }
