/*
 * carve/slab.h: the slab cache (seeds 003 and 000): one list of slabs per size class, each slab
 * a pool of equal blocks; a request goes to the smallest class that fits; a class with no free
 * block grows a new slab instead of failing.
 *
 * Slabs are slab_bytes long and aligned to slab_bytes, so free finds a block's slab by masking
 * the pointer: O(1), no search. Before the slab header is read, the masked address is looked up
 * in a small hash set of this cache's slabs, so a random pointer (even one into unmapped
 * memory) is answered with CARVE_EFOREIGN, never a crash.
 *
 * Memory: by default from the OS (src/os, carve_os_map with slab_bytes alignment). A caller's
 * grow callback may return memory of any alignment: when it is not slab-aligned, the cache
 * gives it back through release and asks for 2 * slab_bytes, aligning a slab inside (that
 * wastes up to half; return slab-aligned memory to avoid it). The cache's own control data and
 * its hash set also come from grow and go back through release.
 *
 * Thread safety: none (the caller locks).
 * Alignment: every block is 16-byte aligned when its class size is a multiple of 16, else
 * 8-byte aligned (classes are rounded up to 8).
 * Statuses of carve_slab_free: CARVE_OK; CARVE_EFOREIGN (not in one of this cache's slabs, or
 * not at a block start; also a second free of a block whose slab has since been released: the
 * memory is no longer the cache's); CARVE_EDOUBLEFREE (the block is free); CARVE_ECORRUPT (a
 * slab header failed its check word; the pool header after it is not validated on free, only
 * by carve_slab_check). Any status but CARVE_OK changes nothing.
 */
#ifndef CARVE_SLAB_H
#define CARVE_SLAB_H

#include "carve/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct carve_slab carve_slab;

#define CARVE_SLAB_MAX_CLASSES 32
#define CARVE_SLAB_DEFAULT_BYTES ((size_t)64 * 1024)
/* Default classes (sizes == NULL): seed 000's base size times powers of two, 16 to 4096. */
#define CARVE_SLAB_DEFAULT_MIN 16
#define CARVE_SLAB_DEFAULT_MAX 4096

typedef struct carve_slab_config {
    const size_t *sizes; size_t nsizes;   /* size classes; NULL: powers of two from 16 */
    size_t slab_bytes;                    /* bytes per slab; 0: a default              */
    carve_grow_fn grow; void (*release)(void *ctx, void *mem, size_t bytes); void *ctx; /* NULL: the OS */
} carve_slab_config;

/* A cache. cfg NULL: the defaults. sizes: 1..CARVE_SLAB_MAX_CLASSES values, each rounded up to
 * 8, in any order (duplicates after rounding merge). slab_bytes: rounded up to a power of two,
 * at least 4096; 0 means CARVE_SLAB_DEFAULT_BYTES, or 4 blocks of the largest class when that
 * is more. grow and release come as a pair (both or
 * neither). NULL when the config breaks a rule, when a slab cannot hold one block of the
 * largest class, or when the control data cannot be obtained. O(classes). */
CARVE_API carve_slab  *carve_slab_create(const carve_slab_config *cfg);
/* A block of the smallest class >= size (size 0 is served as 1), or NULL when size exceeds the
 * largest class or grow fails (counted as failed, overall and in that class). O(1), plus one
 * grow call when the class has no free block. */
CARVE_API void        *carve_slab_alloc(carve_slab *s, size_t size);    /* smallest class that fits */
/* Give a block back; NULL is a no-op returning CARVE_OK. A slab whose blocks are all free is
 * released, unless it is its class's only empty slab (one is kept to damp grow/release churn).
 * O(1), plus one release call. */
CARVE_API carve_status carve_slab_free(carve_slab *s, void *p);
/* Release every slab and the cache itself. NULL is a no-op. O(slabs). */
CARVE_API void         carve_slab_destroy(carve_slab *s);
/* The class size of a live block, else 0. O(1). */
CARVE_API size_t       carve_slab_usable_size(const carve_slab *s, const void *p);
/* Violated invariants (0 = sound): slab headers, each slab's pool, class lists and counts, the
 * hash set, at most one empty slab per class. O(total blocks). */
CARVE_API size_t       carve_slab_check(const carve_slab *s);
/* Every block of every slab, slabs in address order. O(total blocks + slabs^2). */
CARVE_API void         carve_slab_walk(const carve_slab *s, carve_walk_fn fn, void *ctx);
/* capacity = bytes held from grow right now (slabs, control data, hash set): the footprint;
 * used/free = bytes in used/free blocks; free_blocks; largest_free = the largest class with a
 * free block; requested = used (no per-block request size is kept); allocs, frees, failed.
 * O(classes). */
CARVE_API void         carve_slab_stats(const carve_slab *s, carve_stats *out);

/* Per-class figures. */
typedef struct carve_slab_class_stats {
    size_t block_size;        /* the class size                          */
    size_t slabs, empty_slabs; /* slabs of this class; those wholly free  */
    size_t used_blocks, free_blocks;
    uint64_t allocs, frees, failed;
} carve_slab_class_stats;
/* Number of classes. O(1). */
CARVE_API size_t       carve_slab_class_count(const carve_slab *s);
/* Figures for class index cls (0 = smallest); false (and *out untouched) when cls is out of
 * range. O(1). */
CARVE_API bool         carve_slab_class_info(const carve_slab *s, size_t cls, carve_slab_class_stats *out);
/* The high-water mark of stats.capacity: the footprint the lab divides by. O(1). */
CARVE_API size_t       carve_slab_peak_footprint(const carve_slab *s);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_SLAB_H */
