/*
 * tools/lib/trace.h: the CS:APP .rep trace format, read once for the lab and the benchmarks.
 *
 * Format: four header lines (suggested heap size, number of ids, number of operations, weight),
 * then one operation per line: `a ID SIZE`, `r ID SIZE`, `f ID`. Blank lines and lines starting
 * with '#' are skipped. A file ending in .gz is read through `gzip -dc`. carve record writes the
 * same format, with the header counts it knows.
 *
 * The reader checks syntax only (every error names the file and the line). Whether an id is live
 * when freed is the replayer's business: it reports and skips such operations.
 */
#ifndef CARVE_TOOLS_TRACE_H
#define CARVE_TOOLS_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef enum trace_kind { TRACE_ALLOC = 'a', TRACE_REALLOC = 'r', TRACE_FREE = 'f' } trace_kind;

typedef struct trace_op {
    uint32_t id;
    char kind;      /* a trace_kind */
    size_t size;    /* 0 for a free */
    uint32_t line;  /* line number in the file, for messages */
} trace_op;

typedef struct trace {
    char *path;
    size_t suggested_heap, weight;
    uint32_t nids;          /* 1 + the largest id used (the header's count may be smaller) */
    trace_op *ops;
    size_t nops;
} trace;

/* Read path into *out. 0 on success; -1 with a message "FILE:LINE: what" in err otherwise
 * (*out is then empty). */
int trace_load(const char *path, trace *out, char *err, size_t errlen);
/* Parse a trace from a NUL-terminated text (for tests); name is used in messages. */
int trace_parse(const char *name, const char *text, trace *out, char *err, size_t errlen);
void trace_free(trace *t);

#endif
