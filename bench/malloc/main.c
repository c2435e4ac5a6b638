/*
 * bench/malloc/main.c: carve-mbench WORKLOAD. Runs one workload of the malloc benchmark on
 * whichever allocator the process got (glibc, or one preloaded). scripts/bench.d/malloc.sh runs
 * it under each allocator through mbench-run, which measures wall time and peak RSS.
 */
#include "mbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(void);
} workloads[] = {
    {"simple", mbench_simple},   {"churn", mbench_churn},     {"realloc", mbench_realloc},
    {"xthread", mbench_xthread}, {"larson", mbench_larson},   {"scratch", mbench_scratch},
    {"large", mbench_large},     {"rss", mbench_rss},
};

uint64_t mbench_scaled(uint64_t count)
{
    const char *text = getenv("MBENCH_SCALE");
    uint64_t percent = text != NULL ? strtoull(text, NULL, 10) : 100;
    uint64_t scaled = count * (percent == 0 ? 100 : percent) / 100;
    return scaled > 0 ? scaled : 1;
}

int main(int argc, char **argv)
{
    size_t n = sizeof workloads / sizeof workloads[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++) printf("%s\n", workloads[i].name);
        return 0;
    }
    for (size_t i = 0; argc == 2 && i < n; i++) {
        if (strcmp(argv[1], workloads[i].name) != 0) continue;
        int failed = workloads[i].run();
        if (failed) fprintf(stderr, "carve-mbench %s: FAILED (corrupted or refused memory)\n", argv[1]);
        return failed ? 1 : 0;
    }
    fprintf(stderr, "usage: %s --list | WORKLOAD\n", argv[0]);
    return 2;
}
