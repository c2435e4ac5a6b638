/*
 * src/common.c: the status names, the stats-version check and the output channel.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

CARVE_API const char *carve_strerror(carve_status s)
{
    switch (s) {
    case CARVE_OK: return "ok";
    case CARVE_ENOMEM: return "out of memory";
    case CARVE_EINVAL: return "invalid argument";
    case CARVE_EFOREIGN: return "pointer not handed out by this allocator";
    case CARVE_EDOUBLEFREE: return "double free";
    case CARVE_ECORRUPT: return "allocator metadata corrupted";
    }
    return "unknown status";
}

bool carve_stats_begin(carve_stats *out)
{
    if (out == NULL || out->version != CARVE_STATS_VERSION || out->size < sizeof(carve_stats))
        return false;
    uint32_t size = out->size;
    *out = (carve_stats){0};
    out->version = CARVE_STATS_VERSION;
    out->size = size;
    return true;
}

static void write_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    size_t left = strlen(msg);
    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, msg, left);
        if (n <= 0) return;
        msg += n;
        left -= (size_t)n;
    }
}

static carve_output_fn output_fn = write_stderr;
static void *output_ctx;

CARVE_API void carve_set_output(carve_output_fn fn, void *ctx)
{
    output_fn = fn != NULL ? fn : write_stderr;
    output_ctx = fn != NULL ? ctx : NULL;
}

void carve_output(const char *msg) { output_fn(output_ctx, msg); }

void carve_outputf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    carve_output(buf);
}
