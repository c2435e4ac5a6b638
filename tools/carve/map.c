/*
 * tools/carve/map.c: the heap map (see map.h).
 *
 * Two replays without content checks: the first follows live bytes and footprint after every
 * operation (the massif series, and the operation where the footprint first peaks); the second
 * walks the allocator at the sampled operations, and at the side view's operation. Each used
 * block is matched to its allocation (the live pointer inside it) for its colour.
 */
#include "map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The colours, shared by the SVG's style sheet and the HTML page's legend. Used blocks take
 * hsl(10k, 65%, 55%), k = 0..35, by allocation. */
#define COLOUR_FREE   "#c8c8c8"   /* a free block                                  */
#define COLOUR_MANY   "#4a6fa5"   /* a run of blocks under a pixel, mostly used    */
#define HATCH_INK     "#8a6d3b"   /* headers and control data: ink lines on paper  */
#define HATCH_PAPER   "#f4e9d8"

typedef struct blk {
    size_t off, size;        /* the block, from the arena's base */
    size_t pay_off, payload; /* the user's bytes (used blocks) */
    uint32_t slot;
    bool used;
} blk;

typedef struct snap {
    size_t op;               /* the state after operation op */
    size_t footprint;
    blk *b;
    size_t n, cap;
} snap;

typedef struct walk_ctx {
    snap *s;
    uintptr_t base;
    const uintptr_t *ptrs;   /* live pointers, sorted, with their slots */
    const uint32_t *slots;
    size_t nlive;
} walk_ctx;

static void on_block(void *ctx, const carve_block_info *bi)
{
    walk_ctx *w = ctx;
    snap *s = w->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        blk *nb = realloc(s->b, cap * sizeof *nb);
        if (nb == NULL) return;
        s->b = nb;
        s->cap = cap;
    }
    blk b = {.off = bi->start - w->base, .size = bi->size, .used = bi->used, .slot = UINT32_MAX};
    if (bi->used) {
        /* the live pointer inside [start, start + size) */
        size_t lo = 0, hi = w->nlive;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (w->ptrs[mid] < bi->start) lo = mid + 1;
            else hi = mid;
        }
        if (lo < w->nlive && w->ptrs[lo] < bi->start + bi->size) {
            b.slot = w->slots[lo];
            b.pay_off = w->ptrs[lo] - w->base;
        } else {
            b.pay_off = b.off + (bi->size - bi->payload);
        }
        b.payload = bi->payload;
        if (b.pay_off + b.payload > b.off + b.size) b.payload = b.off + b.size - b.pay_off;
    }
    s->b[s->n++] = b;
}

typedef struct live_ref { uintptr_t p; uint32_t slot; } live_ref;

static int cmp_ref(const void *a, const void *b)
{
    uintptr_t x = ((const live_ref *)a)->p, y = ((const live_ref *)b)->p;
    return x < y ? -1 : x > y;
}

static int take_snapshot(lab_instance *in, void **ptr, size_t nslots, snap *s)
{
    live_ref *refs = malloc((nslots + 1) * sizeof *refs);
    uintptr_t *ptrs = malloc((nslots + 1) * sizeof *ptrs);
    uint32_t *slots = malloc((nslots + 1) * sizeof *slots);
    if (refs == NULL || ptrs == NULL || slots == NULL) {
        free(refs);
        free(ptrs);
        free(slots);
        return -1;
    }
    size_t n = 0;
    for (size_t k = 0; k < nslots; k++)
        if (ptr[k] != NULL) refs[n++] = (live_ref){(uintptr_t)ptr[k], (uint32_t)k};
    qsort(refs, n, sizeof *refs, cmp_ref);
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = refs[i].p;
        slots[i] = refs[i].slot;
    }
    walk_ctx w = {.s = s, .base = (uintptr_t)in->arena.base, .ptrs = ptrs, .slots = slots, .nlive = n};
    in->ad->walk(in->a, on_block, &w);
    /* The extent drawn: what the allocator holds, stretched to its last used block (slab's
     * size-aligned slabs leave gaps), within what the arena handed out. Free blocks beyond it
     * (the untouched tail of buddy's region) are address space, not footprint. */
    size_t extent = lab_instance_footprint(in);
    for (size_t k = s->n; k-- > 0;)
        if (s->b[k].used) {
            if (s->b[k].off + s->b[k].size > extent) extent = s->b[k].off + s->b[k].size;
            break;
        }
    s->footprint = extent < in->arena.top ? extent : in->arena.top;
    free(refs);
    free(ptrs);
    free(slots);
    return 0;
}

/* ---- drawing ------------------------------------------------------------------------------- */

enum { LEFT = 70, TOP = 60, MAIN_W = 900, SIDE_GAP = 50, SIDE_W = 380, SIDE_LINES = 64, CHART_H = 170 };

/* text made safe for XML and HTML (&, <, >, " escaped), into buf. */
static const char *xml_text(const char *text, char *buf, size_t len)
{
    size_t o = 0;
    for (; *text != '\0' && o + 7 < len; text++) {
        const char *rep = *text == '&' ? "&amp;" : *text == '<' ? "&lt;" : *text == '>' ? "&gt;" : *text == '"' ? "&quot;" : NULL;
        if (rep != NULL) {
            memcpy(buf + o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            buf[o++] = *text;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* One of 36 hues per allocation (CSS classes c0..c35), 36 for a block with no known owner. */
static unsigned slot_hue(uint32_t slot) { return slot == UINT32_MAX ? 36u : (unsigned)(slot * 137.508) % 360u / 10u; }

typedef struct axis {
    size_t *bound;  /* sorted unique boundaries */
    double *x;      /* their x position */
    size_t n;
} axis;

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int axis_build(axis *ax, const snap *snaps, size_t nsnaps)
{
    size_t cap = 2;
    for (size_t i = 0; i < nsnaps; i++) cap += 4 * snaps[i].n + 1;
    ax->bound = malloc(cap * sizeof *ax->bound);
    if (ax->bound == NULL) return -1;
    size_t n = 0;
    ax->bound[n++] = 0;
    for (size_t i = 0; i < nsnaps; i++) {
        ax->bound[n++] = snaps[i].footprint;
        for (size_t k = 0; k < snaps[i].n; k++) {
            const blk *b = &snaps[i].b[k];
            ax->bound[n++] = b->off;
            ax->bound[n++] = b->off + b->size;
            if (b->used) {
                ax->bound[n++] = b->pay_off;
                ax->bound[n++] = b->pay_off + b->payload;
            }
        }
    }
    qsort(ax->bound, n, sizeof *ax->bound, cmp_size);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || ax->bound[i] != ax->bound[u - 1]) ax->bound[u++] = ax->bound[i];
    ax->n = u;
    ax->x = malloc(u * sizeof *ax->x);
    if (ax->x == NULL) return -1;
    double total = 0;
    ax->x[0] = 0;
    /* A few boundaries: each stretch gets 1 + log2 of its length in 16-byte units (villoc's
     * idea: every block visible, big ones wider). Thousands: the square root of its length,
     * which still spreads small blocks out but keeps the picture's proportions. */
    bool few = u <= 1500;
    for (size_t i = 1; i < u; i++) {
        double len = (double)(ax->bound[i] - ax->bound[i - 1]);
        total += few ? 1.0 + log2(1.0 + len / 16.0) : sqrt(len);
        ax->x[i] = total;
    }
    for (size_t i = 0; i < u; i++) ax->x[i] = LEFT + (total > 0 ? ax->x[i] / total * MAIN_W : 0);
    return 0;
}

static double axis_x(const axis *ax, size_t off)
{
    size_t lo = 0, hi = ax->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ax->bound[mid] < off) lo = mid + 1;
        else hi = mid;
    }
    return lo < ax->n ? ax->x[lo] : LEFT + MAIN_W;
}

/* The time view is drawn as runs: a rectangle that is the same in consecutive rows (same
 * place, same kind, same colour) is one tall rectangle, so a long-lived block costs one element.
 * Within a row, rectangles narrower than a pixel are gathered into one, which takes the kind
 * (used or free) holding most of its bytes and, when used, the colour of its largest block. */
enum { K_CTL, K_FREE, K_USED };

typedef struct cell {
    double x0, x1;
    unsigned char kind, hue;
    size_t row0;            /* the first row of its run */
} cell;

typedef struct cells { cell *v; size_t n, cap; } cells;

static void cells_push(cells *c, cell x)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        cell *v = realloc(c->v, cap * sizeof *v);
        if (v == NULL) return;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = x;
}

typedef struct row_pen {
    cells *out;
    bool in_run;
    double x0, x1;
    size_t used, free, big;
    unsigned char hue;
} row_pen;

static void pen_flush(row_pen *p)
{
    if (p->in_run)
        cells_push(p->out, (cell){p->x0, p->x1, p->used > p->free ? K_USED : K_FREE, p->used > p->free ? p->hue : 0, 0});
    p->in_run = false;
}

static void pen_rect(row_pen *p, double x0, double x1, size_t bytes, int kind, unsigned hue)
{
    if (x1 - x0 < 1.0) {
        if (!p->in_run || x0 - p->x1 >= 0.5 || x1 - p->x0 >= 3) {
            pen_flush(p);
            *p = (row_pen){.out = p->out, .in_run = true, .x0 = x0};
        }
        p->x1 = x1 > p->x0 + 0.5 ? x1 : p->x0 + 0.5;
        if (kind == K_FREE) {
            p->free += bytes;
        } else {
            p->used += bytes;
            if (bytes >= p->big) {
                p->big = bytes;
                p->hue = (unsigned char)hue;
            }
        }
        return;
    }
    pen_flush(p);
    cells_push(p->out, (cell){x0, x1, (unsigned char)kind, (unsigned char)hue, 0});
}

static void row_cells(const axis *ax, const snap *s, cells *out)
{
    out->n = 0;
    row_pen p = {.out = out};
    /* everything taken is hatched first: what no block covers is control data */
    cells_push(out, (cell){LEFT, axis_x(ax, s->footprint), K_CTL, 0, 0});
    for (size_t k = 0; k < s->n; k++) {
        const blk *b = &s->b[k];
        if (b->used) pen_rect(&p, axis_x(ax, b->pay_off), axis_x(ax, b->pay_off + b->payload), b->payload, K_USED, slot_hue(b->slot));
        else pen_rect(&p, axis_x(ax, b->off), axis_x(ax, b->off + b->size), b->size, K_FREE, 0);
    }
    pen_flush(&p);
}

static void emit_cell(FILE *f, const cell *c, size_t row_end, double top, double rh)
{
    static const char *const cls[] = {"ctl", "free", ""};
    double y = top + rh * (double)c->row0, h = rh * (double)(row_end - c->row0) - (rh > 6 ? 1 : 0);
    if (c->kind == K_USED)
        fprintf(f, "<rect class=\"c%u\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", c->hue, c->x0, y,
                c->x1 - c->x0, h);
    else
        fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", cls[c->kind], c->x0,
                y, c->x1 - c->x0, h);
}

/* The order of cells in a row: the background first, then by place. */
static int cell_cmp(const cell *a, const cell *b)
{
    int ka = a->kind != K_CTL, kb = b->kind != K_CTL;
    if (ka != kb) return ka - kb;
    if (a->x0 != b->x0) return a->x0 < b->x0 ? -1 : 1;
    if (a->x1 != b->x1) return a->x1 < b->x1 ? -1 : 1;
    return a->kind != b->kind ? a->kind - b->kind : a->hue - b->hue;
}

/* Draw all rows; a cell of row r continues an identical open cell of row r-1. Both lists are
 * in cell_cmp order, so one merge pass pairs them; every open cell is closed exactly once. */
static void draw_timeline(FILE *out, const axis *ax, const snap *snaps, size_t rows, double top, double rh)
{
    /* Backgrounds go straight out; blocks go to a buffer written after them, to be on top. */
    char *blocks = NULL;
    size_t blocks_len = 0;
    FILE *body = open_memstream(&blocks, &blocks_len);
    if (body == NULL) return;
    cells open = {0}, cur = {0}, next = {0};
    for (size_t r = 0; r <= rows; r++) {
        if (r < rows) row_cells(ax, &snaps[r], &cur);
        else cur.n = 0;
        next.n = 0;
        size_t i = 0;
        for (size_t j = 0; j < cur.n; j++) {
            cell c = cur.v[j];
            c.row0 = r;
            while (i < open.n && cell_cmp(&open.v[i], &c) < 0) {
                emit_cell(open.v[i].kind == K_CTL ? out : body, &open.v[i], r, top, rh);
                i++;
            }
            if (i < open.n && cell_cmp(&open.v[i], &c) == 0) c.row0 = open.v[i++].row0;
            cells_push(&next, c);
        }
        for (; i < open.n; i++) emit_cell(open.v[i].kind == K_CTL ? out : body, &open.v[i], r, top, rh);
        cells t = open;
        open = next;
        next = t;
    }
    fclose(body);
    fwrite(blocks, 1, blocks_len, out);
    free(blocks);
    free(open.v);
    free(cur.v);
    free(next.v);
}

/* The side view: a true address scale over [0, footprint), wrapped over SIDE_LINES lines. */
static size_t draw_side(FILE *f, const snap *s, double x0, double y0, const char *title)
{
    size_t fp = s->footprint ? s->footprint : 1;
    size_t per_line = (fp + SIDE_LINES - 1) / SIDE_LINES;
    double lh = 7, px = (double)SIDE_W / (double)per_line;
    char buf[32];
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"title\">%s</text>\n", x0, y0 - 22, title);
    size_t shown = 0;
    while (shown < s->n && s->b[shown].off < s->footprint) shown++;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"small\">%s per line, %zu blocks</text>\n", x0, y0 - 8,
            lab_human_bytes(per_line, buf, sizeof buf), shown);
    size_t lines = (s->footprint + per_line - 1) / per_line;
    for (size_t l = 0; l < lines; l++) {
        size_t len = l + 1 < lines ? per_line : s->footprint - l * per_line;
        fprintf(f, "<rect class=\"ctl\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>\n", x0,
                y0 + (double)l * (lh + 1), (double)len * px, lh);
    }
    /* Blocks under half a pixel that sit on one line are drawn together, as one run. */
    size_t run_first = 0, run_n = 0, run_used = 0, run_line = 0;
    for (size_t k = 0; k <= s->n; k++) {
        const blk *b = k < s->n && s->b[k].off < s->footprint ? &s->b[k] : NULL;
        size_t from = 0, to = 0;
        if (b != NULL) {
            from = b->used ? b->pay_off : b->off;
            to = b->used ? b->pay_off + b->payload : b->off + b->size;
            if (to > s->footprint) to = s->footprint;
        }
        bool tiny = b != NULL && (double)(b->size) * px < 0.5 && b->off / per_line == (b->off + b->size - 1) / per_line;
        if (run_n > 0 && (!tiny || b->off / per_line != run_line || run_n >= 4096)) {
            const blk *a = &s->b[run_first], *z = &s->b[run_first + run_n - 1];
            fprintf(f, "<g class=\"run\"><title>%zu small blocks (%zu used) at +%zu</title><rect class=\"%s\" x=\"%.1f\" "
                       "y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/></g>\n",
                    run_n, run_used, a->off, 2 * run_used >= run_n ? "c36" : "free",
                    x0 + (double)(a->off - run_line * per_line) * px, y0 + (double)run_line * (lh + 1),
                    fmax((double)(z->off + z->size - a->off) * px, 0.3), lh);
            run_n = run_used = 0;
        }
        if (b == NULL) break;
        if (tiny) {
            if (run_n == 0) {
                run_first = k;
                run_line = b->off / per_line;
            }
            run_n++;
            run_used += b->used;
            continue;
        }
        char colour[16];
        snprintf(colour, sizeof colour, "c%u", slot_hue(b->slot));
        fprintf(f, "<g class=\"blk\"><title>");
        if (b->used && b->slot != UINT32_MAX)
            fprintf(f, "allocation slot %u: %zu usable bytes, block of %zu at +%zu", b->slot, b->payload, b->size, b->off);
        else if (b->used)
            fprintf(f, "used: %zu usable bytes, block of %zu at +%zu", b->payload, b->size, b->off);
        else
            fprintf(f, "free: %zu bytes at +%zu", b->size, b->off);
        fprintf(f, "</title>");
        while (from < to) {
            size_t line = from / per_line, end = (line + 1) * per_line < to ? (line + 1) * per_line : to;
            fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>", b->used ? colour : "free",
                    x0 + (double)(from - line * per_line) * px, y0 + (double)line * (lh + 1),
                    fmax((double)(end - from) * px, 0.3), lh);
            from = end;
        }
        fprintf(f, "</g>\n");
    }
    return shown;
}

static void draw_chart(FILE *f, const size_t *live, const size_t *fp, const size_t *ops, size_t n, size_t nops,
                       double y0)
{
    size_t top = 1;
    for (size_t i = 0; i < n; i++) {
        if (fp[i] > top) top = fp[i];
        if (live[i] > top) top = live[i];
    }
    double w = MAIN_W + SIDE_GAP + SIDE_W, h = CHART_H;
    char buf[32];
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"title\">Live requested bytes (blue) and footprint (red) over time</text>\n",
            LEFT, y0 - 10);
    fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", LEFT, y0, w, h);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"small\" text-anchor=\"end\">%s</text>\n", LEFT - 4, y0 + 8,
            lab_human_bytes(top, buf, sizeof buf));
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"small\" text-anchor=\"end\">0</text>\n", LEFT - 4, y0 + h);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"small\" text-anchor=\"end\">op %zu</text>\n", LEFT + w, y0 + h + 14, nops);
    const size_t *series[2] = {live, fp};
    const char *colour[2] = {"#2b6cb0", "#c53030"};
    for (int k = 0; k < 2; k++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colour[k]);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%.1f,%.1f ", LEFT + w * (double)ops[i] / (double)(nops ? nops : 1),
                    y0 + h - h * (double)series[k][i] / (double)top);
        fprintf(f, "\"/>\n");
    }
}

/* ---- the whole map ------------------------------------------------------------------------- */

typedef struct series {
    size_t *live, *fp, *op;
    size_t n, cap;
} series;

static void series_add(series *s, size_t op, size_t live, size_t fp)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        size_t *a = realloc(s->live, cap * sizeof *a), *b = a ? realloc(s->fp, cap * sizeof *b) : NULL,
               *c = b ? realloc(s->op, cap * sizeof *c) : NULL;
        if (a) s->live = a;
        if (b) s->fp = b;
        if (c) s->op = c;
        if (c == NULL) return;
        s->cap = cap;
    }
    s->live[s->n] = live;
    s->fp[s->n] = fp;
    s->op[s->n] = op;
    s->n++;
}

int lab_map_write(const lab_plan *plan, const lab_adapter *ad, const lab_map_opts *opts, FILE *svg,
                  lab_map_info *info, char *err, size_t errlen)
{
    *info = (lab_map_info){0};
    if (ad->walk == NULL || ad->rss_footprint) {
        snprintf(err, errlen, "%s has no walk of its blocks, so no map (try a heap policy, buddy or slab)", ad->name);
        return -1;
    }
    if (opts->at >= 0 && (size_t)opts->at >= plan->nops) {
        snprintf(err, errlen, "--at %ld: the trace has operations 0 to %zu", opts->at, plan->nops ? plan->nops - 1 : 0);
        return -1;
    }
    void **ptr = calloc(plan->nslots + 1, sizeof *ptr);
    size_t *req = calloc(plan->nslots + 1, sizeof *req);
    lab_instance in;
    if (ptr == NULL || req == NULL || lab_instance_open(&in, ad, plan->peak_live) != 0) {
        free(ptr);
        free(req);
        snprintf(err, errlen, "could not open %s", ad->name);
        return -1;
    }
    /* Pass 1: the massif series and the peak footprint's operation. */
    series ser = {0};
    size_t live = 0, peak_fp = 0, peak_op = 0, every = plan->nops / 600 + 1;
    for (size_t i = 0; i < plan->nops; i++) {
        const lab_op *op = &plan->ops[i];
        lab_apply_op(&in, ptr, op);
        live -= req[op->slot];
        req[op->slot] = ptr[op->slot] != NULL ? op->size : 0;
        live += req[op->slot];
        size_t fp = lab_instance_footprint(&in);
        if (fp > peak_fp) {
            peak_fp = fp;
            peak_op = i;
        }
        if (i % every == 0 || i + 1 == plan->nops) series_add(&ser, i + 1, live, fp);
    }
    lab_instance_close(&in);
    /* Pass 2: snapshots at the sampled operations, at the peak and at --at. */
    /* Pass 2: snapshots at the sampled operations (the peak's among them) and at the side's. */
    size_t want = opts->rows > 0 ? (size_t)opts->rows : 120;
    if (want > plan->nops) want = plan->nops;
    size_t side_op = opts->at >= 0 ? (size_t)opts->at : peak_op;
    size_t *sample = malloc((want + 2) * sizeof *sample), rows = 0;
    snap *snaps = calloc(want + 2, sizeof *snaps), side = {0};
    memset(ptr, 0, (plan->nslots + 1) * sizeof *ptr);
    int rc = -1;
    if (sample == NULL || snaps == NULL || lab_instance_open(&in, ad, plan->peak_live) != 0) goto out;
    for (size_t r = 0; r < want; r++) sample[rows++] = (r + 1) * plan->nops / want - 1;
    if (plan->nops != 0) sample[rows++] = peak_op;
    qsort(sample, rows, sizeof *sample, cmp_size);
    size_t u = 0;
    for (size_t r = 0; r < rows; r++)
        if (u == 0 || sample[r] != sample[u - 1]) sample[u++] = sample[r];
    rows = u;
    size_t next_row = 0, peak_row = 0;
    for (size_t i = 0; i < plan->nops; i++) {
        lab_apply_op(&in, ptr, &plan->ops[i]);
        if (i == side_op) {
            side.op = i;
            take_snapshot(&in, ptr, plan->nslots, &side);
        }
        if (next_row < rows && i == sample[next_row]) {
            snaps[next_row].op = i;
            take_snapshot(&in, ptr, plan->nslots, &snaps[next_row]);
            if (i == peak_op) peak_row = next_row;
            next_row++;
        }
    }
    lab_instance_close(&in);
    if (rows == 0) rows = 1; /* an empty trace: one empty row */
    axis ax = {0};
    if (axis_build(&ax, snaps, rows) != 0) goto out;
    double rh = rows > 100 ? 5 : rows > 40 ? 8 : 14, main_h = rh * (double)rows;
    double side_h = SIDE_LINES * 8.0 + 20, body_h = main_h > side_h ? main_h : side_h;
    double width = LEFT + MAIN_W + SIDE_GAP + SIDE_W + 30, height = TOP + body_h + 70 + CHART_H + 40;
    char buf[32], buf2[32], path_buf[1024];
    fprintf(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                 "font-family=\"sans-serif\">\n",
            width, height, width, height);
    fprintf(svg, "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"4\" height=\"4\">"
                 "<rect width=\"4\" height=\"4\" fill=\"" HATCH_PAPER "\"/><path d=\"M0,4 L4,0\" stroke=\"" HATCH_INK
                 "\" stroke-width=\"0.8\"/></pattern></defs>\n"
                 "<style>.ctl{fill:url(#hatch)} .free{fill:" COLOUR_FREE "} .title{font-size:13px;font-weight:bold}"
                 " .small{font-size:10px;fill:#444} .c36{fill:" COLOUR_MANY "}");
    for (unsigned k = 0; k < 36; k++) fprintf(svg, " .c%u{fill:hsl(%u,65%%,55%%)}", k, k * 10);
    fprintf(svg, "</style>\n");
    fprintf(svg, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(svg, "<text x=\"%d\" y=\"22\" class=\"title\">carve map: %s, allocator %s, %zu operations, peak footprint %s, "
                 "peak live %s</text>\n",
            LEFT, xml_text(plan->path, path_buf, sizeof path_buf), ad->name, plan->nops, lab_human_bytes(peak_fp, buf, sizeof buf),
            lab_human_bytes(plan->peak_live, buf2, sizeof buf2));
    fprintf(svg, "<text x=\"%d\" y=\"%d\" class=\"small\">address across (compressed to block boundaries), time down "
                 "(%zu sampled rows); colour: one per allocation, grey: free, hatched: headers and control data</text>\n",
            LEFT, TOP - 22, rows);
    fprintf(svg, "<g id=\"timeline\">\n");
    draw_timeline(svg, &ax, snaps, rows, TOP, rh);
    for (size_t r = 0; r < rows; r++) {
        if (r % (rows > 40 ? 20 : 5) == 0 || r + 1 == rows)
            fprintf(svg, "<text x=\"%d\" y=\"%.1f\" class=\"small\" text-anchor=\"end\">op %zu</text>\n", LEFT - 4,
                    TOP + rh * (double)r + rh - 1, snaps[r].op);
    }
    fprintf(svg, "</g>\n");
    double py = TOP + rh * (double)peak_row + rh / 2;
    fprintf(svg, "<line id=\"peak\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e53e3e\" stroke-width=\"1.5\"/>\n"
                 "<text x=\"%d\" y=\"%.1f\" class=\"small\" fill=\"#e53e3e\" stroke=\"white\" stroke-width=\"3\" "
                 "paint-order=\"stroke\" text-anchor=\"end\">peak footprint %s after op %zu</text>\n",
            LEFT - 6, py, LEFT + MAIN_W + 6, py, LEFT + MAIN_W, py - 4, lab_human_bytes(peak_fp, buf, sizeof buf),
            peak_op);
    for (int k = 0; k <= 4; k++) { /* a few address labels */
        size_t at = ax.n ? ax.bound[(ax.n - 1) * (size_t)k / 4] : 0;
        fprintf(svg, "<text x=\"%.1f\" y=\"%d\" class=\"small\" text-anchor=\"middle\">+%zu</text>\n", axis_x(&ax, at),
                TOP - 6, at);
    }
    char title[96];
    if (opts->at >= 0) snprintf(title, sizeof title, "Layout after op %zu", side_op);
    else snprintf(title, sizeof title, "Layout at the peak footprint (after op %zu)", side_op);
    fprintf(svg, "<g id=\"layout\">\n");
    info->side_blocks = draw_side(svg, &side, LEFT + MAIN_W + SIDE_GAP, TOP + 10, title);
    fprintf(svg, "</g>\n");
    draw_chart(svg, ser.live, ser.fp, ser.op, ser.n, plan->nops, TOP + body_h + 60);
    fprintf(svg, "</svg>\n");
    info->rows = rows;
    info->side_op = side_op;
    info->peak_op = peak_op;
    info->peak_footprint = peak_fp;
    rc = 0;
    free(ax.bound);
    free(ax.x);
out:
    if (rc != 0) snprintf(err, errlen, "out of memory drawing the map");
    for (size_t r = 0; snaps != NULL && r < want + 2; r++) free(snaps[r].b);
    free(snaps);
    free(sample);
    free(side.b);
    free(ser.live);
    free(ser.fp);
    free(ser.op);
    free(ptr);
    free(req);
    return rc;
}

int lab_map_write_html(FILE *html, const char *svg_path, const char *title, const lab_map_info *info)
{
    char safe[1024], src[1024];
    xml_text(title, safe, sizeof safe);
    fprintf(html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
                  "<style>body{font-family:sans-serif;margin:1em} .legend span{display:inline-block;width:1em;height:1em;"
                  "vertical-align:middle;margin:0 .3em 0 1em}</style></head><body>\n<h1>%s</h1>\n"
                  "<p class=\"legend\"><span style=\"background:hsl(200,65%%,55%%)\"></span>used (one colour per "
                  "allocation)<span style=\"background:" COLOUR_FREE "\"></span>free<span style=\"background:repeating-"
                  "linear-gradient(135deg," HATCH_INK " 0 1px," HATCH_PAPER " 1px 4px)\"></span>headers and control data"
                  "<span style=\"background:" COLOUR_MANY "\"></span>many blocks under a pixel</p>\n"
                  "<p>%zu rows sampled; the peak footprint (%zu bytes) is reached after operation %zu. Hover a block of "
                  "the layout for its size.</p>\n",
            safe, safe, info->rows, info->peak_footprint, info->peak_op);
    const char *slash = strrchr(svg_path, '/');
    fprintf(html, "<object type=\"image/svg+xml\" data=\"%s\">carve map (your browser shows SVG in an object)</object>\n",
            xml_text(slash != NULL ? slash + 1 : svg_path, src, sizeof src));
    fprintf(html, "</body></html>\n");
    return 0;
}
