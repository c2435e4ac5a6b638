/*
 * src/malloc/malloc_internal.h: what malloc.c, options.c and override.c share.
 *
 * The cm_* names are hidden aliases of the public carve_* functions, so that override.c (built
 * into libcarve-malloc.so only) reaches them with a direct call instead of through the PLT.
 */
#ifndef CARVE_MALLOC_INTERNAL_H
#define CARVE_MALLOC_INTERNAL_H

#include "carve/malloc.h"
#include "internal.h"

#include <sched.h>
#include <unistd.h>

#define CM_HIDDEN __attribute__((visibility("hidden")))

CM_HIDDEN void  *cm_malloc(size_t size);
CM_HIDDEN void  *cm_calloc(size_t n, size_t size);
CM_HIDDEN void  *cm_realloc(void *p, size_t size);
CM_HIDDEN void  *cm_reallocarray(void *p, size_t n, size_t size);
CM_HIDDEN void   cm_free(void *p);
CM_HIDDEN void  *cm_aligned_alloc(size_t align, size_t size);
CM_HIDDEN int    cm_posix_memalign(void **out, size_t align, size_t size);
CM_HIDDEN size_t cm_usable_size(const void *p);

/* A one-time initialisation that fork cannot wedge. *state is 0 (not run), negative (done: the
 * caller's own codes), or the pid of the process one of whose threads is running it. Returns
 * true when the caller must run it now (and then store a negative value); false once it is
 * done. A thread of the same process waits for the runner; a forked child whose parent was
 * running it when it forked (that thread does not exist in the child) runs it again itself. */
static inline bool cm_once_begin(int *state)
{
    for (;;) {
        int st = __atomic_load_n(state, __ATOMIC_ACQUIRE);
        if (st < 0) return false;
        int me = (int)getpid();
        if (st != me) {
            if (__atomic_compare_exchange_n(state, &st, me, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return true;
            continue;
        }
        sched_yield(); /* another thread of this process runs it */
    }
}

/* options.c: the option values, parsed once (cm_options_init is idempotent, allocation-free
 * and safe before libc is fully initialised: it only calls getenv). */
CM_HIDDEN void cm_options_init(void);
CM_HIDDEN extern long cm_option_values[CARVE_OPTION_COUNT];

/* options.c: print the statistics snapshot st (table or JSON) through emit. */
typedef void (*cm_emit_fn)(void *ctx, const char *text);
CM_HIDDEN void cm_stats_emit(const carve_stats *st, size_t segments, size_t huge_cached, bool json,
                             cm_emit_fn emit, void *ctx);
CM_HIDDEN size_t cm_segment_count(size_t *huge_cached_bytes);

#endif /* CARVE_MALLOC_INTERNAL_H */
