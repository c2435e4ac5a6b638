/*
 * src/slab.c: the slab cache (seeds 003 and 000).
 *
 * Algorithm: one class per block size; each class keeps a doubly linked list of its slabs that
 * have a free block ("partial" slabs). A slab is slab_bytes of memory aligned to slab_bytes:
 * a header, then a pool (src/pool_impl.h) of the class's blocks. Alloc maps the size to its
 * class through a lookup table, pops a block from the first partial slab and unlinks the slab
 * when it becomes full; with no partial slab it grows one. Free masks the pointer down to the
 * slab, confirms the slab in a hash set of this cache's slabs (so a foreign pointer is never
 * dereferenced), pushes the block onto the slab's pool (which rejects double and misplaced
 * frees through its bitmap), relinks a slab that was full, and releases a slab that became
 * wholly free unless it is the class's only empty one.
 *
 * Layout of one slab (slab_bytes, aligned to slab_bytes):
 *
 *   [slab_hdr: check, cache, next/prev (partial list), raw/raw_bytes, cls][pool: carve_pool,
 *    bitmap, blocks]   (the pool's address is computed from the header's, never stored)
 *
 *   check = SLAB_MAGIC ^ cache ^ slab address: a header copied or overwritten fails it.
 *   raw/raw_bytes: what grow returned (the slab may sit inside a bigger, unaligned grant).
 *
 * Traps: the hash set is the only thing trusted before the header is read; a slab on the
 * partial list always has a free block; "empty" counts the wholly free slabs of a class and
 * never exceeds one after a free.
 *
 * Bound: alloc and free are O(1) expected (the hash set probes are short at load <= 3/4),
 * plus one grow or release call at most. Check is O(total blocks); walk sorts slabs by
 * selection, O(slabs^2).
 */
#include "carve/slab.h"

#include "os/os.h"
#include "pool_impl.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_MAGIC 0x736c616243525645ull
#define CACHE_MAGIC 0x63616368655f6376ull
#define LUT_MAX 8192 /* sizes up to this go through the lookup table */
#define NO_CLASS 0xFFu
#define TOMB ((uintptr_t)1)

typedef struct slab_hdr {
    uint64_t check;
    carve_slab *cache;
    struct slab_hdr *next, *prev;
    void *raw;
    size_t raw_bytes;
    uint32_t cls;
    bool on_list;
} slab_hdr;

/* The slab's pool sits right after its header (computed, never stored, so an overwritten header
 * cannot point free at another address). */
_Static_assert(sizeof(slab_hdr) % _Alignof(carve_pool) == 0, "the pool starts right after the header");
CARVE_INLINE carve_pool *slab_pool(const slab_hdr *h) { return (carve_pool *)(uintptr_t)(h + 1); }

typedef struct class_state {
    size_t size;
    slab_hdr *partial;
    size_t slabs, empty, used_blocks, total_blocks;
    uint64_t allocs, frees, failed;
} class_state;

struct carve_slab {
    uint64_t magic;
    size_t slab_bytes;
    unsigned slab_shift;          /* log2(slab_bytes) */
    size_t nclasses;
    class_state cls[CARVE_SLAB_MAX_CLASSES];
    uint8_t lut[LUT_MAX / 8 + 1]; /* (size + 7) / 8 -> class, for size <= lut_max */
    size_t lut_max;
    carve_grow_fn grow;
    void (*release)(void *ctx, void *mem, size_t bytes);
    void *ctx;
    uintptr_t *set;               /* open addressing; 0 empty, TOMB deleted */
    size_t set_cap, set_count, set_tombs;
    void *set_raw;
    size_t set_raw_bytes;
    size_t held, peak_held;       /* bytes from grow */
    size_t used_bytes, peak_used;
    uint64_t oversize_failed;
    void *self_raw;
    size_t self_raw_bytes;
};

/* ---- memory from grow (or the OS) ------------------------------------------------------- */

/* Give back what one obtain() returned. */
static void give_back(carve_slab *s, void *raw, size_t raw_bytes)
{
    s->held -= raw_bytes;
    if (s->grow == NULL) carve_os_unmap(raw, raw_bytes);
    else s->release(s->ctx, raw, raw_bytes);
}

/* bytes aligned to align, from the OS or the grow callback. *raw and *raw_bytes say what to
 * give back. When a callback's memory is misaligned, it is returned and bytes + align asked
 * for instead. Used before the cache exists too (for the cache itself), so it takes the
 * callbacks rather than the cache. */
static void *obtain_with(carve_grow_fn grow, void (*release)(void *, void *, size_t), void *ctx, size_t bytes,
                         size_t align, void **raw, size_t *raw_bytes)
{
    if (grow == NULL) {
        void *p = carve_os_map(bytes, align);
        *raw = p;
        *raw_bytes = carve_align_up(bytes, carve_os_page_size());
        return p;
    }
    size_t got = 0;
    void *p = grow(ctx, bytes, &got);
    if (p == NULL) return NULL;
    if ((uintptr_t)p % align == 0 && got >= bytes) {
        *raw = p;
        *raw_bytes = got;
        return p;
    }
    release(ctx, p, got);
    got = 0;
    p = grow(ctx, bytes + align, &got);
    if (p == NULL) return NULL;
    uintptr_t a = carve_align_up_ptr((uintptr_t)p, align);
    if (got < bytes + align || a + bytes > (uintptr_t)p + got) {
        release(ctx, p, got);
        return NULL;
    }
    *raw = p;
    *raw_bytes = got;
    return (void *)a;
}

static void *obtain(carve_slab *s, size_t bytes, size_t align, void **raw, size_t *raw_bytes)
{
    void *p = obtain_with(s->grow, s->release, s->ctx, bytes, align, raw, raw_bytes);
    if (p != NULL) {
        s->held += *raw_bytes;
        if (s->held > s->peak_held) s->peak_held = s->held;
    }
    return p;
}

/* ---- the hash set of slab addresses ------------------------------------------------------ */

CARVE_INLINE size_t set_slot(const carve_slab *s, uintptr_t key)
{
    uint64_t h = (uint64_t)(key >> s->slab_shift) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (s->set_cap - 1);
}

CARVE_INLINE bool set_has(const carve_slab *s, uintptr_t key)
{
    for (size_t i = set_slot(s, key);; i = (i + 1) & (s->set_cap - 1)) {
        uintptr_t k = s->set[i];
        if (k == key) return true;
        if (k == 0) return false;
    }
}

static void set_put(uintptr_t *set, size_t cap, const carve_slab *s, uintptr_t key)
{
    uint64_t h = (uint64_t)(key >> s->slab_shift) * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h >> 32) & (cap - 1);
    while (set[i] != 0 && set[i] != TOMB) i = (i + 1) & (cap - 1);
    set[i] = key;
}

/* Make room for one more key (rebuilding at load 3/4). False when grow fails. */
static bool set_reserve(carve_slab *s)
{
    if ((s->set_count + s->set_tombs + 1) * 4 <= s->set_cap * 3) return true;
    size_t cap = 64;
    while (cap * 3 <= (s->set_count + 1) * 4 * 2) cap *= 2;
    void *raw;
    size_t raw_bytes;
    uintptr_t *set = obtain(s, cap * sizeof(uintptr_t), 16, &raw, &raw_bytes);
    if (set == NULL) return false;
    memset(set, 0, cap * sizeof(uintptr_t));
    for (size_t i = 0; i < s->set_cap; i++)
        if (s->set[i] > TOMB) set_put(set, cap, s, s->set[i]);
    if (s->set_raw != NULL) give_back(s, s->set_raw, s->set_raw_bytes);
    s->set = set;
    s->set_cap = cap;
    s->set_tombs = 0;
    s->set_raw = raw;
    s->set_raw_bytes = raw_bytes;
    return true;
}

static void set_remove(carve_slab *s, uintptr_t key)
{
    for (size_t i = set_slot(s, key);; i = (i + 1) & (s->set_cap - 1)) {
        if (s->set[i] == key) {
            s->set[i] = TOMB;
            s->set_count--;
            s->set_tombs++;
            return;
        }
        CARVE_ASSERT(s->set[i] != 0 && "only registered slabs are removed");
    }
}

/* ---- slabs ------------------------------------------------------------------------------ */

CARVE_INLINE uint64_t slab_check_word(const carve_slab *s, const slab_hdr *h)
{
    return SLAB_MAGIC ^ (uint64_t)(uintptr_t)s ^ (uint64_t)(uintptr_t)h;
}

static void list_push(class_state *c, slab_hdr *h)
{
    h->prev = NULL;
    h->next = c->partial;
    if (c->partial != NULL) c->partial->prev = h;
    c->partial = h;
    h->on_list = true;
}

static void list_unlink(class_state *c, slab_hdr *h)
{
    if (h->prev != NULL) h->prev->next = h->next;
    else c->partial = h->next;
    if (h->next != NULL) h->next->prev = h->prev;
    h->on_list = false;
}

static slab_hdr *new_slab(carve_slab *s, uint32_t ci)
{
    if (!set_reserve(s)) return NULL;
    void *raw;
    size_t raw_bytes;
    slab_hdr *h = obtain(s, s->slab_bytes, s->slab_bytes, &raw, &raw_bytes);
    if (h == NULL) return NULL;
    class_state *c = &s->cls[ci];
    memset(h, 0, sizeof *h);
    h->cache = s;
    h->raw = raw;
    h->raw_bytes = raw_bytes;
    h->cls = ci;
    carve_pool *pool = carve_pool_format(h + 1, s->slab_bytes - sizeof *h, c->size, 0, 0);
    CARVE_ASSERT(pool == slab_pool(h) && "create checked that a slab holds a block of every class");
    h->check = slab_check_word(s, h);
    set_put(s->set, s->set_cap, s, (uintptr_t)h);
    s->set_count++;
    list_push(c, h);
    c->slabs++;
    c->empty++;
    c->total_blocks += pool->nblocks;
    return h;
}

static void release_slab(carve_slab *s, slab_hdr *h)
{
    class_state *c = &s->cls[h->cls];
    if (h->on_list) list_unlink(c, h);
    set_remove(s, (uintptr_t)h);
    c->slabs--;
    c->total_blocks -= slab_pool(h)->nblocks;
    h->check = 0;
    give_back(s, h->raw, h->raw_bytes);
}

/* ---- create / destroy -------------------------------------------------------------------- */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

CARVE_API carve_slab *carve_slab_create(const carve_slab_config *cfg)
{
    carve_slab_config def = {0};
    if (cfg == NULL) cfg = &def;
    if ((cfg->grow == NULL) != (cfg->release == NULL)) return NULL;
    size_t sizes[CARVE_SLAB_MAX_CLASSES], n = 0;
    if (cfg->sizes == NULL) {
        for (size_t z = CARVE_SLAB_DEFAULT_MIN; z <= CARVE_SLAB_DEFAULT_MAX; z *= 2) sizes[n++] = z;
    } else {
        if (cfg->nsizes == 0 || cfg->nsizes > CARVE_SLAB_MAX_CLASSES) return NULL;
        for (size_t i = 0; i < cfg->nsizes; i++) {
            if (cfg->sizes[i] == 0 || !carve_align_up_checked(cfg->sizes[i], 8, &sizes[i])) return NULL;
        }
        n = cfg->nsizes;
        qsort(sizes, n, sizeof sizes[0], cmp_size);
        size_t m = 1;
        for (size_t i = 1; i < n; i++)
            if (sizes[i] != sizes[m - 1]) sizes[m++] = sizes[i];
        n = m;
    }
    size_t slab_bytes = cfg->slab_bytes;
    if (slab_bytes == 0) { /* the default, or 4 blocks of the largest class when that is more */
        slab_bytes = CARVE_SLAB_DEFAULT_BYTES;
        if (sizes[n - 1] > ((size_t)1 << 38)) return NULL;
        if (sizes[n - 1] * 4 > slab_bytes) slab_bytes = sizes[n - 1] * 4;
    }
    if (slab_bytes > ((size_t)1 << 40)) return NULL;
    slab_bytes = (size_t)1 << carve_log2_ceil(slab_bytes < 4096 ? 4096 : slab_bytes);
    /* A slab must hold one block of the largest class (header, pool, one bitmap word and
     * alignment, over-estimated). */
    size_t overhead = sizeof(slab_hdr) + sizeof(carve_pool) + 2 * sizeof(uint64_t) + 32;
    if (sizes[n - 1] > slab_bytes - overhead) return NULL;

    void *raw;
    size_t raw_bytes;
    carve_slab *s = obtain_with(cfg->grow, cfg->release, cfg->ctx, sizeof(carve_slab), 16, &raw, &raw_bytes);
    if (s == NULL) return NULL;
    memset(s, 0, sizeof *s);
    s->magic = CACHE_MAGIC;
    s->slab_bytes = slab_bytes;
    s->slab_shift = carve_log2_floor(slab_bytes);
    s->nclasses = n;
    s->grow = cfg->grow;
    s->release = cfg->release;
    s->ctx = cfg->ctx;
    s->self_raw = raw;
    s->self_raw_bytes = raw_bytes;
    s->held = s->peak_held = raw_bytes;
    for (size_t i = 0; i < n; i++) s->cls[i].size = sizes[i];
    s->lut_max = sizes[n - 1] < LUT_MAX ? sizes[n - 1] : LUT_MAX;
    for (size_t q = 0, ci = 0; q <= s->lut_max / 8; q++) {
        while (sizes[ci] < q * 8) ci++;
        s->lut[q] = (uint8_t)ci;
    }
    if (!set_reserve(s)) {
        give_back(s, raw, raw_bytes);
        return NULL;
    }
    return s;
}

CARVE_API void carve_slab_destroy(carve_slab *s)
{
    if (s == NULL) return;
    for (size_t i = 0; i < s->set_cap; i++)
        if (s->set[i] > TOMB) release_slab(s, (slab_hdr *)s->set[i]);
    give_back(s, s->set_raw, s->set_raw_bytes);
    s->magic = 0;
    give_back(s, s->self_raw, s->self_raw_bytes);
}

/* ---- alloc / free ------------------------------------------------------------------------ */

CARVE_INLINE size_t class_of(const carve_slab *s, size_t size)
{
    if (CARVE_LIKELY(size <= s->lut_max)) return s->lut[(size + 7) >> 3];
    for (size_t i = 0; i < s->nclasses; i++)
        if (s->cls[i].size >= size) return i;
    return NO_CLASS;
}

CARVE_API void *carve_slab_alloc(carve_slab *s, size_t size)
{
    size_t ci = class_of(s, size);
    if (CARVE_UNLIKELY(ci == NO_CLASS)) {
        s->oversize_failed++;
        return NULL;
    }
    class_state *c = &s->cls[ci];
    slab_hdr *h = c->partial;
    if (CARVE_UNLIKELY(h == NULL)) {
        h = new_slab(s, (uint32_t)ci);
        if (h == NULL) {
            c->failed++;
            return NULL;
        }
    }
    carve_pool *p = slab_pool(h);
    /* A slab's pool is plain, and an alloc here seldom follows the free of the block it handed
     * out last (frees are in any order): the full path, without the pair's test first. */
    void *b = carve_pool_alloc_plain_(p);
    if (CARVE_UNLIKELY(b == NULL)) { /* a free-list link was overwritten: carve_slab_check counts it */
        c->failed++;
        return NULL;
    }
    /* b is now the pool's slot, so it alone is live iff no bit is set: the slab was empty */
    if (p->marks == p->unmarks) c->empty--;
    if (p->head == NULL) list_unlink(c, h); /* nothing left to hand out (head NULL iff no free block) */
    c->allocs++;
    c->used_blocks++;
    s->used_bytes += c->size;
    if (s->used_bytes > s->peak_used) s->peak_used = s->used_bytes;
    return b;
}

/* The slab holding p, or NULL when p is in none of this cache's slabs. */
CARVE_INLINE slab_hdr *slab_of(const carve_slab *s, const void *p)
{
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(s->slab_bytes - 1);
    return set_has(s, a) ? (slab_hdr *)a : NULL;
}

CARVE_API carve_status carve_slab_free(carve_slab *s, void *p)
{
    if (p == NULL) return CARVE_OK;
    slab_hdr *h = slab_of(s, p);
    if (CARVE_UNLIKELY(h == NULL)) return CARVE_EFOREIGN;
    if (CARVE_UNLIKELY(h->check != slab_check_word(s, h) || h->cls >= s->nclasses)) return CARVE_ECORRUPT;
    carve_pool *pool = slab_pool(h);
    bool was_full = pool->head == NULL;
    /* likewise: most frees here are of blocks other than the one handed out last */
    carve_status st = CARVE_LIKELY((uintptr_t)p != pool->slot) ? carve_pool_free_other_(pool, p)
                                                                : carve_pool_free_inline(pool, p);
    if (CARVE_UNLIKELY(st != CARVE_OK)) return st;
    class_state *c = &s->cls[h->cls];
    c->frees++;
    c->used_blocks--;
    s->used_bytes -= c->size;
    if (was_full) list_push(c, h);
    if (CARVE_UNLIKELY(pool_live(pool) == 0)) {
        if (c->empty >= 1) release_slab(s, h);
        else c->empty++;
    }
    return CARVE_OK;
}

CARVE_API size_t carve_slab_usable_size(const carve_slab *s, const void *p)
{
    slab_hdr *h = p != NULL ? slab_of(s, p) : NULL;
    if (h == NULL || h->check != slab_check_word(s, h)) return 0;
    return carve_pool_usable_size(slab_pool(h), p);
}

/* ---- views ------------------------------------------------------------------------------- */

CARVE_API size_t carve_slab_check(const carve_slab *s)
{
    if (s == NULL || s->magic != CACHE_MAGIC) return 1;
    size_t bad = 0, count = 0;
    size_t slabs[CARVE_SLAB_MAX_CLASSES] = {0}, empty[CARVE_SLAB_MAX_CLASSES] = {0},
           partial[CARVE_SLAB_MAX_CLASSES] = {0}, used[CARVE_SLAB_MAX_CLASSES] = {0},
           total[CARVE_SLAB_MAX_CLASSES] = {0};
    size_t used_bytes = 0;
    for (size_t i = 0; i < s->set_cap; i++) {
        if (s->set[i] <= TOMB) continue;
        count++;
        const slab_hdr *h = (const slab_hdr *)s->set[i];
        if (h->check != slab_check_word(s, h) || h->cache != s || h->cls >= s->nclasses) {
            bad++;
            continue;
        }
        const carve_pool *p = slab_pool(h);
        bad += carve_pool_check_impl(p);
        if (p->block_size != s->cls[h->cls].size) bad++;
        size_t nfree = pool_nfree(p);
        if (h->on_list != (nfree > 0)) bad++;
        slabs[h->cls]++;
        empty[h->cls] += nfree == p->nblocks;
        partial[h->cls] += nfree > 0;
        used[h->cls] += p->nblocks - nfree;
        total[h->cls] += p->nblocks;
    }
    if (count != s->set_count) bad++;
    for (size_t ci = 0; ci < s->nclasses; ci++) {
        const class_state *c = &s->cls[ci];
        if (c->slabs != slabs[ci] || c->empty != empty[ci] || c->empty > 1 || c->used_blocks != used[ci] ||
            c->total_blocks != total[ci])
            bad++;
        used_bytes += used[ci] * c->size;
        size_t len = 0;
        const slab_hdr *prev = NULL;
        for (const slab_hdr *h = c->partial; h != NULL; h = h->next) {
            if (len >= partial[ci] || !set_has(s, (uintptr_t)h) || h->cls != ci || h->prev != prev) {
                bad++;
                break;
            }
            prev = h;
            len++;
        }
        if (len != partial[ci]) bad++;
    }
    if (used_bytes != s->used_bytes) bad++;
    return bad;
}

CARVE_API void carve_slab_walk(const carve_slab *s, carve_walk_fn fn, void *ctx)
{
    uintptr_t last = 0;
    for (;;) {
        uintptr_t next = UINTPTR_MAX;
        for (size_t i = 0; i < s->set_cap; i++)
            if (s->set[i] > TOMB && s->set[i] > last && s->set[i] < next) next = s->set[i];
        if (next == UINTPTR_MAX) return;
        carve_pool_walk(slab_pool((const slab_hdr *)next), fn, ctx);
        last = next;
    }
}

CARVE_API void carve_slab_stats(const carve_slab *s, carve_stats *out)
{
    if (!carve_stats_begin(out)) return;
    out->capacity = s->held;
    for (size_t ci = 0; ci < s->nclasses; ci++) {
        const class_state *c = &s->cls[ci];
        size_t nfree = c->total_blocks - c->used_blocks;
        out->used += c->used_blocks * c->size;
        out->free += nfree * c->size;
        out->free_blocks += nfree;
        if (nfree > 0) out->largest_free = c->size;
        out->allocs += c->allocs;
        out->frees += c->frees;
        out->failed += c->failed;
    }
    out->failed += s->oversize_failed;
    out->requested = s->used_bytes;
    out->peak_requested = s->peak_used;
}

CARVE_API size_t carve_slab_class_count(const carve_slab *s) { return s->nclasses; }

CARVE_API bool carve_slab_class_info(const carve_slab *s, size_t cls, carve_slab_class_stats *out)
{
    if (cls >= s->nclasses) return false;
    const class_state *c = &s->cls[cls];
    *out = (carve_slab_class_stats){.block_size = c->size, .slabs = c->slabs, .empty_slabs = c->empty,
                                    .used_blocks = c->used_blocks,
                                    .free_blocks = c->total_blocks - c->used_blocks,
                                    .allocs = c->allocs, .frees = c->frees, .failed = c->failed};
    return true;
}

CARVE_API size_t carve_slab_peak_footprint(const carve_slab *s) { return s->peak_held; }
