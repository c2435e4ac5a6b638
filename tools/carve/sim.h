/*
 * tools/carve/sim.h: the free-list simulator of OSTEP's homework (vm-freespace/malloc.py),
 * for teaching: the same options, the same output, line for line.
 *
 * The heap is a list of free (address, size) chunks; an allocation rounds its size up to the
 * alignment, adds the header, and takes the chunk the policy picks (splitting off the rest); a
 * free puts the chunk back where the list order says, and with coalescing merges neighbours that
 * sit next to each other in the list. Extensions beyond malloc.py (documented in docs/lab.md):
 * the NEXT policy (first fit from where the previous search stopped), and a heap-compatible mode
 * (min_split > 0) in which a chunk is split only when the rest is at least min_split bytes, as
 * carve_heap does; the whole chunk is handed out otherwise.
 */
#ifndef CARVE_LAB_SIM_H
#define CARVE_LAB_SIM_H

#include <stdbool.h>
#include <stdio.h>

typedef enum sim_policy { SIM_BEST, SIM_WORST, SIM_FIRST, SIM_NEXT } sim_policy;
typedef enum sim_order { SIM_ADDRSORT, SIM_SIZESORT_UP, SIM_SIZESORT_DOWN, SIM_INSERT_FRONT, SIM_INSERT_BACK } sim_order;

typedef struct sim_config {
    long seed, size, base, header, align;  /* align -1: none */
    sim_policy policy;
    sim_order order;
    bool coalesce, compute;
    long numops, range, percent;
    const char *ops;                       /* "+10,-0,..." or "" for random operations */
    long min_split;                        /* 0: malloc.py's exact splitting */
} sim_config;

void sim_config_default(sim_config *c);
/* Parse malloc.py's options (argv[0] is the command name) into c. 0, or -1 with a message. */
int sim_parse_args(int argc, char **argv, sim_config *c, char *err, size_t errlen);
/* Run and print as malloc.py does. 0, or -1 with a message (a badly specified operation). */
int sim_run(const sim_config *c, FILE *out, char *err, size_t errlen);

#endif
