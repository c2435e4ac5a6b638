/*
 * src/malloc/malloc.c: carve's general allocator (carve_malloc and friends).
 *
 * Layers, bottom up:
 *   segment  4 MiB of address space aligned to 4 MiB, taken with carve_os_map. Slice 0 holds the
 *            segment header (page descriptors); slices 1..63 (64 KiB each) hold pages. A pointer's
 *            segment is p & ~(4 MiB - 1), its page descriptor seg->pages[seg->slice_head[slice]]:
 *            O(1). A global byte map (one byte per 4 MiB of the 47-bit address space) says which
 *            chunks are carve's, so a stack or global pointer is rejected without touching it.
 *   page     1..16 contiguous slices holding equal blocks of one size class (small: up to
 *            128 KiB), or one block (large: up to 1 MiB). Three free lists per page, after
 *            mimalloc: `free` (allocate from), `local_free` (frees by the owner thread), `xfree`
 *            (frees by other threads, an atomic stack). The owner swaps them in only when `free`
 *            runs dry, so the fast paths touch one list each and take no lock.
 *   heap     one per thread (initial-exec TLS): per size class a queue of pages with room and a
 *            `current` page (the queue head), a queue of full pages, and the thread's segments.
 *   huge     above 1 MiB: a mapping of its own (header in its first page), cached on free for
 *            CARVE_PURGE_DELAY_MS so that repeated large blocks don't each cost an mmap.
 *
 * A free block (a `block`):
 *     +0  next  ^ list_key    the free-list link (list_key is 0 unless CARVE_SECURE=1)
 *     +8  mark                (uintptr_t)block ^ mark_key while the block is free, 0 in use
 *     ... (secure mode: the last 8 bytes of a small block hold a canary while it is in use)
 *   Traps: the mark is cleared on every allocation, so user data that never writes word 1
 *   cannot look freed; a block smaller than 16 bytes would not hold the mark (the smallest
 *   class is 16). mark_key is random per process, so a live block matches only by a 2^-64
 *   accident; the owner confirms a match by searching its lists before calling it a double free.
 *
 * Invariants (carve_malloc_check verifies them for the calling thread):
 *   - page.used = blocks handed out and not yet collected back (includes blocks in xfree);
 *     used + |free| + |local_free| = capacity <= reserved, for the owner.
 *   - a page is in exactly one queue of its owner: queue[class] (in_full 0) or full (in_full 1);
 *     large pages always sit in `full`.
 *   - heap.current[c] is queue[c]'s head, or the static empty page (never NULL).
 *   - a segment is owned by one heap (seg.heap) or is on the abandoned list (seg.heap 0).
 *   - purged_mask is within free_mask and outside dirty_mask: slices a purge decommitted and
 *     nobody took since (taking them faults them in with one call, populate_purged).
 *   - a segment's free_mask, dirty_mask, aged_mask, purged_mask and purge_at change only under its spin
 *     lock (seg.lock): the owner claims and releases slices under it, a sweep (any thread, see
 *     sweep) decommits free slices under it. The fast paths never take it.
 *   - outside a running sweep, sweep_at is never later than the purge deadline of any segment
 *     or cached huge block, and 0 only when none has one (it may be early: a sweep then finds
 *     nothing due and sets the next deadline).
 *
 * Bounds: malloc/free of a small block is O(1) with no atomic read-modify-write when the block
 * is the calling thread's; a remote free is one CAS. Page refills walk at most the pages of one
 * class queue and the full queue when other threads freed into it. Memory: at most 1/8 of a page
 * is lost to rounding in a small class (4 classes per doubling); free slices are decommitted one
 * to two CARVE_PURGE_DELAY_MS after their release by whichever thread next passes sweep_at in a
 * slow path (there is no background thread).
 */
#include "malloc/malloc_internal.h"
#include "os/os.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define CM_VALGRIND 1
#endif
#endif
#ifndef CM_VALGRIND
#define CM_VALGRIND 0
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_MALLOCLIKE_BLOCK(a, s, r, z) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(a, r)         ((void)0)
#define VALGRIND_RESIZEINPLACE_BLOCK(a, o, n, r) ((void)0)
#define VALGRIND_DISABLE_ERROR_REPORTING      ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING       ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(a, n)      ((void)0)
#endif

/* ---- geometry ---------------------------------------------------------------------------- */
#define SEG_SHIFT   22
#define SEG_SIZE    ((size_t)1 << SEG_SHIFT)
#define SLICE_SHIFT 16
#define SLICE_SIZE  ((size_t)1 << SLICE_SHIFT)
#define SLICES      64
#define SMALL_MAX   ((size_t)128 * 1024)   /* largest size class        */
/* The largest span in a segment: a quarter of it, so that a segment holds three of the largest
 * and spans of 1-2 MiB, which fragmented segments into ones that fresh memory had to serve
 * (`large`: 35.4k -> 33.9k page faults, peak 142 -> 136 MiB), take cached mappings instead. */
#define LARGE_MAX   (SEG_SIZE / 4)
#define NCLASS      48
#define HUGE_HDR    ((size_t)4096)
#define ADDR_BITS   47
#define MAGIC_SHIFT 40
#define ALL_SLICES  (~(uint64_t)1)         /* slices 1..63 */

/* Descriptor kinds. A page spanning several slices uses the descriptor of its first slice; the
 * descriptors of its other slices say PAGE_TAIL, so the free fast path can take the descriptor
 * of a pointer's own slice without looking up slice_head (a tail sends it to the slow path). */
enum { PAGE_FREE = 0, PAGE_SMALL, PAGE_LARGE, PAGE_TAIL };
enum { SEG_NORMAL = 1, SEG_HUGE, SEG_HUGE_CACHED };

typedef struct block { uintptr_t next; uintptr_t mark; } block;

struct heap;

typedef struct page {
    uintptr_t free;          /* encoded list; owner only                                  */
    uintptr_t local_free;    /* encoded list; owner only                                  */
    uintptr_t xfree;         /* encoded atomic stack; any thread pushes, owner takes all  */
    uint32_t used;           /* owner only                                                */
    uint32_t block_size;     /* for large pages: the whole span                           */
    /* Small page with the fast paths on: block_key = m << 24 with m = floor(2^40 / block_size)
     * + 1, block_limit = (capacity * (m * block_size - 2^40)) << 24, atomic (it only grows
     * while the page lives). Else both 0. An offset off in the page is a carved block's start
     * exactly when off * block_key < block_limit (mod 2^64): see small_block_ok. */
    uint64_t block_key, block_limit;
    uint8_t kind, cls, slices, in_full; /* in_full: atomic (remote frees read it)          */
    uint32_t offset;         /* large: user pointer = area + offset (over-aligned blocks);
                                small: bytes carved (capacity * block_size), atomic         */
    uint8_t *area;           /* ---- the fields above are the fast paths': one cache line */
    struct page *prev, *next;
    uint32_t capacity;       /* blocks carved; atomic (locate reads it from any thread)   */
    uint32_t reserved;       /* blocks the page can hold                                  */
    uint8_t released;        /* a free span's head: the kind it had before its span was given
                                back (area, offset, block_size stay), to name double frees */
    uint8_t zeroed;          /* the span was all zero when claimed (slices never written, or
                                decommitted since): calloc of a large block skips the memset */
} __attribute__((aligned(64))) page; /* 128 bytes: descriptors never share a cache line */

_Static_assert(offsetof(page, prev) == 64, "the fast-path fields fill the first cache line");
#define PAGE_SHIFT 7
_Static_assert(sizeof(page) == (size_t)1 << PAGE_SHIFT, "a descriptor's index is a shift away");

typedef struct segment {
    struct heap *heap;       /* atomic; 0 = abandoned (or huge)                           */
    uint32_t kind;
    int lock;                /* spin lock over the masks and purge_at: the owner takes it to
                                claim or release slices, a sweep to decommit free ones    */
    uint64_t free_mask;      /* slices not in a page (written by the owner, under lock)   */
    uint64_t dirty_mask;     /* free slices that may still hold committed memory (lock)   */
    uint64_t aged_mask;      /* dirty slices that were already dirty at the last tick (lock) */
    uint64_t purged_mask;    /* free slices a purge decommitted (lock): taken again, they are
                                faulted in with one call (populate_purged)               */
    uint64_t purge_at;       /* ns deadline of the next purge tick, 0 = none (lock)       */
    uint64_t released_at;    /* ns time of the last page release (owner)                  */
    uint64_t claims_seen;    /* the owner's claims at the last tick (lock)                */
    unsigned deferred;       /* ticks deferred in a row because the owner claimed (lock)  */
    size_t huge_map;         /* huge: bytes mapped                                        */
    uint8_t *huge_user;      /* huge: the block                                           */
    uint64_t huge_freed_at;  /* huge, cached: when it was freed                           */
    struct segment *prev, *next;          /* the owner's list, or the abandoned list */
    struct segment *all_prev, *all_next;  /* every mapping (segs_lock), for stats    */
    uint8_t slice_head[SLICES];
    page pages[SLICES];
} segment;

_Static_assert(sizeof(segment) <= SLICE_SIZE, "the segment header fits slice 0");
_Static_assert(offsetof(segment, slice_head) <= HUGE_HDR, "a huge header fits one OS page");

typedef struct pqueue { page *first, *last; } pqueue;

#define DIRECT_MAX 1024
#define NDIRECT (DIRECT_MAX / 16 + 1)

typedef struct heap {
    page *direct[NDIRECT];   /* sizes up to 1 KiB by (size + 15) / 16: current of its class */
    page *current[NCLASS];
    pqueue queue[NCLASS];
    pqueue full;
    segment *segs;
    int remote_hint;         /* atomic: a full page got a remote free                     */
    uint64_t unmap_at;       /* when an empty segment beyond the spare may be unmapped, 0 none */
    unsigned trim_seen;      /* the trim_epoch this heap last honoured                    */
    uint64_t allocs;         /* owner stores with relaxed atomics; stats read it          */
    struct heap *all_next, *pool_next;
    bool active, listed;
    /* Slices this heap took for new pages, ever (span_alloc; owner stores with relaxed atomics,
     * sweeps read it to see whether the heap is growing into its free slices). Last, and kept
     * when a pooled heap is reused: a sweep may still read it through a segment just abandoned. */
    uint64_t claims;
} heap;

/* ---- globals ----------------------------------------------------------------------------- */
static page empty_page;      /* free == 0: every fast path through it falls to the slow path */
static heap empty_heap = {.direct = {[0 ... NDIRECT - 1] = &empty_page},
                          .current = {[0 ... NCLASS - 1] = &empty_page}};
static __thread heap *tls_heap __attribute__((tls_model("initial-exec"))) = &empty_heap;
/* Re-entrancy guard: set while this thread makes its heap. Nothing called then allocates (mmap,
 * a mutex, getenv); should a future libc change that, the nested call fails with ENOMEM instead
 * of deadlocking on heaps_lock. Key creation and atfork registration, which may allocate, run
 * after tls_heap is set. */
static __thread bool acquiring __attribute__((tls_model("initial-exec")));

/* One byte per 4 MiB chunk: 0 not carve's, 1 a segment, 2 a huge mapping's first chunk, d in
 * 3..254 the chunk d - 2 after it, 255 at least 253 after it (step back and look again). */
static uint8_t chunk_map[(size_t)1 << (ADDR_BITS - SEG_SHIFT)];

static int init_state;       /* cm_once_begin: 0 none, pid running, INIT_DONE */
static int key_state;        /* cm_once_begin: 0 none, pid creating, KEY_READY or KEY_FAILED */
enum { INIT_DONE = -1, KEY_READY = -2, KEY_FAILED = -3 };
static pthread_key_t heap_key;
static uintptr_t list_key, mark_key, canary_key;
static bool slow_mode, secure_mode, tool_mode;
static uint64_t purge_delay_ns;
static int on_error;

static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;   /* all_heaps, heap_pool */
static pthread_mutex_t abandon_lock = PTHREAD_MUTEX_INITIALIZER; /* abandoned           */
static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;    /* huge_cache          */
static pthread_mutex_t segs_lock = PTHREAD_MUTEX_INITIALIZER;    /* all_segs            */
static pthread_mutex_t gone_lock = PTHREAD_MUTEX_INITIALIZER;    /* gone                */
static pthread_mutex_t sweep_lock = PTHREAD_MUTEX_INITIALIZER;   /* one sweep at a time */
/* The earliest purge deadline of any segment or cached huge block (ns, 0 = none): whichever
 * thread passes it in a slow path sweeps them all (see sweep). Atomic. */
static uint64_t sweep_at;
/* Incremented by carve_trim: every heap trims itself at its next slow path. Atomic. */
static unsigned trim_epoch;
static heap *all_heaps, *heap_pool;
static segment *all_segs;
static segment *abandoned;
#define HUGE_CACHE_SLOTS 64
#define HUGE_CACHE_BYTES ((size_t)256 << 20)
static segment *huge_cache[HUGE_CACHE_SLOTS]; /* [0, huge_count), by address (huge_lock) */
static unsigned huge_count;
static size_t huge_cached_bytes;

/* The last blocks whose memory was unmapped when they were freed (huge mappings, a large block
 * that emptied a spare segment), so that a second free of one is named a double free. */
#define GONE_SLOTS 32
static struct { const void *p; size_t usable; } gone[GONE_SLOTS];
static unsigned gone_next;

static uint64_t failed_calls, peak_used, huge_frees; /* atomics */
static size_t segments_live;                        /* atomic  */

/* ---- small helpers ----------------------------------------------------------------------- */
#define RELAXED __ATOMIC_RELAXED
CARVE_INLINE void bump(uint64_t *p, uint64_t v) { __atomic_store_n(p, *p + v, RELAXED); }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

CARVE_INLINE unsigned size_class(size_t s)
{
    if (s <= 128) return s == 0 ? 0u : (unsigned)((s - 1) >> 4);
    unsigned b = carve_log2_floor(s - 1);
    return 8u + (b - 7u) * 4u + (unsigned)(((s - 1) >> (b - 2)) & 3u);
}

static size_t class_size(unsigned c)
{
    if (c < 8) return (size_t)(c + 1) * 16;
    unsigned b = 7 + (c - 8) / 4, sub = (c - 8) % 4;
    return ((size_t)1 << b) + ((size_t)(sub + 1) << (b - 2));
}

/* Slices per page for class c: room for at least 4 blocks, at most 16 slices (1 MiB). Four,
 * not more: a page goes back only when all its blocks are free, so the blocks of the largest
 * classes (up to 128 KiB each) that a program freed would otherwise sit committed in pages that
 * one live block holds (8 blocks: realloc growth 28.4 MiB peak, python 38 MiB, mimalloc 24.6
 * and 34.5; 4 blocks: 20.7 and 31.6). */
static unsigned class_slices(unsigned c)
{
    size_t need = class_size(c) * 4;
    size_t s = (need + SLICE_SIZE - 1) / SLICE_SIZE;
    return s < 1 ? 1u : s > 16 ? 16u : (unsigned)s;
}

CARVE_INLINE block *dec(uintptr_t v) { return (block *)(v ^ list_key); }
CARVE_INLINE uintptr_t enc(block *b) { return (uintptr_t)b ^ list_key; }
CARVE_INLINE uintptr_t mark_of(const void *b) { return (uintptr_t)b ^ mark_key; }

/* ---- the chunk map ------------------------------------------------------------------------ */
/* Write the chunk-map bytes of the bytes from seg on: seg's kind (set first) and distance, or 0. */
static void map_chunks(segment *seg, size_t bytes, bool on)
{
    size_t first = (uintptr_t)seg >> SEG_SHIFT, n = (bytes + SEG_SIZE - 1) >> SEG_SHIFT;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = n == 1 && bytes == SEG_SIZE && seg->kind == SEG_NORMAL ? 1
                    : i + 2 < 255 ? (uint8_t)(i + 2) : 255;
        __atomic_store_n(&chunk_map[first + i], on ? v : 0, RELAXED);
    }
}

/* Put seg on the list of every segment and huge mapping (stats, sweeps), or take it off. */
static void map_list(segment *seg, bool on)
{
    pthread_mutex_lock(&segs_lock);
    if (on) {
        seg->all_prev = NULL;
        seg->all_next = all_segs;
        if (all_segs) all_segs->all_prev = seg;
        all_segs = seg;
    } else {
        if (seg->all_prev) seg->all_prev->all_next = seg->all_next; else all_segs = seg->all_next;
        if (seg->all_next) seg->all_next->all_prev = seg->all_prev;
    }
    pthread_mutex_unlock(&segs_lock);
}

static void map_set(segment *seg, size_t bytes, bool on)
{
    map_chunks(seg, bytes, on);
    map_list(seg, on);
}

/* The segment whose header starts the 4 MiB chunk holding p (for a huge mapping, the chunk
 * where it begins), or NULL when p is not in carve's memory. Never touches p. */
CARVE_INLINE segment *seg_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (CARVE_UNLIKELY(a >> ADDR_BITS)) return NULL;
    size_t i = a >> SEG_SHIFT;
    uint8_t d = __atomic_load_n(&chunk_map[i], RELAXED);
    while (d == 255) {
        if (i < 253) return NULL;
        d = __atomic_load_n(&chunk_map[i -= 253], RELAXED);
    }
    if (d <= 2) return d == 0 ? NULL : (segment *)(i << SEG_SHIFT);
    if (i < (size_t)(d - 2)) return NULL;
    return (segment *)((i - (d - 2)) << SEG_SHIFT);
}

/* ---- misuse ------------------------------------------------------------------------------- */
static void global_init(void);
typedef enum fault { F_DOUBLE, F_FOREIGN, F_INSIDE, F_MISALIGNED, F_CANARY } fault;

/* Report misuse of p by op ("free", "realloc", ...), and apply the policy. Returns only when
 * the policy is warn or ignore: the caller then ignores the call. */
static CARVE_NOINLINE void report(fault f, const char *op, const void *p, size_t bs)
{
    if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != INIT_DONE) global_init();
    if (on_error == CARVE_ON_ERROR_IGNORE) return;
    int saved = errno;
    switch (f) {
    case F_DOUBLE:
        if (strcmp(op, "free") == 0)
            carve_outputf("carve: double free of %p (block of %zu bytes)\n", p, bs);
        else
            carve_outputf("carve: %s of freed pointer %p (block of %zu bytes)\n", op, p, bs);
        break;
    case F_FOREIGN:
        carve_outputf("carve: %s of invalid pointer %p (not allocated by carve)\n", op, p);
        break;
    case F_INSIDE:
        carve_outputf("carve: %s of invalid pointer %p (inside a block of %zu bytes)\n", op, p, bs);
        break;
    case F_MISALIGNED:
        carve_outputf("carve: %s of invalid pointer %p (misaligned)\n", op, p);
        break;
    case F_CANARY:
        carve_outputf("carve: heap overflow past the end of %p (block of %zu bytes, canary "
                      "overwritten)\n", p, bs);
        break;
    }
    errno = saved;
    if (on_error == CARVE_ON_ERROR_ABORT) abort();
}

static void remember_gone(const void *p, size_t usable)
{
    pthread_mutex_lock(&gone_lock);
    gone[gone_next].p = p;
    gone[gone_next].usable = usable;
    gone_next = (gone_next + 1) % GONE_SLOTS;
    pthread_mutex_unlock(&gone_lock);
}

/* The usable size p had when it was freed and unmapped, or 0. */
static size_t gone_usable(const void *p)
{
    size_t us = 0;
    pthread_mutex_lock(&gone_lock);
    for (unsigned i = 0; i < GONE_SLOTS; i++)
        if (gone[i].p == p) us = gone[i].usable;
    pthread_mutex_unlock(&gone_lock);
    return us;
}

/* ---- global initialisation --------------------------------------------------------------- */
static void fork_prepare(void)
{
    pthread_mutex_lock(&sweep_lock);
    pthread_mutex_lock(&heaps_lock);
    pthread_mutex_lock(&abandon_lock);
    pthread_mutex_lock(&huge_lock);
    pthread_mutex_lock(&segs_lock);
    pthread_mutex_lock(&gone_lock);
}
static void fork_parent(void)
{
    pthread_mutex_unlock(&gone_lock);
    pthread_mutex_unlock(&segs_lock);
    pthread_mutex_unlock(&huge_lock);
    pthread_mutex_unlock(&abandon_lock);
    pthread_mutex_unlock(&heaps_lock);
    pthread_mutex_unlock(&sweep_lock);
}
static void fork_child(void)
{
    /* Only this thread lives on: re-initialise the locks the other threads can never release. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    heaps_lock = fresh;
    abandon_lock = fresh;
    huge_lock = fresh;
    segs_lock = fresh;
    gone_lock = fresh;
    sweep_lock = fresh;
    /* a segment lock a vanished thread held (an owner mid-release, a sweep) */
    for (segment *seg = all_segs; seg != NULL; seg = seg->all_next) seg->lock = 0;
}

static void heap_exit(void *arg);

static void global_init(void)
{
    if (!cm_once_begin(&init_state)) return;
    cm_options_init();
    uintptr_t keys[3] = {0, 0, 0};
    if (getrandom(keys, sizeof keys, GRND_NONBLOCK) != (ssize_t)sizeof keys) {
        uint64_t t = now_ns();
        keys[0] = t * 0x9e3779b97f4a7c15ull ^ (uintptr_t)&keys;
        keys[1] = (t ^ (uintptr_t)&init_state) * 0xbf58476d1ce4e5b9ull;
        keys[2] = keys[0] ^ keys[1] * 3;
    }
    secure_mode = cm_option_values[CARVE_OPTION_SECURE] != 0;
    tool_mode = CM_VALGRIND && RUNNING_ON_VALGRIND && cm_option_values[CARVE_OPTION_VALGRIND] != 0;
    slow_mode = secure_mode || tool_mode;
    list_key = secure_mode ? (keys[0] | 1) : 0;
    mark_key = keys[1] | 1;
    canary_key = keys[2];
    purge_delay_ns = (uint64_t)cm_option_values[CARVE_OPTION_PURGE_DELAY_MS] * 1000000u;
    on_error = (int)cm_option_values[CARVE_OPTION_ON_ERROR];
    __atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
}

/* Key creation and atfork registration may allocate, so they run once the calling thread has a
 * heap (a nested malloc then takes the ordinary path). */
static void register_thread_hooks(heap *h)
{
    /* When another thread is creating the key (it holds no carve lock), cm_once_begin waits for
     * it, or this heap would never reach heap_exit and its pages, with every remote free into
     * them, would be stranded when the thread ends. */
    if (cm_once_begin(&key_state)) {
        if (pthread_key_create(&heap_key, heap_exit) == 0) {
            pthread_atfork(fork_prepare, fork_parent, fork_child);
            __atomic_store_n(&key_state, KEY_READY, __ATOMIC_RELEASE);
        } else { /* heaps are then never abandoned */
            __atomic_store_n(&key_state, KEY_FAILED, __ATOMIC_RELEASE);
        }
    }
    if (__atomic_load_n(&key_state, __ATOMIC_ACQUIRE) == KEY_READY) pthread_setspecific(heap_key, h);
}

/* The calling thread's heap, made on first use. NULL only when no memory is left. */
static CARVE_NOINLINE heap *heap_acquire(void)
{
    if (acquiring) return NULL;
    acquiring = true;
    if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != INIT_DONE) global_init();
    pthread_mutex_lock(&heaps_lock);
    heap *h = heap_pool;
    if (h != NULL) {
        heap_pool = h->pool_next;
    } else {
        size_t n = SLICE_SIZE / sizeof(heap);
        heap *fresh = carve_os_map(n * sizeof(heap), 0);
        if (fresh == NULL) {
            pthread_mutex_unlock(&heaps_lock);
            acquiring = false;
            return NULL;
        }
        for (size_t i = 1; i < n; i++) {
            fresh[i].pool_next = heap_pool;
            heap_pool = &fresh[i];
        }
        h = &fresh[0];
    }
    /* A pooled heap keeps its counters and its place in all_heaps: stats sum over every
     * thread that ever ran. Its queues and segments were emptied by heap_exit. */
    bool listed = h->listed;
    heap *all_next = h->all_next;
    uint64_t allocs = h->allocs;
    memset(h, 0, offsetof(heap, claims));
    h->allocs = allocs;
    h->listed = true;
    h->all_next = listed ? all_next : all_heaps;
    if (!listed) all_heaps = h;
    for (unsigned c = 0; c < NCLASS; c++) h->current[c] = &empty_page;
    for (unsigned i = 0; i < NDIRECT; i++) h->direct[i] = &empty_page;
    h->remote_hint = 0;
    h->unmap_at = 0;
    h->trim_seen = __atomic_load_n(&trim_epoch, RELAXED);
    __atomic_store_n(&h->active, true, RELAXED);
    pthread_mutex_unlock(&heaps_lock);
    tls_heap = h;
    acquiring = false;
    register_thread_hooks(h);
    return h;
}

/* ---- page queues --------------------------------------------------------------------------- */
static void q_remove(pqueue *q, page *pg)
{
    if (pg->prev) pg->prev->next = pg->next; else q->first = pg->next;
    if (pg->next) pg->next->prev = pg->prev; else q->last = pg->prev;
    pg->prev = pg->next = NULL;
}
static void q_push_front(pqueue *q, page *pg)
{
    pg->prev = NULL;
    pg->next = q->first;
    if (q->first) q->first->prev = pg; else q->last = pg;
    q->first = pg;
}
static void q_push_back(pqueue *q, page *pg)
{
    pg->next = NULL;
    pg->prev = q->last;
    if (q->last) q->last->next = pg; else q->first = pg;
    q->last = pg;
}
static void sync_current(heap *h, unsigned c)
{
    page *first = h->queue[c].first, *cur = first != NULL && !slow_mode ? first : &empty_page;
    h->current[c] = cur;
    if (class_size(c) > DIRECT_MAX + 15) return;
    size_t lo = c == 0 ? 0 : class_size(c - 1) / 16 + 1, hi = class_size(c) / 16;
    for (size_t i = lo; i <= hi && i < NDIRECT; i++) h->direct[i] = cur;
}

/* ---- segments -------------------------------------------------------------------------------- */
CARVE_INLINE page *page_of(segment *seg, const void *p)
{
    size_t slice = ((uintptr_t)p - (uintptr_t)seg) >> SLICE_SHIFT;
    return &seg->pages[seg->slice_head[slice]];
}

static void verbose_map_failure(size_t bytes)
{
    if (!cm_option_values[CARVE_OPTION_VERBOSE]) return;
    int saved = errno;
    carve_outputf("carve: mapping %zu bytes failed (errno %d)\n", bytes, saved);
    errno = saved;
}

static segment *segment_map(heap *h)
{
    segment *seg = carve_os_map(SEG_SIZE, SEG_SIZE);
    if (seg == NULL) {
        verbose_map_failure(SEG_SIZE);
        return NULL;
    }
    seg->kind = SEG_NORMAL;
    seg->free_mask = ALL_SLICES;
    for (unsigned i = 0; i < SLICES; i++) seg->pages[i].kind = PAGE_FREE;
    __atomic_store_n(&seg->heap, h, RELAXED);
    seg->next = h->segs;
    if (h->segs) h->segs->prev = seg;
    h->segs = seg;
    map_set(seg, SEG_SIZE, true);
    __atomic_add_fetch(&segments_live, 1, RELAXED);
    return seg;
}

static void segment_unmap(heap *h, segment *seg)
{
    if (seg->prev) seg->prev->next = seg->next; else h->segs = seg->next;
    if (seg->next) seg->next->prev = seg->prev;
    map_set(seg, SEG_SIZE, false);
    __atomic_sub_fetch(&segments_live, 1, RELAXED);
    carve_os_unmap(seg, SEG_SIZE);
}

static void seg_lock(segment *seg)
{
    for (unsigned spins = 0; __atomic_exchange_n(&seg->lock, 1, __ATOMIC_ACQUIRE) != 0;)
        if (++spins % 64 == 0) sched_yield(); /* the holder may be in madvise */
}
static void seg_unlock(segment *seg) { __atomic_store_n(&seg->lock, 0, __ATOMIC_RELEASE); }

/* Note a purge deadline (ns): sweep_at becomes the earliest pending one. */
static void sweep_note(uint64_t at)
{
    uint64_t cur = __atomic_load_n(&sweep_at, RELAXED);
    while (at != 0 && (cur == 0 || at < cur) &&
           !__atomic_compare_exchange_n(&sweep_at, &cur, at, true, RELAXED, RELAXED)) {}
}

/* The mask of n slices from slice s. */
static uint64_t slice_bits(unsigned s, unsigned n)
{
    return (n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << s;
}

/* The lowest run of set bits in bits (not 0): its first slice in *s, its length in *n. */
static void lowest_run(uint64_t bits, unsigned *s, unsigned *n)
{
    unsigned e = *s = carve_ctz64(bits);
    while (e < SLICES && (bits >> e & 1)) e++;
    *n = e - *s;
}

/* Slices (bits) of seg that a purge decommitted and that are now taken for a page or a grown
 * block: fault them in with one call per run, not one fault per page (on this project's VMs a
 * fault costs microseconds, and the rss bench refaulted 70k pages a run). Memory never written
 * (fresh from the OS) is left to fault on first touch, so a reservation the program never
 * touches costs no RSS. Best effort: on a kernel without MADV_POPULATE_WRITE nothing happens. */
static void populate_purged(segment *seg, uint64_t bits)
{
    for (unsigned s, n; bits != 0; bits &= ~slice_bits(s, n)) {
        lowest_run(bits, &s, &n);
        carve_os_populate((uint8_t *)seg + (size_t)s * SLICE_SIZE, (size_t)n * SLICE_SIZE);
    }
}

/* Decommit the free slices of seg in mask. Called with seg locked. */
static bool segment_purge(segment *seg, uint64_t mask)
{
    uint64_t d = mask & seg->dirty_mask & seg->free_mask;
    bool any = d != 0;
    __atomic_store_n(&seg->dirty_mask, seg->dirty_mask & ~d, RELAXED); /* span_alloc peeks */
    seg->aged_mask &= ~d;
    for (unsigned s, n; d != 0; d &= ~slice_bits(s, n)) {
        lowest_run(d, &s, &n);
        /* slices that stay committed stay dirty: span_alloc takes a clean slice to read zero */
        if (carve_os_decommit((uint8_t *)seg + (size_t)s * SLICE_SIZE, (size_t)n * SLICE_SIZE) != 0)
            __atomic_store_n(&seg->dirty_mask, seg->dirty_mask | slice_bits(s, n), RELAXED);
        else
            seg->purged_mask |= slice_bits(s, n);
    }
    return any;
}

/* A purge tick of seg (locked): decommit the slices that stayed free since the last tick (free
 * for one to two delays), age the others, and schedule the next tick while any are dirty.
 * When the owner took at least as many slices for new pages since the last tick as seg has
 * aged ones, it is growing into its free memory at a rate that would use them up within a delay
 * (committed slices are taken first): the decommit waits for a later tick, at most MAX_DEFERRED
 * ticks in a row, so that memory freed in a burst is not given back just as the next burst
 * starts (a slice given back and taken again costs a page fault per 4 KiB, 12-17 us each on a
 * paravirtualised machine). A heap that only takes the odd page decommits as before. */
#define MAX_DEFERRED 3
static bool segment_tick(segment *seg, uint64_t now)
{
    heap *owner = __atomic_load_n(&seg->heap, __ATOMIC_ACQUIRE);
    uint64_t claims = owner != NULL ? __atomic_load_n(&owner->claims, RELAXED) : seg->claims_seen;
    unsigned aged = carve_popcount64(seg->aged_mask & seg->dirty_mask & seg->free_mask);
    bool defer = aged != 0 && claims - seg->claims_seen >= aged && seg->deferred < MAX_DEFERRED;
    seg->claims_seen = claims;
    seg->deferred = defer ? seg->deferred + 1 : 0;
    bool any = defer ? false : segment_purge(seg, seg->aged_mask);
    seg->aged_mask = seg->dirty_mask;
    seg->purge_at = seg->dirty_mask != 0 ? now + purge_delay_ns : 0;
    return any;
}

static bool huge_expire(uint64_t now, bool all);
static uint64_t huge_next_expiry(void);

/* Run the purge ticks that are due in every segment of every thread (live, exited or
 * abandoned) and expire the huge cache; force: decommit every free slice and empty the cache.
 * Any thread's slow path runs it once sweep_at has passed, so memory freed by a thread that
 * then goes quiet, or that only churns on its current pages, still goes back to the OS one to
 * two delays after its release. Segment locks make it safe against the owners: they claim and
 * release slices under the same lock, and segs_lock (held throughout) keeps a segment from
 * being unmapped under the sweep. A non-forced sweep gives way when another one runs. */
static bool sweep(uint64_t now, bool force)
{
    if (force) pthread_mutex_lock(&sweep_lock);
    else if (pthread_mutex_trylock(&sweep_lock) != 0) return false;
    /* Cleared first, so that a deadline noted while the sweep runs is kept (sweep_note below
     * only lowers it). */
    __atomic_store_n(&sweep_at, 0, RELAXED);
    bool any = false;
    uint64_t next = 0;
    pthread_mutex_lock(&segs_lock);
    for (segment *seg = all_segs; seg != NULL; seg = seg->all_next) {
        if (__atomic_load_n(&seg->kind, RELAXED) != SEG_NORMAL) continue;
        seg_lock(seg);
        if (force) {
            any |= segment_purge(seg, ~(uint64_t)0);
            seg->purge_at = 0;
        } else if (seg->purge_at != 0 && seg->purge_at <= now) {
            any |= segment_tick(seg, now);
        }
        if (seg->purge_at != 0 && (next == 0 || seg->purge_at < next)) next = seg->purge_at;
        seg_unlock(seg);
    }
    pthread_mutex_unlock(&segs_lock);
    pthread_mutex_lock(&huge_lock);
    any |= huge_expire(now, force);
    uint64_t h = huge_next_expiry();
    pthread_mutex_unlock(&huge_lock);
    if (h != 0 && (next == 0 || h < next)) next = h;
    sweep_note(next);
    pthread_mutex_unlock(&sweep_lock);
    return any;
}

/* Unmap the heap's empty segments beyond one spare once they stayed empty for four delays
 * (all of them when force; an empty segment is reused at once by the next allocations). */
static bool heap_unmap_empty(heap *h, uint64_t now, bool force)
{
    uint64_t next = 0;
    bool any = false, spare = false;
    segment *seg = h->segs;
    while (seg != NULL) {
        segment *after = seg->next;
        if (seg->free_mask == ALL_SLICES) {
            uint64_t unmap_at = seg->released_at + 4 * purge_delay_ns;
            if (force || (spare && unmap_at <= now)) {
                segment_unmap(h, seg);
                any = true;
            } else if (spare && (next == 0 || unmap_at < next)) {
                next = unmap_at;
            }
            spare = true;
        }
        seg = after;
    }
    h->unmap_at = next;
    return any;
}

/* Unmap all of h's empty segments and decommit every free slice of the others. */
static bool heap_purge_all(heap *h)
{
    bool any = heap_unmap_empty(h, 0, true);
    for (segment *seg = h->segs; seg != NULL; seg = seg->next) {
        seg_lock(seg);
        any |= segment_purge(seg, ~(uint64_t)0);
        seg_unlock(seg);
    }
    return any;
}

static bool heap_trim(heap *h);

/* The deadline check of the slow paths: cheap unless a purge, an unmap or a trim is pending,
 * and then it reads the clock (vDSO). */
static CARVE_NOINLINE void maintain_slow(heap *h)
{
    unsigned epoch = __atomic_load_n(&trim_epoch, RELAXED);
    int saved = errno; /* free keeps errno; malloc need not, but should not surprise */
    if (epoch != h->trim_seen) {
        h->trim_seen = epoch;
        heap_trim(h);
    } else {
        uint64_t now = now_ns(), g = __atomic_load_n(&sweep_at, RELAXED);
        if (h->unmap_at != 0 && h->unmap_at <= now) heap_unmap_empty(h, now, false);
        if (g != 0 && g <= now) sweep(now, false);
    }
    errno = saved;
}

CARVE_INLINE void maintain(heap *h)
{
    if (h->unmap_at != 0 || __atomic_load_n(&sweep_at, RELAXED) != 0 ||
        __atomic_load_n(&trim_epoch, RELAXED) != h->trim_seen)
        maintain_slow(h);
}

/* CARVE_SECURE=1: the last OS page of every span is a guard page (PROT_NONE). */
static size_t guard_bytes(void) { return secure_mode ? carve_os_page_size() : 0; }

/* A run of n free slices in seg (n >= 1), or -1. */
static int find_run(uint64_t free_mask, unsigned n)
{
    uint64_t run = free_mask;
    for (unsigned k = 1; k < n && run != 0; k++) run &= free_mask >> k;
    return run == 0 ? -1 : (int)carve_ctz64(run);
}

static heap *reclaim_one(heap *h);

/* A fresh page descriptor spanning n slices, owned by h. NULL when no memory is left.
 * populate: fault in the slices a purge decommitted (populate_purged); for small-class pages,
 * whose blocks carve hands out before it takes another page, not for large blocks, which a
 * program (a calloc of a sparse table) may never touch. */
static page *span_alloc(heap *h, unsigned n, bool populate)
{
    for (int attempt = 0;; attempt++) {
        /* First pass: slices that are still committed (dirty), so that freed memory is reused
         * before untouched memory is touched; second pass: any free slices. */
        for (int pass = 0; pass < 2; pass++)
        for (segment *seg = h->segs; seg != NULL; seg = seg->next) {
            /* free_mask is ours; dirty_mask, which a sweep may lower meanwhile, only steers */
            uint64_t dirty = __atomic_load_n(&seg->dirty_mask, RELAXED);
            int s = find_run(pass == 0 ? seg->free_mask & dirty : seg->free_mask, n);
            if (s < 0) continue;
            __atomic_store_n(&h->claims, h->claims + n, RELAXED);
            uint64_t bits = slice_bits((unsigned)s, n);
            seg_lock(seg);
            /* a free slice that is not dirty was never written or was decommitted: zero */
            bool zeroed = (seg->dirty_mask & bits) == 0;
            seg->free_mask &= ~bits;
            __atomic_store_n(&seg->dirty_mask, seg->dirty_mask & ~bits, RELAXED);
            seg->aged_mask &= ~bits;
            uint64_t purged = seg->purged_mask & bits;
            seg->purged_mask &= ~bits;
            seg_unlock(seg);
            if (populate) populate_purged(seg, purged);
            for (unsigned i = 0; i < n; i++) {
                seg->slice_head[s + i] = (uint8_t)s;
                if (i > 0) seg->pages[s + i].kind = PAGE_TAIL;
            }
            page *pg = &seg->pages[s];
            memset(pg, 0, sizeof *pg);
            pg->zeroed = zeroed;
            pg->slices = (uint8_t)n;
            pg->area = (uint8_t *)seg + (size_t)s * SLICE_SIZE;
            if (secure_mode) /* best effort: without it the span merely has no guard */
                carve_os_protect_none(pg->area + (size_t)n * SLICE_SIZE - guard_bytes(), guard_bytes());
            return pg;
        }
        if (attempt == 0 && reclaim_one(h) != NULL) continue;
        if (segment_map(h) == NULL) return NULL;
    }
}

/* Give pg's slices back to its segment. may_unmap: a segment left empty is unmapped when the
 * heap has another empty one (callers that walk a segment's pages pass false). */
static void span_free(heap *h, page *pg, bool may_unmap)
{
    segment *seg = (segment *)((uintptr_t)pg->area & ~(SEG_SIZE - 1));
    unsigned s = (unsigned)(((uintptr_t)pg->area - (uintptr_t)seg) >> SLICE_SHIFT), n = pg->slices;
    uint64_t bits = slice_bits(s, n);
    pg->released = pg->kind;
    /* before anything else may reuse the slices: the free fast path keys on these */
    pg->block_key = 0;
    __atomic_store_n(&pg->block_limit, 0, RELAXED);
    for (unsigned i = 0; i < n; i++) seg->pages[s + i].kind = PAGE_FREE;
    __atomic_store_n(&pg->capacity, 0, RELAXED);
    if (secure_mode) carve_os_protect_rw(pg->area + (size_t)n * SLICE_SIZE - guard_bytes(), guard_bytes());
    uint64_t now = purge_delay_ns == 0 ? 0 : now_ns(), note = 0;
    seg_lock(seg);
    seg->free_mask |= bits;
    __atomic_store_n(&seg->dirty_mask, seg->dirty_mask | bits, RELAXED);
    if (purge_delay_ns == 0) {
        segment_purge(seg, bits);
    } else if (seg->purge_at == 0) {
        /* Ticks every delay while dirty slices remain: a slice is decommitted once it stayed
         * free through a whole tick interval, so memory reused soon after its release (a
         * free-all phase followed by an allocation phase) is not decommitted in between. */
        seg->purge_at = note = now + purge_delay_ns;
    }
    seg_unlock(seg);
    sweep_note(note);
    seg->released_at = now;
    if (now != 0 && seg->free_mask == ALL_SLICES) { /* empty: may be unmapped in 4 delays */
        uint64_t at = now + 4 * purge_delay_ns;
        if (h->unmap_at == 0 || at < h->unmap_at) h->unmap_at = at;
    }
    if (may_unmap && purge_delay_ns == 0 && seg->free_mask == ALL_SLICES) {
        for (segment *other = h->segs; other != NULL; other = other->next) {
            if (other != seg && other->free_mask == ALL_SLICES) { /* keep one spare only */
                if (pg->released == PAGE_LARGE)
                    remember_gone(pg->area + pg->offset, pg->block_size - pg->offset);
                segment_unmap(h, seg);
                return;
            }
        }
    }
}

/* ---- pages ------------------------------------------------------------------------------------ */
static void page_release(heap *h, page *pg, bool may_unmap)
{
    q_remove(pg->in_full ? &h->full : &h->queue[pg->cls], pg);
    if (pg->kind == PAGE_SMALL) sync_current(h, pg->cls);
    span_free(h, pg, may_unmap);
}

/* Thread a few more blocks of pg into its (empty) free list: 4 KiB of them (at least 8) while
 * the span is fresh, so that memory a program never uses is never touched, and 16 KiB when it
 * was written before (already committed), so that a page reused after a release needs a
 * quarter of the refills. */
static void page_extend(page *pg)
{
    uint32_t cap = pg->capacity, bs = pg->block_size, chunk = pg->zeroed ? 4096 : 16384;
    uint32_t n = chunk / bs < 8 ? 8 : chunk / bs;
    if (n > pg->reserved - cap) n = pg->reserved - cap;
    uint8_t *first = pg->area + (size_t)cap * bs;
    for (uint32_t i = 0; i < n; i++) {
        block *b = (block *)(first + (size_t)i * bs);
        b->next = i + 1 < n ? enc((block *)((uint8_t *)b + bs)) : enc(NULL);
        b->mark = mark_of(b);
    }
    pg->free = enc((block *)first);
    __atomic_store_n(&pg->capacity, cap + n, RELAXED);
    __atomic_store_n(&pg->offset, (cap + n) * bs, RELAXED);
    uint64_t m = pg->block_key >> (64 - MAGIC_SHIFT), excess = m * bs - ((uint64_t)1 << MAGIC_SHIFT);
    __atomic_store_n(&pg->block_limit, m == 0 ? 0 : ((cap + n) * excess) << (64 - MAGIC_SHIFT), RELAXED);
}

static void page_collect(page *pg);

/* Move local and remote frees into pg->free, which may hold blocks already. */
static void page_collect_all(page *pg)
{
    uintptr_t keep = pg->free;
    pg->free = enc(NULL);
    page_collect(pg);
    if (keep == enc(NULL)) return;
    block *t = dec(keep);
    while (t->next != enc(NULL)) t = dec(t->next);
    t->next = pg->free;
    pg->free = keep;
}

/* Move local and remote frees into pg->free (which must be empty). */
static void page_collect(page *pg)
{
    if (pg->local_free != enc(NULL)) {
        pg->free = pg->local_free;
        pg->local_free = enc(NULL);
    }
    if (__atomic_load_n(&pg->xfree, RELAXED) == enc(NULL)) return;
    uintptr_t xs = __atomic_exchange_n(&pg->xfree, enc(NULL), __ATOMIC_ACQUIRE);
    uint32_t n = 1;
    block *tail = dec(xs);
    while (tail->next != enc(NULL)) {
        tail = dec(tail->next);
        if (++n > pg->used) { /* a cycle: the same block was pushed twice */
            report(F_DOUBLE, "free", tail, pg->block_size);
            tail->next = enc(NULL);
            n = pg->used;
            break;
        }
    }
    tail->next = pg->free;
    pg->free = xs;
    pg->used -= n;
}

static page *page_new_small(heap *h, unsigned c)
{
    page *pg = span_alloc(h, class_slices(c), true);
    if (pg == NULL) return NULL;
    size_t bs = class_size(c);
    pg->kind = PAGE_SMALL;
    pg->cls = (uint8_t)c;
    pg->block_size = (uint32_t)bs;
    pg->reserved = (uint32_t)(((size_t)pg->slices * SLICE_SIZE - guard_bytes()) / bs);
    /* 0 in slow mode: then every free fails the fast check and takes the checked path */
    pg->block_key = slow_mode ? 0 : ((((uint64_t)1 << MAGIC_SHIFT) / bs) + 1) << (64 - MAGIC_SHIFT);
    pg->free = pg->local_free = pg->xfree = enc(NULL);
    q_push_front(&h->queue[c], pg);
    sync_current(h, c);
    return pg;
}

/* pg has no free block: file it as full. Returns false when remote frees arrived meanwhile
 * (then they were collected and pg stays where it is). */
static bool page_to_full(heap *h, page *pg)
{
    __atomic_store_n(&pg->in_full, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&pg->xfree, __ATOMIC_SEQ_CST) != enc(NULL)) {
        __atomic_store_n(&pg->in_full, 0, RELAXED);
        page_collect(pg);
        return false;
    }
    q_remove(&h->queue[pg->cls], pg);
    q_push_back(&h->full, pg);
    sync_current(h, pg->cls);
    return true;
}

/* pg, full until now, got a free block: file it at the end of its class queue (after mimalloc),
 * not the front. It then gathers more frees while the pages before it are used up; at the front
 * it would become the current page with one block, and the next malloc would take the slow path
 * to file it as full again (half of all mallocs in the churn benchmark did). */
static void page_from_full(heap *h, page *pg)
{
    q_remove(&h->full, pg);
    __atomic_store_n(&pg->in_full, 0, RELAXED);
    pqueue *q = &h->queue[pg->cls];
    q_push_back(q, pg);
    if (q->first == pg) sync_current(h, pg->cls);
}

/* Collect the remote frees of full pages; pages with room go back to their queues. */
static void heap_collect_full(heap *h)
{
    page *pg = h->full.first;
    while (pg != NULL) {
        page *after = pg->next;
        if (__atomic_load_n(&pg->xfree, RELAXED) != enc(NULL)) {
            page_collect(pg);
            if (pg->used == 0) page_release(h, pg, true);
            else if (pg->kind == PAGE_SMALL) page_from_full(h, pg);
        }
        pg = after;
    }
}

/* A page of class c with a free block, or NULL (out of memory). */
static page *find_page(heap *h, unsigned c)
{
    maintain(h);
    if (__atomic_load_n(&h->remote_hint, RELAXED) &&
        __atomic_exchange_n(&h->remote_hint, 0, __ATOMIC_ACQUIRE))
        heap_collect_full(h);
    page *pg = h->queue[c].first;
    while (pg != NULL) {
        page *after = pg->next;
        if (pg->free == enc(NULL)) page_collect(pg);
        if (pg->free == enc(NULL) && pg->capacity < pg->reserved) page_extend(pg);
        if (pg->free != enc(NULL)) {
            if (pg != h->queue[c].first) {
                q_remove(&h->queue[c], pg);
                q_push_front(&h->queue[c], pg);
                sync_current(h, c);
            }
            return pg;
        }
        page_to_full(h, pg);
        if (pg->free != enc(NULL)) return pg; /* remote frees arrived while filing it */
        pg = after;
    }
    pg = page_new_small(h, c);
    if (pg != NULL) page_extend(pg);
    return pg;
}

/* The fast paths run only when slow_mode is off, and secure mode (the only one with a list key)
 * turns it on: there the lists hold plain pointers. */
CARVE_INLINE block *page_pop_plain(heap *h, page *pg)
{
    block *b = (block *)pg->free;
    pg->free = b->next;
    b->mark = 0;
    __atomic_store_n(&pg->used, pg->used + 1, RELAXED);
    bump(&h->allocs, 1);
    return b;
}

CARVE_INLINE block *page_pop(heap *h, page *pg)
{
    block *b = dec(pg->free);
    pg->free = b->next;
    b->mark = 0;
    __atomic_store_n(&pg->used, pg->used + 1, RELAXED);
    bump(&h->allocs, 1);
    return b;
}

/* ---- large and huge ------------------------------------------------------------------------ */
static void *large_alloc(heap *h, size_t size, size_t align)
{
    size_t extra = align > SLICE_SIZE ? align - SLICE_SIZE : 0;
    size_t n = (size + extra + guard_bytes() + SLICE_SIZE - 1) >> SLICE_SHIFT;
    if (n > SLICES - 1) return NULL;
    if (__atomic_load_n(&h->remote_hint, RELAXED) &&
        __atomic_exchange_n(&h->remote_hint, 0, __ATOMIC_ACQUIRE))
        heap_collect_full(h); /* large blocks other threads freed: their spans come back */
    maintain(h);
    page *pg = span_alloc(h, (unsigned)n, false);
    if (pg == NULL) return NULL;
    uintptr_t user = carve_align_up_ptr((uintptr_t)pg->area, align < 16 ? 16 : align);
    pg->kind = PAGE_LARGE;
    pg->offset = (uint32_t)(user - (uintptr_t)pg->area);
    pg->block_size = (uint32_t)(n * SLICE_SIZE - guard_bytes());
    pg->reserved = 1;
    __atomic_store_n(&pg->capacity, 1, RELAXED);
    pg->used = 1;
    pg->free = pg->local_free = pg->xfree = enc(NULL);
    __atomic_store_n(&pg->in_full, 1, __ATOMIC_SEQ_CST); /* remote frees of its last incarnation may still read it */
    q_push_back(&h->full, pg);
    ((block *)user)->mark = 0;
    bump(&h->allocs, 1);
    return (void *)user;
}

static size_t large_usable(const page *pg) { return pg->block_size - pg->offset; }

static size_t huge_usable(const segment *seg);

/*
 * The huge cache. A huge block is a mapping's worth of whole 4 MiB chunks (the last one may end
 * early, at a page): its header (the segment fields before slice_head) in its first page, the
 * block at +max(4 KiB, align), in secure mode a guard page as its last page. A freed block's
 * range is cached with its pages committed, so that the next huge blocks are made of memory that
 * is already there: on a paravirtualised machine every page fault, every page moved by mremap
 * and every page given back with madvise costs 5-15 us (docs/malloc.md, Large blocks), while a
 * page that stays mapped costs nothing to reuse.
 *
 *   huge_cache[0 .. huge_count), sorted by address; adjacent ranges form runs:
 *       [ A 4M ][ B 8M ]   ...   [ C 12M              ]
 *   malloc(9 MiB): the run with the smallest cover that holds it, A+B (12M < C's 12M? equal: the
 *   first), takes A whole and B's head; the block's end is rounded up to a chunk, so B's tail,
 *   if any, stays cached as a range of its own (its own header, same freed time):
 *       [ block 12M    ]               [ C 12M              ]
 *
 * Each cached range keeps its header: kind SEG_HUGE_CACHED, huge_map its length, huge_freed_at
 * (when its memory was freed; a split-off tail keeps its range's), huge_user the block it held
 * (NULL for a tail, which never was one), so that a second free of that block is named. Chunk
 * map and the list of mappings follow every split and join (under huge_lock, then segs_lock).
 *
 * When nothing holds a request, the largest run is extended in place: the missing part is mapped
 * right below it (or right after it) with MAP_FIXED_NOREPLACE, so only that part faults in; a
 * fresh mapping is the last resort. Bounds: at most HUGE_CACHE_SLOTS ranges and
 * HUGE_CACHE_BYTES in all (a free into a full cache evicts the oldest ranges), and no range is
 * kept longer than one CARVE_PURGE_DELAY_MS after its free: every huge alloc and free, and every
 * sweep, unmaps the ranges past it; carve_trim unmaps all. Secure mode takes whole ranges only
 * (best fit wasting at most half) and never extends, so that its guard page stays the last page
 * of every block.
 */

/* Unmap a huge mapping (a freed block's, or a cached range). */
static void huge_unmap(segment *seg)
{
    if (seg->huge_user != NULL) remember_gone(seg->huge_user, huge_usable(seg));
    map_set(seg, seg->huge_map, false);
    __atomic_sub_fetch(&segments_live, 1, RELAXED);
    carve_os_unmap(seg, seg->huge_map);
}

static uint8_t *range_end(const segment *seg) { return (uint8_t *)seg + seg->huge_map; }

/* Take entries [i, j] out of the cache array (not unmapped). huge_lock held. */
static void cache_remove(unsigned i, unsigned j)
{
    for (unsigned k = i; k <= j; k++) huge_cached_bytes -= huge_cache[k]->huge_map;
    memmove(&huge_cache[i], &huge_cache[j + 1], (huge_count - j - 1) * sizeof huge_cache[0]);
    huge_count -= j - i + 1;
}

/* Put seg in the cache array, in address order (a slot must be free). huge_lock held. */
static void cache_insert(segment *seg)
{
    unsigned i = huge_count;
    while (i > 0 && (uintptr_t)huge_cache[i - 1] > (uintptr_t)seg) i--;
    memmove(&huge_cache[i + 1], &huge_cache[i], (huge_count - i) * sizeof huge_cache[0]);
    huge_cache[i] = seg;
    huge_count++;
    huge_cached_bytes += seg->huge_map;
}

/* Unmap the cached ranges freed a delay or more before now (all of them when all). Called
 * with huge_lock held. True when any was unmapped. */
static bool huge_expire(uint64_t now, bool all)
{
    bool any = false;
    for (unsigned i = 0; i < huge_count;) {
        segment *seg = huge_cache[i];
        if (!all && now - seg->huge_freed_at < purge_delay_ns) {
            i++;
            continue;
        }
        cache_remove(i, i);
        huge_unmap(seg);
        any = true;
    }
    return any;
}

/* When the oldest cached range expires (ns), or 0 when the cache is empty. huge_lock held. */
static uint64_t huge_next_expiry(void)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < huge_count; i++) {
        uint64_t at = huge_cache[i]->huge_freed_at + purge_delay_ns;
        if (next == 0 || at < next) next = at;
    }
    return next;
}

/* Cache entries [i, j], a run of adjacent ranges, become one huge block's mapping of bytes (at
 * most their length; the last range's part beyond it, when bytes leaves one, is split off and
 * stays cached). Returns the mapping, its header the first range's. huge_lock held. */
static segment *cache_take(unsigned i, unsigned j, size_t bytes)
{
    segment *head = huge_cache[i], *last = huge_cache[j];
    uint8_t *end = range_end(last);
    uint64_t last_freed = last->huge_freed_at;
    cache_remove(i, j);
    /* the joined ranges' headers become block bytes: off the list first */
    for (uint8_t *at = range_end(head); at < end; at = range_end((segment *)at)) {
        map_list((segment *)at, false);
        __atomic_sub_fetch(&segments_live, 1, RELAXED);
    }
    if (bytes < (size_t)(end - (uint8_t *)head)) {
        segment *tail = (segment *)((uint8_t *)head + bytes);
        tail->kind = SEG_HUGE_CACHED;
        tail->huge_map = (size_t)(end - (uint8_t *)tail);
        tail->huge_user = NULL;
        tail->huge_freed_at = last_freed;
        map_set(tail, tail->huge_map, true);
        __atomic_add_fetch(&segments_live, 1, RELAXED);
        cache_insert(tail);
    } else {
        bytes = (size_t)(end - (uint8_t *)head);
    }
    head->huge_map = bytes;
    __atomic_store_n(&head->kind, SEG_HUGE, RELAXED); /* a block now (sweeps and stats read it) */
    map_chunks(head, bytes, true);
    return head;
}

/* A cached range (or run of adjacent ranges) for a mapping of total bytes aligned to
 * map_align, or NULL. huge_lock held. */
static segment *huge_from_cache(size_t total, size_t map_align)
{
    unsigned best = HUGE_CACHE_SLOTS, best_last = 0;
    size_t best_cover = 0;
    for (unsigned i = 0; i < huge_count; i++) {
        segment *c = huge_cache[i];
        if (((uintptr_t)c & (map_align - 1)) != 0) continue;
        if (secure_mode) { /* whole ranges only, best fit wasting at most half */
            if (c->huge_map >= total && c->huge_map - total <= total &&
                (best == HUGE_CACHE_SLOTS || c->huge_map < best_cover))
                best = best_last = i, best_cover = c->huge_map;
            continue;
        }
        size_t cover = c->huge_map;
        unsigned j = i;
        while (cover < total && j + 1 < huge_count && (uint8_t *)huge_cache[j + 1] == range_end(huge_cache[j]))
            cover += huge_cache[++j]->huge_map;
        if (cover >= total && (best == HUGE_CACHE_SLOTS || cover < best_cover))
            best = i, best_last = j, best_cover = cover;
    }
    if (best == HUGE_CACHE_SLOTS) return NULL;
    size_t bytes = secure_mode ? best_cover : carve_align_up(total, SEG_SIZE);
    return cache_take(best, best_last, bytes);
}

/* Grow the cached run [i, j] in place to a mapping of total bytes aligned to map_align: map
 * the missing part right below it, or right after it (either may be taken). NULL when neither
 * could be mapped. *used_lo, *used_hi: the run's old bounds (and the new part's header when it
 * goes after): the only part of the result that may hold nonzero bytes, the rest is fresh from
 * the OS. huge_lock held. */
static segment *run_extend(unsigned i, unsigned j, size_t total, size_t map_align,
                           uint8_t **used_lo, uint8_t **used_hi)
{
    uint8_t *start = (uint8_t *)huge_cache[i], *end = range_end(huge_cache[j]);
    *used_lo = start;
    *used_hi = end;
    size_t len = (size_t)(end - start);
    uintptr_t below = ((uintptr_t)start - (total - len)) & ~(uintptr_t)(map_align - 1);
    segment *seg = NULL;
    if (below < (uintptr_t)start && below != 0 &&
        carve_os_map_at((void *)below, (uintptr_t)start - below) == 0) {
        seg = (segment *)below; /* cache_insert puts it at i, just below the run */
        seg->huge_map = (size_t)((uintptr_t)start - below);
    } else if (((uintptr_t)start & (map_align - 1)) == 0 &&
               carve_os_map_at(end, carve_align_up(total - len, carve_os_page_size())) == 0) {
        seg = (segment *)end; /* at j + 1, just after it */
        seg->huge_map = carve_align_up(total - len, carve_os_page_size());
        *used_hi = end + HUGE_HDR; /* the header written below lands inside the joined block */
    } else {
        return NULL;
    }
    seg->kind = SEG_HUGE_CACHED;
    seg->huge_user = NULL;
    seg->huge_freed_at = huge_cache[i]->huge_freed_at; /* nonzero: the block holds used memory */
    map_list(seg, true);
    __atomic_add_fetch(&segments_live, 1, RELAXED);
    cache_insert(seg);
    return cache_take(i, j + 1, (size_t)-1);
}

/* When no cached run holds total bytes: extend one of the two longest (longest first), so that
 * only the missing part faults in. NULL when none could be extended. huge_lock held. */
static segment *huge_extend(size_t total, size_t map_align, uint8_t **used_lo, uint8_t **used_hi)
{
    unsigned first[2] = {HUGE_CACHE_SLOTS, HUGE_CACHE_SLOTS}, last[2] = {0, 0};
    size_t len[2] = {0, 0};
    for (unsigned i = 0; i < huge_count;) {
        unsigned j = i;
        while (j + 1 < huge_count && (uint8_t *)huge_cache[j + 1] == range_end(huge_cache[j])) j++;
        size_t l = (size_t)(range_end(huge_cache[j]) - (uint8_t *)huge_cache[i]);
        if (l < total && l > len[1]) {
            unsigned k = l > len[0] ? 0 : 1;
            if (k == 0) first[1] = first[0], last[1] = last[0], len[1] = len[0];
            first[k] = i, last[k] = j, len[k] = l;
        }
        i = j + 1;
    }
    for (unsigned k = 0; k < 2 && first[k] < HUGE_CACHE_SLOTS; k++) {
        segment *seg = run_extend(first[k], last[k], total, map_align, used_lo, used_hi);
        if (seg != NULL) return seg;
    }
    return NULL;
}

/* Make n bytes at p read as zero. Up to 32 MiB by writing them; beyond, the whole pages are
 * given back (MADV_DONTNEED: they read as zero and refault on touch), so that calloc of a
 * big cached range whose pages the last user never touched does not make them all resident
 * (the fuzzer's multi-gigabyte callocs ran out of memory that way). */
static void huge_zero(uint8_t *p, size_t n)
{
    size_t ps = carve_os_page_size();
    uint8_t *a = (uint8_t *)carve_align_up((uintptr_t)p, ps);
    uint8_t *b = (uint8_t *)((uintptr_t)(p + n) & ~(uintptr_t)(ps - 1));
    if (n > ((size_t)32 << 20) && a < b && carve_os_decommit(a, (size_t)(b - a)) == 0) {
        memset(p, 0, (size_t)(a - p));
        memset(b, 0, (size_t)(p + n - b));
        return;
    }
    memset(p, 0, n);
}

/* A block of size bytes in a mapping of its own. zero: the block reads as zero (calloc); only
 * the part that came from cached ranges is cleared, fresh pages are zero already (a calloc that
 * extends a small cached range by gigabytes must not write them all). */
static void *huge_alloc(heap *h, size_t size, size_t align, bool zero)
{
    size_t hdr = (align > HUGE_HDR ? align : HUGE_HDR) + guard_bytes(), total;
    if (carve_add_overflow(size, hdr, &total) || !carve_align_up_checked(total, 4096, &total) ||
        total > ((size_t)1 << ADDR_BITS))
        return NULL;
    size_t map_align = align > SEG_SIZE ? align : SEG_SIZE;
    uint8_t *used_lo = NULL, *used_hi = NULL; /* the part of the mapping that may not be zero */
    pthread_mutex_lock(&huge_lock);
    segment *seg = huge_from_cache(total, map_align);
    if (seg != NULL) used_lo = (uint8_t *)seg, used_hi = range_end(seg);
    else if (!secure_mode) seg = huge_extend(total, map_align, &used_lo, &used_hi);
    if (seg != NULL) seg->huge_user = (uint8_t *)seg + hdr - guard_bytes();
    huge_expire(now_ns(), false);
    pthread_mutex_unlock(&huge_lock);
    if (seg != NULL && zero) {
        uint8_t *lo = seg->huge_user > used_lo ? seg->huge_user : used_lo;
        uint8_t *hi = seg->huge_user + size < used_hi ? seg->huge_user + size : used_hi;
        if (lo < hi) huge_zero(lo, (size_t)(hi - lo));
    }
    if (seg == NULL) {
        seg = carve_os_map(total, map_align);
        if (seg == NULL) {
            verbose_map_failure(total);
            return NULL;
        }
        seg->huge_map = carve_align_up(total, carve_os_page_size());
        seg->kind = SEG_HUGE;
        seg->huge_user = (uint8_t *)seg + hdr - guard_bytes();
        if (secure_mode) /* best effort, as for spans */
            carve_os_protect_none((uint8_t *)seg + seg->huge_map - guard_bytes(), guard_bytes());
        map_set(seg, seg->huge_map, true);
        __atomic_add_fetch(&segments_live, 1, RELAXED);
    }
    ((block *)seg->huge_user)->mark = 0;
    bump(&h->allocs, 1);
    return seg->huge_user;
}

/* The bytes from the block to the end of its mapping, less the guard page (secure mode: the
 * mapping's last page); 0 for a cached range that never was a block. */
static size_t huge_usable(const segment *seg)
{
    if (seg->huge_user == NULL) return 0;
    return seg->huge_map - (size_t)(seg->huge_user - (const uint8_t *)seg) - guard_bytes();
}

/* Cache seg's range for reuse; when the cache is full (slots or bytes), the oldest ranges make
 * room (a program's working set of large blocks moves on, its old sizes are the least likely
 * to come back). */
static void huge_free(segment *seg)
{
    __atomic_add_fetch(&huge_frees, 1, RELAXED);
    pthread_mutex_lock(&huge_lock);
    seg->huge_freed_at = now_ns();
    huge_expire(seg->huge_freed_at, false);
    if (purge_delay_ns != 0 && seg->huge_map <= HUGE_CACHE_BYTES / 4) {
        while (huge_count == HUGE_CACHE_SLOTS || huge_cached_bytes + seg->huge_map > HUGE_CACHE_BYTES) {
            unsigned oldest = 0;
            for (unsigned i = 1; i < huge_count; i++)
                if (huge_cache[i]->huge_freed_at < huge_cache[oldest]->huge_freed_at) oldest = i;
            segment *evicted = huge_cache[oldest];
            cache_remove(oldest, oldest);
            huge_unmap(evicted);
        }
        __atomic_store_n(&seg->kind, SEG_HUGE_CACHED, RELAXED);
        cache_insert(seg);
        sweep_note(seg->huge_freed_at + purge_delay_ns); /* expired by a later sweep */
    } else {
        huge_unmap(seg);
    }
    pthread_mutex_unlock(&huge_lock);
}

/* ---- abandon and reclaim ------------------------------------------------------------------- */
static void heap_exit(void *arg)
{
    heap *h = arg;
    if (h == NULL || h == &empty_heap) return;
    int saved = errno;
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING; /* it walks free lists */
    for (unsigned c = 0; c <= NCLASS; c++) {
        pqueue *q = c < NCLASS ? &h->queue[c] : &h->full;
        page *pg = q->first;
        while (pg != NULL) {
            page *after = pg->next;
            page_collect_all(pg);
            if (pg->used == 0) page_release(h, pg, false);
            pg = after;
        }
    }
    /* Empty segments beyond one spare go back at once; the free slices keep their purge
     * deadlines (a sweep decommits them), so that a thread that adopts the segments soon, as a
     * successor thread does, reuses committed memory instead of faulting it back in (larson:
     * 21k page faults against mimalloc's 8k when this decommitted everything). */
    heap_unmap_empty(h, UINT64_MAX, false);
    pthread_mutex_lock(&abandon_lock);
    while (h->segs != NULL) {
        segment *seg = h->segs;
        h->segs = seg->next;
        __atomic_store_n(&seg->heap, NULL, __ATOMIC_RELEASE);
        seg->prev = NULL;
        seg->next = abandoned;
        if (abandoned) abandoned->prev = seg;
        __atomic_store_n(&abandoned, seg, RELAXED);
    }
    pthread_mutex_unlock(&abandon_lock);
    tls_heap = &empty_heap;
    pthread_mutex_lock(&heaps_lock);
    __atomic_store_n(&h->active, false, RELAXED);
    h->pool_next = heap_pool;
    heap_pool = h;
    pthread_mutex_unlock(&heaps_lock);
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
    errno = saved;
}

/* Adopt one abandoned segment and its pages. Returns h, or NULL when none was abandoned. */
static heap *reclaim_one(heap *h)
{
    if (__atomic_load_n(&abandoned, RELAXED) == NULL) return NULL;
    pthread_mutex_lock(&abandon_lock);
    segment *seg = abandoned;
    if (seg != NULL) {
        __atomic_store_n(&abandoned, seg->next, RELAXED);
        if (abandoned) abandoned->prev = NULL;
    }
    pthread_mutex_unlock(&abandon_lock);
    if (seg == NULL) return NULL;
    __atomic_store_n(&seg->heap, h, __ATOMIC_RELEASE);
    seg->prev = NULL;
    seg->next = h->segs;
    if (h->segs) h->segs->prev = seg;
    h->segs = seg;
    for (unsigned s = 1; s < SLICES; s++) {
        page *pg = &seg->pages[s];
        if (seg->slice_head[s] != s || (seg->free_mask >> s & 1)) continue;
        pg->prev = pg->next = NULL;
        __atomic_store_n(&pg->in_full, 1, __ATOMIC_SEQ_CST);
        q_push_back(&h->full, pg);
        if (__atomic_load_n(&pg->xfree, __ATOMIC_SEQ_CST) != enc(NULL)) page_collect_all(pg);
        if (pg->used == 0) page_release(h, pg, false);
        else if (pg->kind == PAGE_SMALL &&
                 (pg->free != enc(NULL) || pg->local_free != enc(NULL) ||
                  pg->capacity < pg->reserved))
            page_from_full(h, pg);
    }
    return h;
}

/* ---- allocation ----------------------------------------------------------------------------- */
/* Tool mode (under Valgrind): memcheck knows each block by the size its caller asked for. Every
 * block then reserves its last 8 usable bytes (before a secure-mode canary) for that size, so
 * realloc tells memcheck the old size it was given and malloc_usable_size answers it. carve
 * reads and writes the slot with memcheck's error reporting off. */
#define TOOL_SLOT 8

static size_t tool_size(const void *p, size_t usable)
{
    size_t v;
    memcpy(&v, (const uint8_t *)p + usable - TOOL_SLOT, sizeof v);
    return v;
}

static void tool_set_size(void *p, size_t usable, size_t size)
{
    memcpy((uint8_t *)p + usable - TOOL_SLOT, &size, sizeof size);
}

static void write_canary(block *b, size_t bs)
{
    uintptr_t v = (uintptr_t)b ^ canary_key;
    memcpy((uint8_t *)b + bs - sizeof v, &v, sizeof v);
}

static bool canary_ok(const block *b, size_t bs)
{
    uintptr_t v;
    memcpy(&v, (const uint8_t *)b + bs - sizeof v, sizeof v);
    return v == ((uintptr_t)b ^ canary_key);
}

/* The generic allocator: any size, any alignment (a power of two), secure and tool modes. */
static CARVE_NOINLINE void *malloc_slow(size_t size, size_t align, bool zero)
{
    heap *h = tls_heap;
    if (h == &empty_heap) {
        h = heap_acquire();
        if (h == NULL) goto fail;
    }
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING;
    void *p = NULL;
    size_t asked = size, usable = 0;
    if (tool_mode && carve_add_overflow(size, TOOL_SLOT, &size)) goto done;
    size_t want = size;
    if (align < 16) align = 16;
    if (size < 16) size = 16; /* a block is never empty: its end stays inside its span */
    if (secure_mode && size <= SMALL_MAX) want = size + 8; /* every small block: a canary */
    if (want <= SMALL_MAX && align <= SLICE_SIZE) {
        unsigned c = size_class(want > align ? want : align);
        if (align > 16) /* a power of 2; every class is a multiple of 16 */
            while (c < NCLASS && (class_size(c) & (align - 1)) != 0) c++;
        if (c < NCLASS) {
            page *pg = h->current[c];
            if (pg == &empty_page || pg->free == enc(NULL)) pg = find_page(h, c);
            if (pg != NULL) {
                block *b = page_pop(h, pg);
                usable = pg->block_size;
                if (secure_mode) {
                    usable -= 8;
                    write_canary(b, pg->block_size);
                }
                if (zero) memset(b, 0, usable < size ? usable : size); /* pages may be reused */
                p = b;
            }
            goto done;
        }
    }
    if (size <= LARGE_MAX && align <= LARGE_MAX / 2) {
        p = large_alloc(h, size, align);
        if (p != NULL) {
            page *pg = page_of(seg_of(p), p);
            usable = large_usable(pg);
            if (zero && !pg->zeroed) memset(p, 0, size); /* (the mark word is 0 already) */
        }
    } else {
        p = huge_alloc(h, size, align, zero);
        if (p != NULL) usable = huge_usable(seg_of(p));
    }
done:
    if (tool_mode && p != NULL) {
        tool_set_size(p, usable, asked);
        /* the slack after the asked bytes: a write there is an overrun */
        VALGRIND_MAKE_MEM_NOACCESS((uint8_t *)p + asked, usable - asked);
    }
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
    if (p != NULL) {
        if (tool_mode) VALGRIND_MALLOCLIKE_BLOCK(p, asked, 0, zero);
        return p;
    }
fail:
    __atomic_add_fetch(&failed_calls, 1, RELAXED);
    errno = ENOMEM;
    return NULL;
}

void *carve_malloc(size_t size)
{
    heap *h = tls_heap;
    if (CARVE_LIKELY(size <= DIRECT_MAX)) {
        page *pg = h->direct[(size + 15) >> 4];
        if (CARVE_LIKELY(pg->free != 0)) return page_pop_plain(h, pg);
    } else if (CARVE_LIKELY(size <= SMALL_MAX)) {
        page *pg = h->current[size_class(size)];
        if (CARVE_LIKELY(pg->free != 0)) return page_pop_plain(h, pg);
    }
    return malloc_slow(size, 0, false);
}

void *carve_calloc(size_t n, size_t size)
{
    size_t total;
    if (carve_mul_overflow(n, size, &total)) {
        __atomic_add_fetch(&failed_calls, 1, RELAXED);
        errno = ENOMEM;
        return NULL;
    }
    heap *h = tls_heap;
    if (CARVE_LIKELY(total <= DIRECT_MAX)) {
        page *pg = h->direct[(total + 15) >> 4];
        if (CARVE_LIKELY(pg->free != 0)) {
            void *p = page_pop_plain(h, pg);
            return memset(p, 0, total);
        }
    }
    return malloc_slow(total, 0, true);
}

void *carve_aligned_alloc(size_t align, size_t size)
{
    if (!carve_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16) return carve_malloc(size);
    return malloc_slow(size, align, false);
}

int carve_posix_memalign(void **out, size_t align, size_t size)
{
    if (!carve_is_pow2(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = align <= 16 ? carve_malloc(size) : malloc_slow(size, align, false);
    errno = saved;
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

/* ---- free ----------------------------------------------------------------------------------- */
/* Where p stands: its segment and page (or huge segment), its block size and usable size. */
typedef struct where {
    segment *seg;
    page *pg;        /* NULL for huge */
    size_t bs, usable;
} where;

/* p is in a free slice of seg and pg is the descriptor its span had: when p was a block of that
 * span (a large block's start, or a carved block of a small page), the block's usable size, so
 * that freeing it again is named a double free; else 0. */
static size_t released_usable(const segment *seg, const page *pg, const void *p)
{
    unsigned slice = (unsigned)(((uintptr_t)p - (uintptr_t)seg) >> SLICE_SHIFT);
    uintptr_t off = (uintptr_t)p - (uintptr_t)pg->area;
    seg_lock((segment *)seg);
    bool is_free = seg->free_mask >> slice & 1;
    seg_unlock((segment *)seg);
    if (!is_free || (uintptr_t)p < (uintptr_t)pg->area) return 0;
    if (pg->released == PAGE_LARGE) return off == pg->offset ? pg->block_size - pg->offset : 0;
    if (pg->released != PAGE_SMALL || off >= pg->offset || off % pg->block_size != 0) return 0;
    return secure_mode ? pg->block_size - 8 : pg->block_size;
}

/* Validate p for op. Returns true when p is a live block; otherwise reports and returns false. */
static bool locate(const void *p, const char *op, where *w)
{
    segment *seg = seg_of(p);
    if (seg == NULL) {
        size_t us = gone_usable(p);
        report(us != 0 ? F_DOUBLE : F_FOREIGN, op, p, us);
        return false;
    }
    w->seg = seg;
    w->pg = NULL;
    if (seg->kind != SEG_NORMAL) {
        size_t us = huge_usable(seg);
        if (seg->kind == SEG_HUGE_CACHED && (const uint8_t *)p == seg->huge_user) {
            report(F_DOUBLE, op, p, us);
            return false;
        }
        if ((const uint8_t *)p != seg->huge_user || seg->kind != SEG_HUGE) {
            bool in = (const uint8_t *)p > seg->huge_user && (const uint8_t *)p < seg->huge_user + us;
            if (((uintptr_t)p & 15) != 0) report(F_MISALIGNED, op, p, 0);
            else report(in ? F_INSIDE : F_FOREIGN, op, p, us);
            return false;
        }
        w->bs = w->usable = us;
        return true;
    }
    if (((uintptr_t)p & 15) != 0) {
        report(F_MISALIGNED, op, p, 0);
        return false;
    }
    page *pg = page_of(seg, p);
    uintptr_t off = (uintptr_t)p - (uintptr_t)pg->area;
    if ((uintptr_t)p < (uintptr_t)seg + SLICE_SIZE) {
        report(F_FOREIGN, op, p, 0);
        return false;
    }
    if (pg->kind == PAGE_FREE) {
        size_t us = released_usable(seg, pg, p);
        report(us != 0 ? F_DOUBLE : F_FOREIGN, op, p, us);
        return false;
    }
    w->pg = pg;
    if (pg->kind == PAGE_LARGE) {
        w->bs = w->usable = large_usable(pg);
        if (off != pg->offset) {
            report(off > pg->offset ? F_INSIDE : F_FOREIGN, op, p, w->bs);
            return false;
        }
    } else {
        size_t bs = pg->block_size, idx = off / bs;
        w->bs = bs;
        w->usable = secure_mode ? bs - 8 : bs;
        if (idx >= __atomic_load_n(&pg->capacity, RELAXED)) {
            report(F_FOREIGN, op, p, 0);
            return false;
        }
        if (idx * bs != off) {
            report(F_INSIDE, op, (const uint8_t *)p, bs);
            return false;
        }
    }
    return true;
}

/* Is b in one of the lists the owner can walk? (Confirms a mark match.) */
static bool in_list(uintptr_t head, const block *b, uint32_t limit)
{
    for (uint32_t n = 0; head != enc(NULL) && n <= limit; n++) {
        if (dec(head) == b) return true;
        head = dec(head)->next;
    }
    return false;
}

static bool is_freed(heap *h, const where *w, const block *b)
{
    if (b->mark != mark_of(b)) return false;
    if (__atomic_load_n(&w->seg->heap, RELAXED) != h) return true; /* remote: trust the mark */
    const page *pg = w->pg;
    return in_list(pg->free, b, pg->reserved) || in_list(pg->local_free, b, pg->reserved) ||
           in_list(__atomic_load_n(&pg->xfree, __ATOMIC_ACQUIRE), b, pg->reserved);
}

/* The owner freed a block of pg and pg became empty, or was full: re-file or release it. */
static CARVE_NOINLINE void free_local_unusual(heap *h, page *pg)
{
    /* An empty page is kept only when it is the last page of a class of at most 1 KiB (so that
     * an alloc/free loop does not take and give back a page each time); bigger blocks hold
     * too much memory to keep idle. */
    if (pg->used == 0 && (pg->kind == PAGE_LARGE || pg->block_size > DIRECT_MAX ||
                          h->queue[pg->cls].first != pg || pg->next != NULL)) {
        int saved = errno;
        page_release(h, pg, true);
        errno = saved;
    } else if (pg->in_full && pg->kind == PAGE_SMALL) {
        page_from_full(h, pg);
    }
    maintain(h); /* a thread that only frees still purges */
}

static CARVE_NOINLINE void free_remote(segment *seg, page *pg, block *b);

/* Free b, a live block of pg (validated by the caller). */
static void free_block(heap *h, segment *seg, page *pg, block *b)
{
    b->mark = mark_of(b);
    if (__atomic_load_n(&seg->heap, RELAXED) == h) {
        b->next = pg->local_free;
        pg->local_free = enc(b);
        __atomic_store_n(&pg->used, pg->used - 1, RELAXED);
        if (CARVE_UNLIKELY(pg->used == 0 || pg->in_full)) free_local_unusual(h, pg);
        return;
    }
    free_remote(seg, pg, b);
}

static void free_remote(segment *seg, page *pg, block *b)
{
    uintptr_t head = __atomic_load_n(&pg->xfree, RELAXED);
    do b->next = head;
    while (!__atomic_compare_exchange_n(&pg->xfree, &head, enc(b), true, __ATOMIC_RELEASE,
                                        RELAXED));
    if (__atomic_load_n(&pg->in_full, __ATOMIC_SEQ_CST)) {
        heap *owner = __atomic_load_n(&seg->heap, RELAXED);
        if (owner != NULL) __atomic_store_n(&owner->remote_hint, 1, __ATOMIC_RELEASE);
    }
}

static CARVE_NOINLINE void free_slow(void *p)
{
    heap *h = tls_heap;
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING;
    where w;
    if (!locate(p, "free", &w)) goto out;
    if (w.pg == NULL) {
        if (tool_mode) VALGRIND_FREELIKE_BLOCK(p, 0);
        huge_free(w.seg);
        goto out;
    }
    block *b = p;
    if (is_freed(h, &w, b)) {
        report(F_DOUBLE, "free", p, w.usable);
        goto out;
    }
    if (secure_mode && w.pg->kind == PAGE_SMALL && !canary_ok(b, w.bs)) {
        report(F_CANARY, "free", p, w.bs - 8);
        goto out;
    }
    free_block(h, w.seg, w.pg, b);
    if (tool_mode) VALGRIND_FREELIKE_BLOCK(p, 0);
out:
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
}

/* The page descriptor of a pointer into segment seg: its own slice's, or, for a slice inside a
 * page of several slices (PAGE_TAIL), its page's first. */
CARVE_INLINE page *fast_page(segment *seg, uintptr_t a)
{
    unsigned slice = (unsigned)(a >> SLICE_SHIFT) & (SLICES - 1);
    page *pg = &seg->pages[slice];
    if (CARVE_UNLIKELY(pg->kind == PAGE_TAIL)) pg = &seg->pages[seg->slice_head[slice]];
    return pg;
}

/* The checks of free's fast path on p, at offset off in pg's area: pg is a small page (and the
 * fast paths are on), p is the start of one of its carved blocks, and that block is not marked
 * freed. Any other descriptor has a limit of 0 and fails before b is read.
 *
 * One multiply and one compare: with m = floor(2^40 / bs) + 1 and e = m * bs - 2^40 (1 <= e
 * <= bs), the low 40 bits of off * m are idx * e for the block start off = idx * bs, and at
 * least r * m >= m for off = idx * bs + r, 0 < r < bs. For off < 1 MiB (the largest page) and
 * bs <= 128 KiB, idx * e <= 1 MiB < 2^23 <= m, so nothing wraps and the low 40 bits are below
 * capacity * e exactly for the carved block starts. The key m << 24 makes the multiply's own
 * wrap keep just those 40 bits (docs/malloc.md; unit.malloc_interior tries every offset). */
CARVE_INLINE bool small_block_ok(const page *pg, uintptr_t off, const block *b)
{
    return CARVE_LIKELY(off * pg->block_key < __atomic_load_n(&pg->block_limit, RELAXED)) &&
           CARVE_LIKELY(b->mark != mark_of(b));
}

/* free's second chance: p is in a slice whose own descriptor is not a small page's: a later
 * slice of a page of several slices (PAGE_TAIL: its first slice's descriptor decides), a large
 * block, or anything else (the slow path reports it). Kept out of line so that the fast path
 * stays as short as it was. */
static CARVE_NOINLINE void free_other(void *p, segment *seg)
{
    if (slow_mode) {
        free_slow(p);
        return;
    }
    uintptr_t a = (uintptr_t)p;
    page *pg = fast_page(seg, a);
    uintptr_t off = a - (uintptr_t)pg->area;
    block *b = p;
    if (pg->kind == PAGE_LARGE ? off == pg->offset && b->mark != mark_of(b)
                               : pg->kind == PAGE_SMALL && small_block_ok(pg, off, b))
        free_block(tls_heap, seg, pg, b);
    else
        free_slow(p);
}

/* The fast path: a block of a small page in a segment (chunk map 1), in its page's first slice.
 * Every other descriptor (slice 0's, the header's, is PAGE_FREE) has block_key 0 and so does
 * every page in slow mode: all of them fail small_block_ok and go to free_other. */
void carve_free(void *p)
{
    uintptr_t a = (uintptr_t)p, chunk = a >> SEG_SHIFT;
    if (CARVE_UNLIKELY(chunk >= sizeof chunk_map || __atomic_load_n(&chunk_map[chunk], RELAXED) != 1)) {
        if (p != NULL) free_slow(p);
        return;
    }
    segment *seg = (segment *)(a & ~(SEG_SIZE - 1));
    /* &seg->pages[slice] with the slice's byte offset taken straight from the address bits */
    page *pg = (page *)((uintptr_t)seg->pages + ((a >> (SLICE_SHIFT - PAGE_SHIFT)) &
                                                 ((uintptr_t)(SLICES - 1) << PAGE_SHIFT)));
    uintptr_t off = a - (uintptr_t)pg->area;
    block *b = p;
    if (CARVE_UNLIKELY(!small_block_ok(pg, off, b))) {
        free_other(p, seg);
        return;
    }
    b->mark = mark_of(b);
    heap *h = tls_heap;
    if (CARVE_LIKELY(__atomic_load_n(&seg->heap, RELAXED) == h)) {
        b->next = pg->local_free;
        pg->local_free = (uintptr_t)b; /* plain: see page_pop_plain */
        uint32_t used = pg->used - 1;
        __atomic_store_n(&pg->used, used, RELAXED);
        if (CARVE_UNLIKELY(used == 0 || pg->in_full)) free_local_unusual(h, pg);
        return;
    }
    free_remote(seg, pg, b);
}

/* p's usable size, or 0 (after a report) when p is not a live block. In tool mode the block's
 * room is usable - TOOL_SLOT, and *asked (when not NULL) is the size memcheck knows. */
static size_t checked_usable(const void *p, const char *op, size_t *asked)
{
    where w;
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING;
    size_t us = 0;
    if (!locate(p, op, &w)) goto out;
    if (w.pg != NULL && is_freed(tls_heap, &w, p)) {
        report(F_DOUBLE, op, p, w.usable);
        goto out;
    }
    us = w.usable;
    if (tool_mode && asked != NULL) *asked = tool_size(p, us);
out:
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
    return us;
}

size_t carve_usable_size(const void *p)
{
    if (p == NULL) return 0;
    size_t asked = 0, us = checked_usable(p, "malloc_usable_size", &asked);
    return tool_mode && us != 0 ? asked : us;
}

/* Grow the large block p of the calling thread to size bytes by taking the free slices after
 * its span, when there are enough. */
static bool grow_large_in_place(void *p, size_t size)
{
    segment *seg = seg_of(p);
    if (seg == NULL || seg->kind != SEG_NORMAL || size > LARGE_MAX ||
        __atomic_load_n(&seg->heap, RELAXED) != tls_heap)
        return false;
    page *pg = page_of(seg, p);
    if (pg->kind != PAGE_LARGE) return false;
    unsigned s = (unsigned)(((uintptr_t)pg->area - (uintptr_t)seg) >> SLICE_SHIFT);
    size_t n = (pg->offset + size + SLICE_SIZE - 1) >> SLICE_SHIFT;
    if (s + n > SLICES) return false;
    uint64_t more = slice_bits(s + pg->slices, (unsigned)(n - pg->slices));
    if ((seg->free_mask & more) != more) return false;
    seg_lock(seg);
    seg->free_mask &= ~more;
    __atomic_store_n(&seg->dirty_mask, seg->dirty_mask & ~more, RELAXED);
    seg->aged_mask &= ~more;
    seg->purged_mask &= ~more; /* a grown large block faults on first touch, as in large_alloc */
    seg_unlock(seg);
    for (unsigned i = s + pg->slices; i < s + n; i++) {
        seg->slice_head[i] = (uint8_t)s;
        seg->pages[i].kind = PAGE_TAIL;
    }
    pg->slices = (uint8_t)n;
    pg->block_size = (uint32_t)(n * SLICE_SIZE);
    return true;
}

/* The usable size of p when the free fast path's checks pass (a live block at a block start of a
 * small page, or the block of a large page, in a segment), else 0: the caller then takes the
 * checked path. */
static inline size_t fast_usable(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if ((a >> ADDR_BITS) != 0 || __atomic_load_n(&chunk_map[a >> SEG_SHIFT], RELAXED) != 1 ||
        slow_mode)
        return 0;
    segment *seg = (segment *)(a & ~(SEG_SIZE - 1));
    const page *pg = fast_page(seg, a);
    uintptr_t off = a - (uintptr_t)pg->area;
    const block *b = p;
    if (pg->kind == PAGE_LARGE) /* the block's start, not freed */
        return off == pg->offset && b->mark != mark_of(b) ? pg->block_size - pg->offset : 0;
    return pg->kind == PAGE_SMALL && small_block_ok(pg, off, b) ? pg->block_size : 0;
}

void *carve_realloc(void *p, size_t size)
{
    if (p == NULL) return carve_malloc(size);
    size_t fast = fast_usable(p);
    if (fast != 0 && size != 0 && size <= fast && (size >= fast / 2 || fast <= 1024)) return p;
    size_t asked = 0, old = fast != 0 ? fast : checked_usable(p, "realloc", &asked);
    if (old == 0) { /* reported; the policy let us go on */
        errno = EINVAL;
        return NULL;
    }
    if (size == 0) {
        carve_free(p);
        return NULL;
    }
    if (tool_mode) { /* memcheck knows the block as asked bytes; the slot takes its last 8 */
        size_t room = old - TOOL_SLOT;
        if (size <= room && (size >= room / 2 || room <= 1024)) {
            VALGRIND_DISABLE_ERROR_REPORTING;
            tool_set_size(p, old, size);
            VALGRIND_ENABLE_ERROR_REPORTING;
            VALGRIND_RESIZEINPLACE_BLOCK(p, asked, size, 0);
            return p;
        }
        old = asked; /* what the copy below may read */
    }
    /* In place when it fits and would not waste more than half (small blocks keep their class). */
    else if (size <= old && (size >= old / 2 || old <= 1024)) {
        return p;
    }
    if (size > old && !slow_mode && grow_large_in_place(p, size)) return p;
    /* Growing past the large sizes: reserve half as much again (address space only; pages are
     * committed when touched) so that a block grown step by step is not copied every time. */
    size_t want = size;
    if (size > old && size > LARGE_MAX && size < ((size_t)1 << 44)) want = size + size / 2;
    void *q = carve_malloc(want);
    if (q == NULL && want != size) q = carve_malloc(size);
    if (q == NULL) return NULL;
    memcpy(q, p, old < size ? old : size);
    carve_free(p);
    return q;
}

void *carve_reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (carve_mul_overflow(n, size, &total)) {
        __atomic_add_fetch(&failed_calls, 1, RELAXED);
        errno = ENOMEM;
        return NULL;
    }
    return carve_realloc(p, total);
}

extern __typeof(carve_malloc) cm_malloc __attribute__((alias("carve_malloc")));
extern __typeof(carve_calloc) cm_calloc __attribute__((alias("carve_calloc")));
extern __typeof(carve_realloc) cm_realloc __attribute__((alias("carve_realloc")));
extern __typeof(carve_reallocarray) cm_reallocarray __attribute__((alias("carve_reallocarray")));
extern __typeof(carve_free) cm_free __attribute__((alias("carve_free")));
extern __typeof(carve_aligned_alloc) cm_aligned_alloc __attribute__((alias("carve_aligned_alloc")));
extern __typeof(carve_posix_memalign) cm_posix_memalign
    __attribute__((alias("carve_posix_memalign")));
extern __typeof(carve_usable_size) cm_usable_size __attribute__((alias("carve_usable_size")));

/* ---- trim, stats, check ---------------------------------------------------------------------- */
/* Give back what h holds: collect the remote frees into full pages, release every empty page
 * (also the one a small class keeps), unmap the empty segments and decommit the free slices. */
static bool heap_trim(heap *h)
{
    heap_collect_full(h);
    for (unsigned c = 0; c < NCLASS; c++) {
        page *pg = h->queue[c].first;
        while (pg != NULL) {
            page *after = pg->next;
            page_collect_all(pg);
            if (pg->used == 0) page_release(h, pg, false);
            pg = after;
        }
    }
    return heap_purge_all(h);
}

/* The calling thread's heap is trimmed at once; the other live threads' free slices are
 * decommitted by a forced sweep (under their segments' locks), and each of those threads trims
 * its own heap (pages only it may touch) at its next slow path, told by trim_epoch. */
bool carve_trim(void)
{
    int saved = errno;
    bool any = false;
    heap *h = tls_heap;
    if (h == &empty_heap) h = heap_acquire();
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING; /* it walks free lists */
    unsigned epoch = __atomic_add_fetch(&trim_epoch, 1, RELAXED);
    if (h != NULL) {
        while (reclaim_one(h) != NULL) { /* adopt what exited threads left, to sort it out */ }
        h->trim_seen = epoch;
        any |= heap_trim(h);
    }
    any |= sweep(now_ns(), true);
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
    errno = saved;
    return any;
}

size_t cm_segment_count(size_t *huge_cached)
{
    pthread_mutex_lock(&huge_lock);
    *huge_cached = huge_cached_bytes;
    pthread_mutex_unlock(&huge_lock);
    return __atomic_load_n(&segments_live, RELAXED);
}

void carve_stats_get(carve_stats *out)
{
    carve_stats st;
    carve_stats_init(&st);
    pthread_mutex_lock(&heaps_lock);
    for (heap *h = all_heaps; h != NULL; h = h->all_next) st.allocs += __atomic_load_n(&h->allocs, RELAXED);
    pthread_mutex_unlock(&heaps_lock);
    /* Live blocks: the pages' used counts (a block freed by another thread counts until its
     * owner collects it) and the huge blocks. */
    size_t live_blocks = 0, live_bytes = 0, free_blocks = 0, largest_free = 0;
    pthread_mutex_lock(&segs_lock);
    for (segment *seg = all_segs; seg != NULL; seg = seg->all_next) {
        uint32_t seg_kind = __atomic_load_n(&seg->kind, RELAXED);
        if (seg_kind != SEG_NORMAL) {
            if (seg_kind == SEG_HUGE) {
                live_blocks++;
                live_bytes += huge_usable(seg);
            }
            continue;
        }
        seg_lock(seg);
        uint64_t free_mask = seg->free_mask;
        seg_unlock(seg);
        for (unsigned sl = 1; sl < SLICES; sl++) {
            const page *pg = &seg->pages[sl];
            if (seg->slice_head[sl] != sl || (free_mask >> sl & 1)) continue;
            uint8_t kind = __atomic_load_n(&pg->kind, RELAXED);
            uint32_t used = __atomic_load_n(&pg->used, RELAXED);
            uint32_t cap = __atomic_load_n(&pg->capacity, RELAXED), bs = pg->block_size;
            if (kind == PAGE_FREE || used > cap) continue;
            live_blocks += used;
            live_bytes += (size_t)used * bs;
            free_blocks += cap - used;
            if (cap > used && bs > largest_free) largest_free = bs;
        }
    }
    pthread_mutex_unlock(&segs_lock);
    st.frees = st.allocs > live_blocks ? st.allocs - live_blocks : 0;
    st.free_blocks = free_blocks;
    st.largest_free = largest_free;
    st.failed = __atomic_load_n(&failed_calls, RELAXED);
    st.capacity = carve_os_mapped_bytes();
    st.used = live_bytes;
    st.free = st.capacity > st.used ? st.capacity - st.used : 0;
    st.requested = st.used;
    uint64_t peak = __atomic_load_n(&peak_used, RELAXED);
    while (st.used > peak &&
           !__atomic_compare_exchange_n(&peak_used, &peak, st.used, true, RELAXED, RELAXED)) {}
    st.peak_requested = st.used > peak ? st.used : peak;
    if (carve_stats_begin(out)) {
        uint32_t size = out->size;
        *out = st;
        out->size = size;
    }
}

static size_t list_check(uintptr_t head, const page *pg, uint32_t limit, size_t *count)
{
    size_t bad = 0, n = 0;
    for (; head != enc(NULL); head = dec(head)->next) {
        block *b = dec(head);
        uintptr_t off = (uintptr_t)b - (uintptr_t)pg->area;
        if (off >= (size_t)pg->capacity * pg->block_size || off % pg->block_size != 0) return bad + 1;
        if (b->mark != mark_of(b)) bad++;
        if (++n > limit) return bad + 1;
    }
    *count += n;
    return bad;
}

static size_t malloc_check(heap *h);

size_t carve_malloc_check(void)
{
    heap *h = tls_heap;
    if (h == &empty_heap) return 0;
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING; /* it reads the links in free blocks */
    size_t bad = malloc_check(h);
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
    return bad;
}

/* The huge cache and the huge blocks (every thread's): cached ranges in address order, none
 * overlapping another or a live block, each with its header, chunk-map bytes and place on the
 * list of mappings; their bytes add up; live blocks overlap nothing. */
static size_t huge_check(void)
{
    size_t bad = 0, bytes = 0, listed = 0;
    pthread_mutex_lock(&huge_lock);
    for (unsigned i = 0; i < huge_count; i++) {
        segment *c = huge_cache[i];
        bytes += c->huge_map;
        if (c->kind != SEG_HUGE_CACHED || seg_of(c) != c || seg_of(range_end(c) - 1) != c ||
            (i + 1 < huge_count && range_end(c) > (uint8_t *)huge_cache[i + 1]))
            bad++;
    }
    if (bytes != huge_cached_bytes || huge_count > HUGE_CACHE_SLOTS) bad++;
    pthread_mutex_lock(&segs_lock);
    for (segment *seg = all_segs; seg != NULL; seg = seg->all_next) {
        uint32_t kind = __atomic_load_n(&seg->kind, RELAXED);
        if (kind == SEG_HUGE_CACHED) listed++;
        if (kind != SEG_HUGE) continue;
        for (unsigned i = 0; i < huge_count; i++)
            if ((uint8_t *)seg < range_end(huge_cache[i]) && (uint8_t *)huge_cache[i] < range_end(seg)) bad++;
        for (segment *o = seg->all_next; o != NULL; o = o->all_next)
            if (__atomic_load_n(&o->kind, RELAXED) == SEG_HUGE && (uint8_t *)seg < range_end(o) &&
                (uint8_t *)o < range_end(seg))
                bad++;
    }
    pthread_mutex_unlock(&segs_lock);
    bad += listed != huge_count; /* read under huge_lock: other threads cache and take ranges */
    pthread_mutex_unlock(&huge_lock);
    return bad;
}

static size_t malloc_check(heap *h)
{
    size_t bad = huge_check();
    for (unsigned c = 0; c <= NCLASS; c++) {
        pqueue *q = c < NCLASS ? &h->queue[c] : &h->full;
        if (c < NCLASS && h->current[c] != (q->first != NULL && !slow_mode ? q->first : &empty_page))
            bad++;
        const page *prev = NULL;
        for (const page *pg = q->first; pg != NULL; prev = pg, pg = pg->next) {
            segment *seg = (segment *)((uintptr_t)pg->area & ~(SEG_SIZE - 1));
            if (pg->prev != prev || __atomic_load_n(&seg->heap, RELAXED) != h || pg->in_full != (c == NCLASS)) bad++;
            if (pg->kind == PAGE_FREE || (c < NCLASS && (pg->kind != PAGE_SMALL || pg->cls != c)))
                bad++;
            if (pg->kind != PAGE_SMALL) continue;
            size_t n = 0;
            bad += list_check(pg->free, pg, pg->reserved, &n);
            bad += list_check(pg->local_free, pg, pg->reserved, &n);
            if (pg->capacity > pg->reserved || pg->used + n > pg->capacity) bad++;
            if ((size_t)pg->reserved * pg->block_size > (size_t)pg->slices * SLICE_SIZE) bad++;
        }
        if (q->last != prev) bad++;
    }
    for (segment *seg = h->segs; seg != NULL; seg = seg->next) {
        if (seg_of(seg) != seg || (seg->free_mask & 1) != 0 || seg->kind != SEG_NORMAL) bad++;
        seg_lock(seg); /* a sweep may decommit meanwhile */
        bad += (seg->purged_mask & ~(seg->free_mask & ~seg->dirty_mask)) != 0; /* purged: free, clean */
        seg_unlock(seg);
        for (unsigned s = 1; s < SLICES; s++) {
            bool is_free = seg->free_mask >> s & 1;
            const page *pg = &seg->pages[seg->slice_head[s]];
            if (!is_free && (pg->kind == PAGE_FREE || seg->slice_head[s] > s ||
                             seg->slice_head[s] + pg->slices <= s))
                bad++;
            uint8_t own = seg->pages[s].kind; /* a tail slice says so; a free one is free */
            if (is_free ? own != PAGE_FREE : (seg->slice_head[s] != s) != (own == PAGE_TAIL)) bad++;
        }
    }
    return bad;
}

/* The next free block of a list, read with memcheck's error reporting off (the link lies in a
 * block memcheck knows as freed). */
static uintptr_t next_of(uintptr_t head)
{
    if (tool_mode) VALGRIND_DISABLE_ERROR_REPORTING;
    uintptr_t next = dec(head)->next;
    if (tool_mode) VALGRIND_ENABLE_ERROR_REPORTING;
    return next;
}

/* Set the bit of each block of the list head in bits. */
static void mark_free(uintptr_t head, const page *pg, uint64_t *bits)
{
    for (uint32_t n = 0; head != enc(NULL) && n <= pg->capacity; n++) {
        block *b = dec(head);
        size_t i = ((uintptr_t)b - (uintptr_t)pg->area) / pg->block_size;
        if (i < pg->capacity) bits[i / 64] |= (uint64_t)1 << (i % 64);
        head = next_of(head);
    }
}

void carve_malloc_walk(carve_walk_fn fn, void *ctx)
{
    heap *h = tls_heap;
    if (h == &empty_heap || fn == NULL) return;
    uintptr_t last = 0;
    for (;;) {
        segment *seg = NULL; /* the next segment above last */
        for (segment *s = h->segs; s != NULL; s = s->next)
            if ((uintptr_t)s > last && (seg == NULL || s < seg)) seg = s;
        if (seg == NULL) return;
        last = (uintptr_t)seg;
        for (unsigned sl = 1; sl < SLICES; sl++) {
            const page *pg = &seg->pages[sl];
            if (seg->slice_head[sl] != sl || (seg->free_mask >> sl & 1) || pg->kind == PAGE_FREE)
                continue;
            if (pg->kind == PAGE_LARGE) {
                carve_block_info info = {(uintptr_t)pg->area + pg->offset, large_usable(pg),
                                         large_usable(pg), true};
                fn(ctx, &info);
                continue;
            }
            uint64_t bits[SLICE_SIZE / 16 / 64] = {0};
            mark_free(pg->free, pg, bits);
            mark_free(pg->local_free, pg, bits);
            mark_free(__atomic_load_n(&pg->xfree, __ATOMIC_ACQUIRE), pg, bits);
            size_t usable = secure_mode ? pg->block_size - 8 : pg->block_size;
            for (uint32_t i = 0; i < pg->capacity; i++) {
                bool is_free = bits[i / 64] >> (i % 64) & 1;
                carve_block_info info = {(uintptr_t)pg->area + (size_t)i * pg->block_size,
                                         pg->block_size, is_free ? 0 : usable, !is_free};
                fn(ctx, &info);
            }
        }
    }
}
