/*
 * tools/carve/plan.c: a trace checked for meaning, ready to replay.
 *
 * Ids become dense slots (directly when the trace's ids are already small, else through an
 * open-addressing table). Each id is never seen, live or freed:
 *   a on a live id            reported, skipped
 *   r on a freed id           reported, skipped     r on a new id allocates it (realloc(NULL))
 *   f on an id not live       reported, skipped
 * The peak of live requested bytes depends only on the trace, so it is computed here, once.
 */
#include "lab.h"

#include <stdlib.h>
#include <string.h>

enum { NEVER = 0, LIVE = 1, FREED = 2 };

typedef struct id_map {
    uint32_t *keys, *slots;  /* keys[i] == UINT32_MAX: empty */
    size_t mask;
    bool direct;
} id_map;

static int id_map_open(id_map *m, const trace *t)
{
    *m = (id_map){0};
    if ((size_t)t->nids <= t->nops + 1) {
        m->direct = true;
        return 0;
    }
    size_t cap = 16;
    while (cap < 2 * t->nops + 2) cap *= 2;
    m->keys = malloc(cap * sizeof *m->keys);
    m->slots = malloc(cap * sizeof *m->slots);
    if (m->keys == NULL || m->slots == NULL) return -1;
    memset(m->keys, 0xff, cap * sizeof *m->keys);
    m->mask = cap - 1;
    return 0;
}

/* The slot of id, given a new one (*nslots) if first seen. */
static uint32_t id_map_slot(id_map *m, uint32_t id, size_t *nslots)
{
    if (m->direct) {
        if (id >= *nslots) *nslots = (size_t)id + 1;
        return id;
    }
    size_t i = (id * 0x9E3779B1u) & m->mask;
    while (m->keys[i] != UINT32_MAX && m->keys[i] != id) i = (i + 1) & m->mask;
    if (m->keys[i] == UINT32_MAX) {
        m->keys[i] = id;
        m->slots[i] = (uint32_t)(*nslots)++;
    }
    return m->slots[i];
}

static void id_map_close(id_map *m)
{
    free(m->keys);
    free(m->slots);
}

static void warn_skip(FILE *warn, size_t *nwarn, size_t max, const trace *t, const trace_op *op,
                      const char *what)
{
    if (warn != NULL && (*nwarn)++ < max)
        fprintf(warn, "%s:%u: %s id %u, %s; skipped\n", t->path, op->line,
                op->kind == 'a' ? "allocates" : op->kind == 'r' ? "reallocates" : "frees", op->id, what);
}

int lab_plan_build(const trace *t, lab_plan *out, FILE *warn, size_t max_warnings)
{
    *out = (lab_plan){.path = t->path};
    id_map map;
    size_t cap_slots = (size_t)t->nids <= t->nops + 1 ? (size_t)t->nids + 1 : t->nops + 1;
    unsigned char *state = calloc(cap_slots, 1);
    size_t *sizes = calloc(cap_slots, sizeof *sizes);
    out->ops = malloc((t->nops + 1) * sizeof *out->ops);
    if (state == NULL || sizes == NULL || out->ops == NULL || id_map_open(&map, t) != 0) {
        free(state);
        free(sizes);
        free(out->ops);
        out->ops = NULL;
        return -1;
    }
    size_t live = 0, nwarn = 0;
    for (size_t i = 0; i < t->nops; i++) {
        const trace_op *op = &t->ops[i];
        uint32_t slot = id_map_slot(&map, op->id, &out->nslots);
        unsigned char s = state[slot];
        const char *bad = NULL;
        if (op->kind == 'a' && s == LIVE) bad = "which is already live";
        if (op->kind == 'r' && s == FREED) bad = "which was freed";
        if (op->kind == 'f' && s != LIVE) bad = s == FREED ? "which was already freed" : "which was never allocated";
        if (bad != NULL) {
            warn_skip(warn, &nwarn, max_warnings, t, op, bad);
            out->skipped++;
            continue;
        }
        if (s == LIVE) live -= sizes[slot];
        if (op->kind == 'f') {
            state[slot] = FREED;
            sizes[slot] = 0;
        } else {
            state[slot] = LIVE;
            sizes[slot] = op->size;
            live += op->size;
        }
        out->ops[out->nops++] = (lab_op){.kind = op->kind, .slot = slot, .size = op->size, .line = op->line};
        if (live > out->peak_live) {
            out->peak_live = live;
            out->peak_op = out->nops - 1;
        }
    }
    if (warn != NULL && nwarn > max_warnings)
        fprintf(warn, "%s: %zu more operations skipped\n", t->path, nwarn - max_warnings);
    id_map_close(&map);
    free(state);
    free(sizes);
    return 0;
}

void lab_plan_free(lab_plan *p)
{
    free(p->ops);
    *p = (lab_plan){0};
}
