/*
 * tools/carve/lab.h: the lab's engine, shared by the `carve` subcommands and the lab tests.
 *
 * - lab_adapter: one allocator behind a small vtable (create with a grow arena, alloc, realloc,
 *   free, usable_size, walk, stats, check, destroy). Each allocator lives in its own adapt_*.c;
 *   adapters.c lists the ones whose allocator is built (CARVE_LAB_HAVE_* from carve.cmake).
 * - lab_arena: the memory the caller-memory allocators grow into. The footprint of such an
 *   allocator is what it took from its arena (headers and control data included).
 * - lab_plan: a trace checked for meaning (ids made dense, frees of unknown ids and reallocs of
 *   freed ids reported and dropped), with its peak of live requested bytes.
 * - lab_replay: runs a plan through an adapter, checking every block's content, and measures.
 *
 * Nothing here is thread-safe; the lab runs one replay at a time.
 */
#ifndef CARVE_LAB_H
#define CARVE_LAB_H

#include "carve/common.h"
#include "trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the grow arena ------------------------------------------------------------------------ */

/* A bump range of reserved address space; pages are touched only as the allocator uses them.
 * Chunks given back (slab's release) are kept for reuse of the same size. */
typedef struct lab_arena {
    unsigned char *base;
    size_t reserved, top;        /* bytes reserved; bytes handed out from base          */
    size_t granted, peak;        /* bytes held by the allocator now; their high-water  */
    size_t granule;              /* requests are rounded up to this (a power of two)    */
    bool align_pow2;             /* a power-of-two request of a page or more is aligned to
                                    its size (slabs); the gap is address space only      */
    struct lab_chunk *spare;     /* chunks given back, for reuse                        */
} lab_arena;

int lab_arena_open(lab_arena *a, size_t reserve, size_t granule);
void lab_arena_close(lab_arena *a);
/* Forget the chunks given back (before the arena is reused from its start). */
void lab_arena_close_spares(lab_arena *a);
/* carve_grow_fn over a lab_arena (ctx). */
void *lab_arena_grow(void *ctx, size_t min_bytes, size_t *got);
/* The release callback of the slab config over a lab_arena. */
void lab_arena_release(void *ctx, void *mem, size_t bytes);

/* ---- adapters ------------------------------------------------------------------------------ */

typedef struct lab_env {
    lab_arena *arena;       /* the adapter grows into it (NULL for libc and malloc)   */
    size_t hint;            /* a size hint for fixed-region allocators: peak live bytes */
} lab_env;

typedef struct lab_adapter {
    const char *name, *about;
    size_t align;                   /* the payload alignment it guarantees               */
    bool rss_footprint;             /* footprint is RSS growth: replay in a forked child  */
    void *(*create)(const lab_env *env);
    void *(*alloc)(void *a, size_t size);
    void *(*realloc)(void *a, void *p, size_t size);      /* NULL: alloc + copy + free  */
    carve_status (*free)(void *a, void *p);
    size_t (*usable)(void *a, const void *p);
    void (*walk)(void *a, carve_walk_fn fn, void *ctx);    /* NULL: no map                */
    bool (*stats)(void *a, carve_stats *out);              /* NULL or false: n/a          */
    size_t (*check)(void *a);                              /* NULL: no checker            */
    size_t (*footprint)(void *a);   /* bytes taken now; NULL: the arena's granted bytes  */
    void (*destroy)(void *a);
    /* NULL, or why a replay may be slow, said when it runs over its time budget (the list
     * policies in a non-ADDRESS order: "searches a list of every free block: O(free blocks)
     * per operation"). */
    const char *cost;
} lab_adapter;

/* Every adapter built into this carve, in display order; NULL-terminated. */
extern const lab_adapter *const lab_adapters[];
const lab_adapter *lab_find_adapter(const char *name);
/* Parse "a,b,c" (or "all") into out[max]; returns the count, or -1 with a message in err. */
int lab_parse_alloc_list(const char *list, const lab_adapter **out, size_t max, char *err, size_t errlen);

/* ---- plans --------------------------------------------------------------------------------- */

typedef struct lab_op {
    char kind;        /* 'a', 'r', 'f' */
    uint32_t slot;    /* dense id */
    size_t size;
    uint32_t line;
} lab_op;

typedef struct lab_plan {
    const char *path;
    lab_op *ops;
    size_t nops, nslots;
    size_t skipped;         /* operations dropped as meaningless */
    size_t peak_live;       /* the high-water mark of live requested bytes */
    size_t peak_op;         /* the index in ops[] right after which it is first reached */
} lab_plan;

/* Check t for meaning and build a plan. Each dropped operation is reported on warn (if not NULL)
 * as "FILE:LINE: ...; skipped", at most max_warnings lines, then a count. 0, or -1 when out of
 * memory. */
int lab_plan_build(const trace *t, lab_plan *out, FILE *warn, size_t max_warnings);
void lab_plan_free(lab_plan *p);

/* ---- replay -------------------------------------------------------------------------------- */

typedef struct lab_result {
    char trace[256], alloc[32];
    size_t ops, failures;
    size_t peak_live, peak_footprint;
    double utilisation;         /* peak_live / peak_footprint; 0 when no footprint        */
    size_t internal_frag;       /* usable minus requested over live blocks, at peak_op    */
    double external_frag;       /* 1 - largest free / free at peak_op; < 0: n/a           */
    double ns_per_op;           /* a second pass with no per-op timer and no content check */
    uint64_t p99_ns, max_ns;    /* of one operation, from the first pass                  */
    size_t timing_faults;       /* page faults during the timing pass (0 when its memory is
                                   already in place, as it should be)                      */
    size_t peak_footprint_op;   /* the op after which the footprint first reached its peak */
    bool error;                 /* a content or invariant error: figures are not valid    */
    bool timed_out;             /* stopped after ops operations: over the time budget     */
    size_t planned_ops;         /* the operations of the plan (ops < planned_ops if timed out) */
    double budget_s;            /* the time budget it had, in seconds (0: none)           */
    const char *cost;           /* the adapter's cost note (lab_adapter.cost), or NULL    */
    char message[256];
} lab_result;

typedef void (*lab_progress_fn)(void *ctx, size_t done, size_t total);

typedef struct lab_replay_opts {
    /* progress(ctx, done, total): total counts both passes (2 x the plan's operations); called
     * once the replay has run progress_after_ns (0: one second), then at most every 0.1 s,
     * and a last time with done == total when it was called at all */
    lab_progress_fn progress; void *progress_ctx;
    uint64_t progress_after_ns;
    bool check_every_op;                            /* run the allocator's check each op */
    bool no_fork;                                   /* measure RSS in this process     */
    uint64_t budget_ns;                             /* 0, or give up after this long   */
} lab_replay_opts;

/* Replay plan through ad into *out. 0 when the figures are valid; -1 when the replay found an
 * error (out->error, out->message) or could not run. */
int lab_replay(const lab_plan *plan, const lab_adapter *ad, const lab_replay_opts *opts, lab_result *out);

/* One allocator, opened over a fresh arena (or none, for the RSS adapters). */
typedef struct lab_instance {
    const lab_adapter *ad;
    void *a;
    lab_arena arena;
    bool have_arena;
} lab_instance;
int lab_instance_open(lab_instance *in, const lab_adapter *ad, size_t hint);
void lab_instance_close(lab_instance *in);
size_t lab_instance_footprint(const lab_instance *in);
/* Apply op with no checking; ptr[] holds each slot's pointer (NULL: none). */
void lab_apply_op(lab_instance *in, void **ptr, const lab_op *op);

/* ---- output -------------------------------------------------------------------------------- */

typedef enum lab_format { LAB_TABLE, LAB_CSV, LAB_JSON } lab_format;
void lab_print_results(FILE *out, lab_format fmt, const lab_result *r, size_t n);
/* "12.5 KiB" style, into buf. */
const char *lab_human_bytes(size_t bytes, char *buf, size_t len);

/* ---- subcommands (argv[0] is the subcommand) ----------------------------------------------- */
int lab_cmd_replay(int argc, char **argv);
int lab_cmd_map(int argc, char **argv);
int lab_cmd_sim(int argc, char **argv);
int lab_cmd_record(int argc, char **argv);

#endif /* CARVE_LAB_H */
