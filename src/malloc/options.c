/*
 * src/malloc/options.c: carve malloc's options and statistics output.
 *
 * One table (opt_table) drives three things: the parsing of the CARVE_* environment variables
 * (once, at the first allocation), carve_option_get / carve_option_describe, and the options
 * table in docs/malloc.md (the test docs_table_matches_the_option_table in
 * tests/unit/malloc_test.c builds each row from this table and finds it in the docs). Parsing only calls getenv: no allocation, safe while libc starts up. A value that
 * does not parse prints one warning through carve_output and keeps the default.
 */
#include "malloc/malloc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct opt_def {
    carve_option_info info;
    long def, min, max;
    const char *const *words; /* for enumerations: value i is words[i] */
} opt_def;

static const char *const on_error_words[] = {"abort", "warn", "ignore", NULL};

static const opt_def opt_table[CARVE_OPTION_COUNT] = {
    [CARVE_OPTION_STATS] = {{"CARVE_STATS", "0, 1", "0", "Print statistics (a table) through carve_output at exit."}, 0, 0, 1, NULL},
    [CARVE_OPTION_STATS_JSON] = {{"CARVE_STATS_JSON", "0, 1", "0", "Print statistics as one JSON object at exit."}, 0, 0, 1, NULL},
    [CARVE_OPTION_VERBOSE] = {{"CARVE_VERBOSE", "0, 1", "0", "Report the options in effect at start-up and every failed OS mapping."}, 0, 0, 1, NULL},
    [CARVE_OPTION_PURGE_DELAY_MS] = {{"CARVE_PURGE_DELAY_MS", "0..60000", "100", "Milliseconds between purge ticks: free memory is returned to the OS one to two delays after it was freed (0: at once); cached large mappings are unmapped after one delay, empty segments after four."}, 100, 0, 60000, NULL},
    [CARVE_OPTION_SECURE] = {{"CARVE_SECURE", "0, 1", "0", "Encoded free lists, a guard page at the end of every span and huge mapping, and a canary after each small block, checked on free."}, 0, 0, 1, NULL},
    [CARVE_OPTION_VALGRIND] = {{"CARVE_VALGRIND", "0, 1", "1", "Under Valgrind, describe every block to memcheck (client requests); 0 keeps the fast paths, e.g. for callgrind counts."}, 1, 0, 1, NULL},
    [CARVE_OPTION_ON_ERROR] = {{"CARVE_ON_ERROR", "abort, warn, ignore", "abort", "What a detected misuse does after its one-line report (ignore: no report)."}, 0, 0, 2, on_error_words},
};

long cm_option_values[CARVE_OPTION_COUNT];
static int options_state; /* cm_once_begin: 0 none, pid parsing, -1 done */

static bool parse_value(const opt_def *d, const char *s, long *out)
{
    if (d->words != NULL) {
        for (long i = 0; d->words[i] != NULL; i++) {
            if (strcmp(s, d->words[i]) == 0) {
                *out = i;
                return true;
            }
        }
        return false;
    }
    if (*s == '\0') return false;
    long v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > d->max) return false;
        v = v * 10 + (*s - '0');
    }
    if (v < d->min || v > d->max) return false;
    *out = v;
    return true;
}

void cm_options_init(void)
{
    if (!cm_once_begin(&options_state)) return;
    for (int i = 0; i < CARVE_OPTION_COUNT; i++) {
        const opt_def *d = &opt_table[i];
        long v = d->def;
        const char *s = getenv(d->info.name);
        if (s != NULL && !parse_value(d, s, &v)) {
            carve_outputf("carve: ignoring %s=%s (expected %s); using %s\n", d->info.name, s,
                          d->info.values, d->info.default_str);
            v = d->def;
        }
        cm_option_values[i] = v;
    }
    __atomic_store_n(&options_state, -1, __ATOMIC_RELEASE);
    if (cm_option_values[CARVE_OPTION_VERBOSE]) {
        char line[256];
        size_t n = (size_t)snprintf(line, sizeof line, "carve: options:");
        for (int i = 0; i < CARVE_OPTION_COUNT && n < sizeof line; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%ld", opt_table[i].info.name,
                                  cm_option_values[i]);
        carve_outputf("%s\n", line);
    }
}

long carve_option_get(carve_option opt)
{
    if ((unsigned)opt >= CARVE_OPTION_COUNT) return -1;
    cm_options_init();
    return cm_option_values[opt];
}

const carve_option_info *carve_option_describe(carve_option opt)
{
    return (unsigned)opt < CARVE_OPTION_COUNT ? &opt_table[opt].info : NULL;
}

/* ---- statistics output ----------------------------------------------------------------------- */
void cm_stats_emit(const carve_stats *st, size_t segments, size_t huge_cached, bool json,
                   cm_emit_fn emit, void *ctx)
{
    char buf[2048];
    size_t n = 0;
#define PUT(...)                                                                               \
    do {                                                                                       \
        if (n < sizeof buf) n += (size_t)snprintf(buf + n, sizeof buf - n, __VA_ARGS__);       \
    } while (0)
    const char *names[] = {"capacity", "used", "free", "peak_used"};
    size_t vals[] = {st->capacity, st->used, st->free, st->peak_requested};
    const char *cnames[] = {"allocs", "frees", "failed"};
    uint64_t cvals[] = {st->allocs, st->frees, st->failed};
    if (json) {
        PUT("{");
        for (int i = 0; i < 4; i++) PUT("\"%s\":%zu,", names[i], vals[i]);
        for (int i = 0; i < 3; i++) PUT("\"%s\":%llu,", cnames[i], (unsigned long long)cvals[i]);
        PUT("\"mappings\":%zu,\"huge_cached\":%zu,\"options\":{", segments, huge_cached);
        for (int i = 0; i < CARVE_OPTION_COUNT; i++)
            PUT("%s\"%s\":%ld", i ? "," : "", opt_table[i].info.name, cm_option_values[i]);
        PUT("}}\n");
    } else {
        PUT("carve malloc statistics\n");
        for (int i = 0; i < 4; i++) PUT("  %-12s %14zu bytes\n", names[i], vals[i]);
        for (int i = 0; i < 3; i++)
            PUT("  %-12s %14llu\n", cnames[i], (unsigned long long)cvals[i]);
        PUT("  %-12s %14zu\n  %-12s %14zu bytes\n", "mappings", segments, "huge_cached",
            huge_cached);
        for (int i = 0; i < CARVE_OPTION_COUNT; i++)
            PUT("  %-20s %6ld\n", opt_table[i].info.name, cm_option_values[i]);
    }
#undef PUT
    emit(ctx, buf);
}

static void emit_output(void *ctx, const char *text)
{
    (void)ctx;
    carve_output(text);
}

static void emit_file(void *ctx, const char *text) { fputs(text, (FILE *)ctx); }

void carve_stats_print(FILE *out, bool json)
{
    int saved = errno;
    cm_options_init();
    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    size_t huge_cached = 0, segments = cm_segment_count(&huge_cached);
    if (out == NULL) cm_stats_emit(&st, segments, huge_cached, json, emit_output, NULL);
    else cm_stats_emit(&st, segments, huge_cached, json, emit_file, out);
    errno = saved;
}

__attribute__((destructor)) static void stats_at_exit(void)
{
    cm_options_init(); /* a program that never allocated has not read them yet */
    if (cm_option_values[CARVE_OPTION_STATS_JSON]) carve_stats_print(NULL, true);
    else if (cm_option_values[CARVE_OPTION_STATS]) carve_stats_print(NULL, false);
}
