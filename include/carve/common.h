/*
 * carve/common.h: what every carve allocator shares.
 *
 * - carve_status: the one error vocabulary. A function that returns a status other than
 *   CARVE_OK has changed nothing (the allocator is exactly as it was before the call).
 * - carve_block_info / carve_walk_fn: what a *_walk visits, in address (or cell) order.
 * - carve_stats: a versioned snapshot that every *_stats fills.
 * - carve_grow_fn: the optional callback through which caller-memory allocators get more memory.
 * - carve_set_output: the only channel through which library code ever writes text.
 *
 * Thread safety: everything in this header is safe to call from any thread, except
 * carve_set_output, which should be called once, before other threads use carve.
 */
#ifndef CARVE_COMMON_H
#define CARVE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CARVE_API __attribute__((visibility("default")))
#else
#define CARVE_API
#endif

#define CARVE_VERSION_MAJOR 0
#define CARVE_VERSION_MINOR 1
#define CARVE_VERSION_PATCH 0

typedef enum carve_status {
    CARVE_OK = 0,
    CARVE_ENOMEM,      /* nothing fits; the allocator is unchanged                         */
    CARVE_EINVAL,      /* a bad argument: config, size, alignment                          */
    CARVE_EFOREIGN,    /* not a block this allocator handed out: out of range, misaligned,
                          or inside a block                                                */
    CARVE_EDOUBLEFREE, /* the block is already free                                        */
    CARVE_ECORRUPT     /* metadata is damaged (an overflow, a wild write)                  */
} carve_status;

#define CARVE_STATUS_COUNT 6

/* A static, human-readable name for s ("ok", "out of memory", ...). Never NULL: an unknown
 * value gives "unknown status". O(1). */
CARVE_API const char *carve_strerror(carve_status s);

/* One block, as a *_walk reports it. */
typedef struct carve_block_info {
    uintptr_t start;   /* address (or first cell, for the segment allocator) */
    size_t    size;    /* whole block, header included, in bytes or cells     */
    size_t    payload; /* bytes the user may use; 0 for a free block          */
    bool      used;
} carve_block_info;
typedef void (*carve_walk_fn)(void *ctx, const carve_block_info *block);

#define CARVE_STATS_VERSION 1u

/* A snapshot of an allocator. The caller sets version = CARVE_STATS_VERSION and
 * size = sizeof(carve_stats) (carve_stats_init does both); a *_stats call given any other
 * version, or a size smaller than it needs, writes nothing else. */
typedef struct carve_stats {
    uint32_t version, size;    /* set by the caller to CARVE_STATS_VERSION and sizeof */
    size_t capacity;           /* bytes (or cells) under management                   */
    size_t used, free;         /* in blocks, headers included                         */
    size_t free_blocks, largest_free;
    size_t requested, peak_requested; /* live bytes the user asked for; its high-water mark */
    uint64_t allocs, frees, failed;
} carve_stats;

/* Zero *s and set its version and size, ready for a *_stats call. */
static inline void carve_stats_init(carve_stats *s)
{
    *s = (carve_stats){0};
    s->version = CARVE_STATS_VERSION;
    s->size = (uint32_t)sizeof(carve_stats);
}

/* Asked for more memory: return at least min_bytes (writing the real amount to *got), or NULL
 * when there is none. The memory must stay valid until the allocator that asked is gone. */
typedef void *(*carve_grow_fn)(void *ctx, size_t min_bytes, size_t *got);

/* Where carve's library code writes a message (a misuse report, statistics). msg is one
 * NUL-terminated text, usually ending in '\n'. The default writes it to stderr with write(2),
 * never through stdio and never allocating. fn NULL restores the default. */
typedef void (*carve_output_fn)(void *ctx, const char *msg);
CARVE_API void carve_set_output(carve_output_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_COMMON_H */
