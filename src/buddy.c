/*
 * src/buddy.c: the binary buddy allocator (seed 001's merging algorithm).
 *
 * Algorithm: the managed range is nmin min blocks, seen as a binary tree whose root has order
 * top = ceil(log2 nmin). A block of order k is 2^k min blocks and starts at a min-block index
 * that is a multiple of 2^k. Alloc rounds the request up to an order, takes the smallest
 * non-empty free list of that order or above (a 64-bit mask of the non-empty lists makes this
 * one bit scan), and halves the block down to the order, putting each upper half on its list.
 * Free finds the block from the split bits and merges it with its buddy (index XOR 2^k) while
 * the buddy is a whole free block of the same order. At init the nodes that straddle the end
 * of the range are split, so a range that is not a power of two is still fully used, as blocks
 * of smaller orders (greedy: 7 min blocks are 4 + 2 + 1).
 *
 * Layout:
 *
 *   mem -> [pad][struct carve_buddy][used: 1 bit per min block][split: 1 bit per tree node of
 *           order >= 1, 2^top - 1 bits][pad to min(min_block, 4096)]
 *          base -> [min block 0][min block 1]...[min block nmin-1]
 *
 *   used bit i   a live block starts at min block i
 *   split bit    the node (order k >= 1, index i >> k) is halved; node bits of order k follow
 *                those of order k - 1, starting at 2^top - 2^(top-k+1)
 *   free block   [uint32 next][uint32 prev][...]: doubly linked list of its order, as min-block
 *                indices (NONE = UINT32_MAX)
 *   used block   nothing: the whole block is the user's
 *
 * A block of order k at i is a node that is not split whose parent is (a virtual parent above
 * the root counts as split). So the block holding min block i is the child, towards i, of the
 * lowest split node above i: found by testing at most top + 1 bits, fewer for small blocks.
 *
 * Traps: the bitmaps, not the links, say what is free and where blocks start (double and
 * foreign frees are decided by the bitmaps alone). The links sit in free memory, so a write
 * after free can damage them: a block is popped only when the bitmaps say it is a whole free
 * block of its order, and unlinked only when its neighbours are in range and point back at it
 * (alloc then fails, free returns CARVE_ECORRUPT, check validates every link against the
 * bitmaps). A merge clears the
 * parent's split bit, so the upper half's start is no block start any more.
 *
 * Metadata: about 2 to 3 bits per min block (3% of the range at 16-byte min blocks, under 1%
 * at 32 bytes and more), which is what the utilisation figures in docs/buddy.md pay.
 *
 * Invariants: blocks tile [0, nmin) exactly; block i of order k has i % 2^k == 0; nodes inside
 * a block are not split and min blocks inside it are not marked used; no free block has a free
 * buddy of its own order; list k holds exactly the free blocks of order k; bit k of nonempty
 * is set iff list k is not empty. Bound: alloc, free and realloc are O(log nmin).
 */
#include "carve/buddy.h"

#include "internal.h"

#include <string.h>

#define BUDDY_MAGIC 0x6275646479435257ull
#define NONE UINT32_MAX
#define MAX_ORDERS 32 /* nmin < 2^32: block orders 0..31 (tree nodes up to 32) */

typedef struct link { uint32_t next, prev; } link;

struct carve_buddy {
    uintptr_t base;
    uint64_t *used;          /* nmin bits */
    uint64_t *split;         /* 2^top - 1 bits */
    uint32_t nmin;
    unsigned shift;          /* log2(min_block) */
    unsigned top;            /* the root's order: ceil(log2 nmin) */
    uint64_t nonempty;       /* bit k: list k is not empty */
    uint32_t head[MAX_ORDERS];
    size_t used_bytes, free_bytes, free_blocks, peak_used;
    size_t hw_end;           /* min blocks up to the end of the highest block handed out */
    uint64_t allocs, frees, failed;
    size_t bytes;
    uint64_t magic;
};

CARVE_INLINE bool bit_get(const uint64_t *m, size_t i) { return (m[i >> 6] >> (i & 63)) & 1u; }
CARVE_INLINE void bit_set(uint64_t *m, size_t i) { m[i >> 6] |= 1ull << (i & 63); }
CARVE_INLINE void bit_clear(uint64_t *m, size_t i) { m[i >> 6] &= ~(1ull << (i & 63)); }
CARVE_INLINE size_t words_for(size_t bits) { return (bits + 63) / 64; }

CARVE_INLINE link *blk(const carve_buddy *b, uint32_t i) { return (link *)(b->base + ((uintptr_t)i << b->shift)); }
CARVE_INLINE size_t order_bytes(const carve_buddy *b, unsigned k) { return (size_t)1 << (k + b->shift); }
CARVE_INLINE size_t span(unsigned k) { return (size_t)1 << k; }

/* Bit of the node of order k (1 <= k <= top) that holds min block i. */
CARVE_INLINE size_t node_bit(const carve_buddy *b, unsigned k, uint32_t i)
{
    return (span(b->top) - span(b->top - k + 1)) + ((size_t)i >> k);
}
/* Is the order-k node holding i split, for 1 <= k <= top? */
CARVE_INLINE bool node_split(const carve_buddy *b, unsigned k, uint32_t i) { return bit_get(b->split, node_bit(b, k, i)); }
/* Is the order-k node holding i split? Leaves never are; the virtual parent of the root is. */
CARVE_INLINE bool is_split(const carve_buddy *b, unsigned k, uint32_t i)
{
    if (k == 0) return false;
    if (k > b->top) return true;
    return bit_get(b->split, node_bit(b, k, i));
}
CARVE_INLINE bool is_used(const carve_buddy *b, uint32_t i) { return bit_get(b->used, i); }

/* Is [i, i + 2^k) a whole free block? */
CARVE_INLINE bool is_free_head(const carve_buddy *b, uint32_t i, unsigned k)
{
    return k < MAX_ORDERS && i < b->nmin && (i & (span(k) - 1)) == 0 && (size_t)i + span(k) <= b->nmin &&
           !is_split(b, k, i) && is_split(b, k + 1, i) && !is_used(b, i);
}

/* Start of the block holding min block i (< nmin); its order in *order. The nodes above i are
 * unsplit up to the block's order and split above it, so the lowest split one is found by a
 * binary search over orders. A block starting at i has an order of at most ctz(i), so when the
 * node just above that is split the search stays below it (a few probes for the small blocks
 * that most pointers are). */
static uint32_t block_of(const carve_buddy *b, uint32_t i, unsigned *order)
{
    unsigned lo = 1, hi = b->top + 1; /* the answer is in [lo, hi]; hi is split */
    if (i != 0 && carve_ctz64(i) + 1 < hi && node_split(b, carve_ctz64(i) + 1, i)) hi = carve_ctz64(i) + 1;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2; /* < hi <= top + 1 */
        if (node_split(b, mid, i)) hi = mid;
        else lo = mid + 1;
    }
    *order = lo - 1;
    return (uint32_t)(i & ~(span(lo - 1) - 1));
}

static void push(carve_buddy *b, unsigned k, uint32_t i)
{
    link *l = blk(b, i);
    l->next = b->head[k];
    l->prev = NONE;
    if (l->next != NONE) blk(b, l->next)->prev = i;
    b->head[k] = i;
    b->nonempty |= 1ull << k;
    b->free_bytes += order_bytes(b, k);
    b->free_blocks++;
}

/* May free block i of order k be unlinked? Its neighbours must lie in the range and point back
 * at it (the safe-unlink rule), so unlinking writes only where the list says it may. The
 * neighbours' own bitmap state is verified when they are popped and by carve_buddy_check. */
static bool links_ok(const carve_buddy *b, unsigned k, uint32_t i)
{
    const link *l = blk(b, i);
    if (l->prev == NONE ? b->head[k] != i : l->prev >= b->nmin || blk(b, l->prev)->next != i) return false;
    return l->next == NONE || (l->next < b->nmin && blk(b, l->next)->prev == i);
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

/* Bytes of metadata (both bitmaps) for n min blocks. */
static size_t meta_bytes(size_t n)
{
    return (words_for(n) + words_for(span(carve_log2_ceil(n)) - 1)) * sizeof(uint64_t);
}

CARVE_API size_t carve_buddy_region_bytes(size_t managed, size_t min_block)
{
    min_block = normal_min_block(min_block);
    if (min_block == 0 || managed == 0 || managed > ((size_t)NONE - 1) * min_block) return 0;
    size_t n = (managed + min_block - 1) / min_block;
    size_t align = min_block < 4096 ? min_block : 4096;
    return carve_align_up(sizeof(carve_buddy) + meta_bytes(n), align) + n * min_block;
}

/* Do n min blocks and their metadata fit in [meta, end)? */
static bool fits(uintptr_t meta, uintptr_t end, size_t n, size_t min_block, size_t align)
{
    uintptr_t base = carve_align_up_ptr(meta + meta_bytes(n), align);
    return base <= end && (end - base) / min_block >= n;
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
    uintptr_t meta = hdr + sizeof(carve_buddy);
    if (hdr < start || meta > end) return NULL;
    /* The largest n that fits (fits is monotone in n): binary search. */
    size_t lo = 0, hi = (end - meta) / min_block;
    if (hi > NONE - 1) hi = NONE - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (fits(meta, end, mid, min_block, align)) lo = mid;
        else hi = mid - 1;
    }
    size_t n = lo;
    if (n == 0) return NULL;

    carve_buddy *b = (carve_buddy *)hdr;
    memset(b, 0, sizeof *b);
    b->nmin = (uint32_t)n;
    b->shift = shift;
    b->top = carve_log2_ceil(n);
    b->used = (uint64_t *)meta;
    b->split = b->used + words_for(n);
    memset(b->used, 0, meta_bytes(n));
    b->base = carve_align_up_ptr(meta + meta_bytes(n), align);
    b->bytes = bytes;
    b->magic = BUDDY_MAGIC;
    for (unsigned k = 0; k < MAX_ORDERS; k++) b->head[k] = NONE;
    /* Split every node that straddles the end of the range (at most one per order). */
    for (unsigned k = 1; k <= b->top; k++)
        if ((n & (span(k) - 1)) != 0) bit_set(b->split, node_bit(b, k, (uint32_t)(n & ~(span(k) - 1))));
    /* The blocks that leaves: the largest aligned block at each index, lowest address first. */
    for (uint32_t i = 0; i < n;) {
        unsigned k = carve_log2_floor(n - i);
        if (i != 0 && carve_ctz64(i) < k) k = carve_ctz64(i);
        push(b, k, i);
        i += 1u << k;
    }
    return b;
}

/* Mark block i (order k, taken off its list) live. */
static void *hand_out(carve_buddy *b, uint32_t i, unsigned k)
{
    bit_set(b->used, i);
    b->used_bytes += order_bytes(b, k);
    if (b->used_bytes > b->peak_used) b->peak_used = b->used_bytes;
    if (i + span(k) > b->hw_end) b->hw_end = i + span(k);
    return blk(b, i);
}

CARVE_API void *carve_buddy_alloc(carve_buddy *b, size_t size)
{
    size_t units = size == 0 ? 1 : ((size - 1) >> b->shift) + 1;
    if (CARVE_UNLIKELY(units > b->nmin)) goto fail;
    unsigned k = carve_log2_ceil(units);
    uint64_t avail = k < 64 ? b->nonempty >> k : 0;
    if (CARVE_UNLIKELY(avail == 0)) goto fail;
    unsigned j = k + carve_ctz64(avail);
    uint32_t i = b->head[j];
    if (CARVE_UNLIKELY(!is_free_head(b, i, j) || !links_ok(b, j, i))) goto fail; /* a damaged link */
    unlink_block(b, j, i);
    while (j > k) {
        bit_set(b->split, node_bit(b, j, i));
        j--;
        push(b, j, i + (1u << j));
    }
    b->allocs++;
    return hand_out(b, i, k);
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

/* How many merges starting from block t of order k can make, up to order `limit`, each buddy a
 * whole free block with sound links; *corrupt when a buddy's links are damaged. */
static unsigned mergeable(const carve_buddy *b, uint32_t t, unsigned k, unsigned limit, bool *corrupt)
{
    unsigned kk = k;
    *corrupt = false;
    for (; kk < limit && kk + 1 < MAX_ORDERS; kk++) {
        uint32_t bud = t ^ (1u << kk);
        /* bud is aligned and its parent is split (t is a block of order kk beside it), so it is
         * a whole free block when it is in range, not split and not in use */
        if ((size_t)bud + span(kk) > b->nmin || is_split(b, kk, bud) || is_used(b, bud)) break;
        if (!links_ok(b, kk, bud)) {
            *corrupt = true;
            break;
        }
        t &= ~(1u << kk);
    }
    return kk;
}

/* Merge block t of order k with its buddies up to order `to` (checked by mergeable): unlink
 * each buddy and clear the parent's split bit. Returns the merged block's start. */
static uint32_t merge(carve_buddy *b, uint32_t t, unsigned k, unsigned to)
{
    for (unsigned kk = k; kk < to; kk++) {
        uint32_t bud = t ^ (1u << kk);
        unlink_block(b, kk, bud);
        t &= ~(1u << kk);
        bit_clear(b->split, node_bit(b, kk + 1, t));
    }
    return t;
}

CARVE_API carve_status carve_buddy_free(carve_buddy *b, void *p)
{
    if (p == NULL) return CARVE_OK;
    uint32_t i = boundary_index(b, p);
    if (i == NONE) return CARVE_EFOREIGN;
    unsigned k;
    uint32_t s = block_of(b, i, &k);
    if (CARVE_UNLIKELY(s != i)) {
        /* Inside a block: of a live one, a foreign pointer; of a free one (a freed block that
         * has merged with its buddy), a double free. */
        return is_used(b, s) ? CARVE_EFOREIGN : CARVE_EDOUBLEFREE;
    }
    if (!is_used(b, i)) return CARVE_EDOUBLEFREE;
    bool corrupt;
    unsigned top = mergeable(b, i, k, MAX_ORDERS, &corrupt);
    if (CARVE_UNLIKELY(corrupt)) return CARVE_ECORRUPT;
    bit_clear(b->used, i);
    b->used_bytes -= order_bytes(b, k);
    b->frees++;
    push(b, top, merge(b, i, k, top));
    return CARVE_OK;
}

CARVE_API void *carve_buddy_realloc(carve_buddy *b, void *p, size_t size)
{
    if (p == NULL) return carve_buddy_alloc(b, size);
    uint32_t i = boundary_index(b, p);
    unsigned k;
    if (i == NONE || block_of(b, i, &k) != i || !is_used(b, i)) return NULL;
    size_t units = size == 0 ? 1 : ((size - 1) >> b->shift) + 1;
    if (units > b->nmin || carve_log2_ceil(units) >= MAX_ORDERS) {
        b->failed++;
        return NULL;
    }
    unsigned want = carve_log2_ceil(units);
    if (want < k) { /* shrink: give the upper halves back (their buddies are ours, so no merge) */
        for (unsigned j = k; j-- > want;) {
            bit_set(b->split, node_bit(b, j + 1, i));
            push(b, j, i + (1u << j));
        }
    } else if (want > k) {
        /* Grow where the block is when its buddies up to order `want` are whole free blocks:
         * the merged block starts at or below it, and the contents slide down. */
        bool corrupt;
        if (mergeable(b, i, k, want, &corrupt) != want) {
            /* A damaged buddy would also make the free below fail (CARVE_ECORRUPT) and leave p
             * live behind the caller's back: refuse first, p untouched. */
            if (CARVE_UNLIKELY(corrupt)) {
                b->failed++;
                return NULL;
            }
            void *n = carve_buddy_alloc(b, size);
            if (n == NULL) return NULL;
            memcpy(n, p, order_bytes(b, k));
            if (CARVE_UNLIKELY(carve_buddy_free(b, p) != CARVE_OK)) {
                /* p could not be freed (a damaged list met higher up): keep it, give n back */
                (void)carve_buddy_free(b, n);
                b->failed++;
                return NULL;
            }
            return n;
        }
        uint32_t t = merge(b, i, k, want);
        if (t != i) {
            bit_clear(b->used, i);
            bit_set(b->used, t);
            memmove(blk(b, t), p, order_bytes(b, k));
            i = t;
        }
    }
    b->used_bytes -= order_bytes(b, k);
    return hand_out(b, i, want);
}

CARVE_API size_t carve_buddy_usable_size(const carve_buddy *b, const void *p)
{
    uint32_t i = boundary_index(b, p);
    unsigned k;
    if (i == NONE || block_of(b, i, &k) != i || !is_used(b, i)) return 0;
    return order_bytes(b, k);
}

CARVE_API size_t carve_buddy_check(const carve_buddy *b)
{
    if (b == NULL || b->magic != BUDDY_MAGIC) return 1;
    if (b->top != carve_log2_ceil(b->nmin) || b->split != b->used + words_for(b->nmin)) return 1;
    size_t bad = 0, used = 0, freeb = 0, nfree = 0;
    size_t per_order[MAX_ORDERS] = {0};
    for (uint32_t i = 0; i < b->nmin;) {
        unsigned k;
        if (block_of(b, i, &k) != i || k >= MAX_ORDERS || (size_t)i + span(k) > b->nmin) return bad + 1; /* tiling broken */
        /* nothing inside the block is split or marked used */
        for (unsigned kk = 1; kk < k; kk++)
            for (size_t j = i; j < i + span(k); j += span(kk))
                if (is_split(b, kk, (uint32_t)j)) bad++;
        for (size_t j = i + 1; j < i + span(k); j++)
            if (is_used(b, (uint32_t)j)) bad++;
        if (is_used(b, i)) {
            used += order_bytes(b, k);
        } else {
            freeb += order_bytes(b, k);
            nfree++;
            per_order[k]++;
            uint32_t bud = i ^ (1u << k);
            if (k + 1 < MAX_ORDERS && (size_t)bud + span(k) <= b->nmin && is_free_head(b, bud, k)) bad++; /* unmerged */
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
        unsigned k;
        if (block_of(b, i, &k) != i || (size_t)i + span(k) > b->nmin) return; /* damaged: check reports it */
        size_t sz = order_bytes(b, k);
        bool used = is_used(b, i);
        carve_block_info info = {.start = (uintptr_t)blk(b, i), .size = sz, .payload = used ? sz : 0, .used = used};
        fn(ctx, &info);
        i += 1u << k;
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
