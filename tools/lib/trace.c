/* tools/lib/trace.c: the .rep reader (see trace.h). */
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (err != NULL && errlen > 0) snprintf(err, errlen, "%s:%zu: %s", name, line, what);
    return -1;
}

/* Parse an unsigned decimal at *p, skipping leading blanks; advances *p. */
static int parse_uint(const char **p, unsigned long long *out)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE) return -1;
    *out = v;
    *p = end;
    return 0;
}

static int rest_is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    return *s == '\0';
}

int trace_parse(const char *name, const char *text, trace *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t cap = 1024, header_seen = 0, lineno = 0;
    unsigned long long header[4] = {0};
    trace_op *ops = malloc(cap * sizeof *ops);
    if (ops == NULL) return fail(err, errlen, name, 0, "out of memory");
    size_t nops = 0;
    uint32_t nids = 0;
    const char *line = text;
    char buf[512];
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        lineno++;
        if (len >= sizeof buf) {
            free(ops);
            return fail(err, errlen, name, lineno, "line too long");
        }
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = nl != NULL ? nl + 1 : line + len;
        const char *p = buf;
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (*p == '\0' || *p == '#') continue;
        if (header_seen < 4) {
            unsigned long long v;
            if (parse_uint(&p, &v) != 0 || !rest_is_blank(p)) {
                free(ops);
                return fail(err, errlen, name, lineno, "header line %zu: expected one number", header_seen + 1);
            }
            header[header_seen++] = v;
            continue;
        }
        char kind = *p++;
        if (kind != 'a' && kind != 'r' && kind != 'f') {
            free(ops);
            return fail(err, errlen, name, lineno, "unknown operation '%c' (expected a, r or f)", kind);
        }
        unsigned long long id, size = 0;
        if (parse_uint(&p, &id) != 0 || id >= UINT32_MAX) {
            free(ops);
            return fail(err, errlen, name, lineno, "'%c' needs an id (0 to %u)", kind, UINT32_MAX - 1);
        }
        if (kind != 'f' && (parse_uint(&p, &size) != 0 || size > SIZE_MAX / 2)) {
            free(ops);
            return fail(err, errlen, name, lineno, "'%c' needs a size", kind);
        }
        if (!rest_is_blank(p)) {
            free(ops);
            return fail(err, errlen, name, lineno, "unexpected text after the operation");
        }
        if (nops == cap) {
            trace_op *grown = realloc(ops, 2 * cap * sizeof *ops);
            if (grown == NULL) {
                free(ops);
                return fail(err, errlen, name, lineno, "out of memory");
            }
            ops = grown;
            cap *= 2;
        }
        ops[nops++] = (trace_op){.id = (uint32_t)id, .kind = kind, .size = (size_t)size,
                                 .line = (uint32_t)lineno};
        if (id + 1 > nids) nids = (uint32_t)(id + 1);
    }
    if (header_seen < 4) {
        free(ops);
        return fail(err, errlen, name, lineno, "truncated header: %zu of 4 lines", header_seen);
    }
    size_t name_len = strlen(name) + 1;
    out->path = malloc(name_len);
    if (out->path == NULL) {
        free(ops);
        return fail(err, errlen, name, lineno, "out of memory");
    }
    memcpy(out->path, name, name_len);
    out->suggested_heap = (size_t)header[0];
    out->weight = (size_t)header[3];
    out->nids = nids;
    out->ops = ops;
    out->nops = nops;
    return 0;
}

int trace_load(const char *path, trace *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(path);
    int gz = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    FILE *f;
    if (gz) {
        FILE *probe = fopen(path, "rb");
        if (probe == NULL) return fail(err, errlen, path, 0, "%s", strerror(errno));
        fclose(probe);
        /* the name goes to the shell inside single quotes: it must hold none (a name longer than
         * cmd would not have opened above: PATH_MAX is 4096) */
        char cmd[4200];
        if (strchr(path, '\'') != NULL || snprintf(cmd, sizeof cmd, "gzip -dc -- '%s'", path) >= (int)sizeof cmd)
            return fail(err, errlen, path, 0, "unsupported file name (a .gz name with a ' in it)");
        f = popen(cmd, "r");
        if (f == NULL) return fail(err, errlen, path, 0, "cannot run gzip: %s", strerror(errno));
    } else {
        f = fopen(path, "rb");
    }
    if (f == NULL) return fail(err, errlen, path, 0, "%s", strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (text == NULL) break;
        if (len + 1 == cap) {
            char *grown = realloc(text, cap * 2);
            if (grown == NULL) { free(text); text = NULL; break; }
            text = grown;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - 1 - len, f);
        if (got == 0) break;
        len += got;
    }
    int read_errno = ferror(f) ? errno : 0;
    int status = gz ? pclose(f) : fclose(f);
    if (text == NULL) return fail(err, errlen, path, 0, "out of memory");
    if (read_errno != 0) { /* a directory, an I/O error */
        free(text);
        return fail(err, errlen, path, 0, "%s", strerror(read_errno));
    }
    if (gz && status != 0) {
        free(text);
        return fail(err, errlen, path, 0, "gzip could not decompress it");
    }
    text[len] = '\0';
    if (memchr(text, '\0', len) != NULL) {
        free(text);
        return fail(err, errlen, path, 0, "binary data in a text trace");
    }
    int rc = trace_parse(path, text, out, err, errlen);
    free(text);
    return rc;
}

void trace_free(trace *t)
{
    free(t->path);
    free(t->ops);
    memset(t, 0, sizeof *t);
}
