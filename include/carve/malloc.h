/*
 * carve/malloc.h: carve's general allocator: thread-safe, and behind libcarve-malloc.so the
 * standard malloc family. See docs/malloc.md.
 *
 * Common contract, for every function below unless it says otherwise:
 * - Thread safety: safe from any thread, at any time, including from a child after fork().
 *   A block may be freed by a thread other than the one that allocated it.
 * - Alignment: every pointer returned is aligned to at least 16 bytes (CARVE_MALLOC_ALIGN), and
 *   to the requested alignment where one is given.
 * - Complexity: O(1) for sizes up to 128 KiB when the calling thread has a page with room
 *   (the common case); otherwise amortised O(segments of the calling thread), plus one OS call
 *   when memory must be mapped. Sizes above 1 MiB are mapped directly (with a cache).
 * - Errors: a size that cannot be served returns NULL with errno ENOMEM; nothing is changed.
 * - Misuse (a double free, or a pointer carve never handed out) is reported with one line
 *   through carve_output, then handled by the CARVE_ON_ERROR policy: abort (the default),
 *   warn (report, then ignore the call), or ignore (ignore the call silently).
 */
#ifndef CARVE_MALLOC_H
#define CARVE_MALLOC_H

#include "carve/common.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The minimum alignment of every block. */
#define CARVE_MALLOC_ALIGN 16

/* size bytes, uninitialised. size 0 gives a unique pointer (a 16-byte block).
 * NULL + ENOMEM when size cannot be served (e.g. SIZE_MAX). */
CARVE_API void  *carve_malloc(size_t size);
/* n * size zeroed bytes. NULL + ENOMEM when the product overflows or cannot be served. */
CARVE_API void  *carve_calloc(size_t n, size_t size);
/* Resize p to size bytes, keeping min(old, size) bytes of content. p NULL: carve_malloc(size).
 * size 0 with p non-NULL: frees p and returns NULL (glibc's behaviour). On failure returns NULL
 * with ENOMEM and p stays valid and unchanged. May return p itself (grown or shrunk in place).
 * A p carve never handed out, or already freed, is reported as misuse. */
CARVE_API void  *carve_realloc(void *p, size_t size);
/* carve_realloc(p, n * size), with NULL + ENOMEM when the product overflows (p stays valid). */
CARVE_API void  *carve_reallocarray(void *p, size_t n, size_t size);
/* Give back a block. NULL is ignored. errno is preserved. A double free, or a pointer on the
 * stack, in a global, inside a block or misaligned, is reported as misuse, never followed. */
CARVE_API void   carve_free(void *p);
/* size bytes aligned to align. align must be a power of two (any size, up to 2^40), else
 * NULL + EINVAL. size need not be a multiple of align. */
CARVE_API void  *carve_aligned_alloc(size_t align, size_t size);
/* *out = a block of size bytes aligned to align. Returns 0, EINVAL (align not a power of two
 * or not a multiple of sizeof(void *)), or ENOMEM. *out is untouched on failure; errno is not
 * changed. */
CARVE_API int    carve_posix_memalign(void **out, size_t align, size_t size);
/* The bytes usable in block p (at least what was asked for). 0 for NULL. A pointer carve never
 * handed out, or a freed block, is reported as misuse (and gives 0 when the policy continues). */
CARVE_API size_t carve_usable_size(const void *p);

/* A snapshot over all threads: capacity = bytes mapped from the OS for blocks (segments and
 * large mappings, including those cached or decommitted), used = bytes in live blocks (their
 * block sizes), free = capacity - used, requested = used (carve does not store the requested
 * size), peak_requested = the highest used seen by a carve_stats_get call (a sampled mark,
 * not a true high-water mark: keeping one would cost every malloc and free a shared counter),
 * allocs/frees/failed = calls. Writes nothing if out was not prepared by carve_stats_init.
 * O(threads + segments). Counters of other threads are read without stopping them, so the
 * snapshot is approximate while they run. */
CARVE_API void   carve_stats_get(carve_stats *out);
/* Print the snapshot and the options as an aligned table or as one JSON object. out NULL:
 * through carve_output (never allocates); otherwise to the stdio stream. O(threads + segments),
 * as carve_stats_get. */
CARVE_API void   carve_stats_print(FILE *out, bool json);

/* Return memory to the OS now: the calling thread adopts the segments of exited threads,
 * collects the blocks other threads freed into its pages, releases every empty page and unmaps
 * its empty segments; then the free slices of every segment of every thread are decommitted
 * (under each segment's lock) and the cached large mappings unmapped. Every other live thread
 * also trims its own pages at its next slow path. Returns true when anything was given back.
 * O(pages of the calling thread + blocks to collect + all segments). (malloc_trim calls this.) */
CARVE_API bool   carve_trim(void);

/* Check the calling thread's heap: every page's counts and lists, every free block's marker;
 * and the huge blocks of all threads with the cache of freed ones (no two overlap). Returns the
 * number of violated invariants (0 = sound). O(blocks of the calling thread + huge blocks^2). */
CARVE_API size_t carve_malloc_check(void);

/* Visit each carved block of the calling thread's pages in address order: small blocks carved
 * so far (free or in use; payload = usable bytes, 0 when free) and large blocks. Huge blocks
 * and other threads' blocks are not visited. fn must not allocate or free with carve.
 * O(segments^2 + blocks of the calling thread). */
CARVE_API void carve_malloc_walk(carve_walk_fn fn, void *ctx);

/* Options, read once from the environment at the first allocation. One table in
 * src/malloc/options.c drives the parsing, carve_option_get and the table in docs/malloc.md. */
typedef enum carve_option {
    CARVE_OPTION_STATS,          /* CARVE_STATS=0|1: print statistics at exit             */
    CARVE_OPTION_STATS_JSON,     /* CARVE_STATS_JSON=0|1: ... as JSON                     */
    CARVE_OPTION_VERBOSE,        /* CARVE_VERBOSE=0|1: report OS failures and options     */
    CARVE_OPTION_PURGE_DELAY_MS, /* CARVE_PURGE_DELAY_MS=0..60000: empty memory decommit  */
    CARVE_OPTION_SECURE,         /* CARVE_SECURE=0|1: encoded lists, guard pages, canaries*/
    CARVE_OPTION_ON_ERROR,       /* CARVE_ON_ERROR=abort|warn|ignore (0|1|2)              */
    CARVE_OPTION_VALGRIND,       /* CARVE_VALGRIND=0|1: annotate blocks under Valgrind    */
    CARVE_OPTION_COUNT
} carve_option;

enum { CARVE_ON_ERROR_ABORT = 0, CARVE_ON_ERROR_WARN = 1, CARVE_ON_ERROR_IGNORE = 2 };

/* The value of an option (its default when unset or invalid); -1 for an unknown option.
 * Reading it first initialises carve's options from the environment. O(1). */
CARVE_API long carve_option_get(carve_option opt);

/* A description of option opt for documentation: NULL for an unknown option. O(1); the strings
 * are static. */
typedef struct carve_option_info {
    const char *name;        /* environment variable, e.g. "CARVE_STATS" */
    const char *values;      /* accepted values, e.g. "0|1"              */
    const char *default_str; /* the default, as it is written            */
    const char *doc;         /* one sentence                             */
} carve_option_info;
CARVE_API const carve_option_info *carve_option_describe(carve_option opt);

#ifdef __cplusplus
}
#endif
#endif /* CARVE_MALLOC_H */
