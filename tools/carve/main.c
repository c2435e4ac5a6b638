/*
 * tools/carve/main.c: `carve`, the lab. One subcommand per job:
 *   carve replay [--alloc LIST] [--format table|csv|json] TRACE...   measure allocators on traces
 *   carve map    --alloc NAME [-o FILE.svg] [--at OP] TRACE          draw the heap over time
 *   carve sim    [OSTEP malloc.py options]                           the free-list simulator
 *   carve record -o FILE.rep -- PROGRAM [ARGS...]                    record a program's mallocs
 */
#include "lab.h"

#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: carve COMMAND [ARGS]\n"
                 "  replay [--alloc LIST] [--format table|csv|json] TRACE...  compare allocators on traces\n"
                 "  map    --alloc NAME [-o FILE.svg] [--at OP] TRACE          an SVG heap map (and .html)\n"
                 "  sim    [-s -S -b -H -a -p -l -C -n -r -P -A -c]            OSTEP's malloc.py simulator\n"
                 "  record -o FILE.rep -- PROGRAM [ARGS...]                    record a program's allocations\n"
                 "carve COMMAND --help tells more.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "replay") == 0) return lab_cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "map") == 0) return lab_cmd_map(argc - 1, argv + 1);
    if (strcmp(cmd, "sim") == 0) return lab_cmd_sim(argc - 1, argv + 1);
    if (strcmp(cmd, "record") == 0) return lab_cmd_record(argc - 1, argv + 1);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "carve: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
