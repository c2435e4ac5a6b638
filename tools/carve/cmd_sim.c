/*
 * tools/carve/cmd_sim.c: carve sim, OSTEP's malloc.py (see sim.h).
 */
#include "lab.h"
#include "sim.h"

#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: carve sim [options]   (OSTEP's vm-freespace/malloc.py, same options and output)\n"
            "  -s SEED          the random seed (0)\n"
            "  -S SIZE          size of the heap (100)\n"
            "  -b ADDR          base address of the heap (1000)\n"
            "  -H SIZE          size of the header (0)\n"
            "  -a ALIGN         align allocated units to ALIGN; -1: no alignment (-1)\n"
            "  -p POLICY        BEST, WORST, FIRST or NEXT (BEST)\n"
            "  -l ORDER         ADDRSORT, SIZESORT+, SIZESORT-, INSERT-FRONT, INSERT-BACK (ADDRSORT)\n"
            "  -C               coalesce the free list\n"
            "  -n N             number of random operations (10)\n"
            "  -r N             largest random allocation (10)\n"
            "  -P PERCENT       percentage of random operations that allocate (50)\n"
            "  -A LIST          the operations instead: +SIZE allocates, -INDEX frees ptr[INDEX]\n"
            "  -c               compute the answers\n"
            "  --min-split N    split a chunk only when N or more bytes would remain\n"
            "  --carve-heap     place blocks exactly as carve_heap does (give -H 8 -a 16 for its defaults)\n");
}

int lab_cmd_sim(int argc, char **argv)
{
    sim_config c;
    char err[256];
    if (sim_parse_args(argc, argv, &c, err, sizeof err) != 0) {
        if (strcmp(err, "help") == 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "carve sim: %s\n", err);
        usage(stderr);
        return 2;
    }
    if (sim_run(&c, stdout, err, sizeof err) != 0) {
        fflush(stdout);
        fprintf(stderr, "carve sim: %s\n", err);
        return 2;
    }
    return 0;
}
