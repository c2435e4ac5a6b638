/*
 * tools/carve/map.h: the heap map, an SVG of one allocator replaying one trace.
 *
 * Three views, built on the allocator's walk:
 * - the heap over time: address across (compressed to block boundaries, as villoc does: every
 *   stretch between two boundaries gets a width that grows only with the log of its length),
 *   time down (sampled rows; a rectangle unchanged from one row to the next is drawn once, as
 *   a tall one); used blocks coloured per allocation, free blocks grey, headers and
 *   control data hatched, white where the allocator has taken nothing yet; the row of the peak
 *   footprint marked in red;
 * - beside it, the layout at the peak footprint (or after --at OP) on a true address scale,
 *   wrapped over lines, one <g class="blk"> per block with a tooltip (blocks under half a
 *   pixel are drawn together, as one <g class="run">);
 * - below, live requested bytes and footprint over time (massif's view).
 */
#ifndef CARVE_LAB_MAP_H
#define CARVE_LAB_MAP_H

#include "lab.h"

typedef struct lab_map_opts {
    long at;      /* draw the side layout after this operation (0-based); -1: at the peak */
    int rows;     /* sampled rows of the time view; 0: up to 120 */
} lab_map_opts;

typedef struct lab_map_info {
    size_t rows, side_blocks, side_op, peak_op, peak_footprint;
} lab_map_info;

/* Replay plan through ad (which must have a walk) and write the SVG to svg. 0, or -1 with a
 * message in err. */
int lab_map_write(const lab_plan *plan, const lab_adapter *ad, const lab_map_opts *opts, FILE *svg,
                  lab_map_info *info, char *err, size_t errlen);
/* An HTML page, to sit beside the SVG at svg_path, that embeds it (an <object>, so that its
 * tooltips work), with a title and a legend. */
int lab_map_write_html(FILE *html, const char *svg_path, const char *title, const lab_map_info *info);

#endif
