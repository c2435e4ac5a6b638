/*
 * tools/carve/sim.h: the free-list simulator of OSTEP's homework (vm-freespace/malloc.py),
 * for teaching: the same options, the same output, line for line.
 *
 * The heap is a list of free (address, size) chunks; an allocation rounds its size up to the
 * alignment, adds the header, and takes the chunk the policy picks (splitting off the rest); a
 * free puts the chunk back where the list order says, and with coalescing merges neighbours that
 * sit next to each other in the list. Extensions beyond malloc.py (documented in docs/lab.md):
 * the NEXT policy (first fit from where the previous search stopped), --min-split N (a chunk is
 * split only when at least N bytes would remain; otherwise it is handed out whole), and
 * --carve-heap, which makes the simulator place blocks exactly as carve_heap does (docs/lab.md):
 *   - a request of n bytes needs max(min split, align_up(n + header, alignment)) bytes (the
 *     header is added before rounding; malloc.py rounds n first), the min split defaulting to
 *     align_up(4 * header, alignment);
 *   - the remainder of a split keeps its chunk's place, except in the SIZESORT orders, where it
 *     is re-inserted; ties in the SIZESORT orders go by address;
 *   - NEXT resumes at the chunk the previous search ended on (or its successor in the list when
 *     that chunk left the list), and wraps once;
 *   - -C merges a freed chunk with the free chunks physically next to it, whatever the list
 *     order, and inserts the result by the list order.
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
    bool carve_heap;                       /* place as carve_heap does */
} sim_config;

void sim_config_default(sim_config *c);
/* Parse malloc.py's options (argv[0] is the command name) into c. 0, or -1 with a message. */
int sim_parse_args(int argc, char **argv, sim_config *c, char *err, size_t errlen);
/* Run and print as malloc.py does. 0, or -1 with a message (a badly specified operation). */
int sim_run(const sim_config *c, FILE *out, char *err, size_t errlen);

#endif
