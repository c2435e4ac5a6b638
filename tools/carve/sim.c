/*
 * tools/carve/sim.c: the OSTEP free-list simulator (see sim.h), written from its documented
 * behaviour. Random operations use Python's generator (MT19937 seeded the way random.seed does
 * for an integer, and random() from 53 bits), so a seed gives the same run as malloc.py.
 */
#include "sim.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- Python's random: MT19937 ------------------------------------------------------------- */

typedef struct mt { uint32_t s[624]; int i; } mt;

static void mt_init(mt *m, uint32_t seed)
{
    m->s[0] = seed;
    for (int i = 1; i < 624; i++) m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = 624;
}

/* random.seed(n) for an integer n: its 32-bit words (at least one) as the init key. */
static void mt_seed_python(mt *m, long seed)
{
    unsigned long long v = seed < 0 ? 0ull - (unsigned long long)seed : (unsigned long long)seed;
    uint32_t key[2] = {(uint32_t)v, (uint32_t)(v >> 32)};
    int klen = key[1] != 0 ? 2 : 1;
    mt_init(m, 19650218u);
    int i = 1, j = 0;
    for (int k = 624 > klen ? 624 : klen; k > 0; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= 624) { m->s[0] = m->s[623]; i = 1; }
        if (j >= klen) j = 0;
    }
    for (int k = 623; k > 0; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= 624) { m->s[0] = m->s[623]; i = 1; }
    }
    m->s[0] = 0x80000000u;
}

static uint32_t mt_next(mt *m)
{
    if (m->i >= 624) {
        for (int k = 0; k < 624; k++) {
            uint32_t y = (m->s[k] & 0x80000000u) | (m->s[(k + 1) % 624] & 0x7fffffffu);
            m->s[k] = m->s[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

static double mt_random(mt *m)
{
    uint32_t a = mt_next(m) >> 5, b = mt_next(m) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* ---- the simulated heap -------------------------------------------------------------------- */

typedef struct chunk { long addr, size; } chunk;

typedef struct heap {
    const sim_config *c;
    chunk *free_list;
    size_t nfree, cap;
    chunk *used;          /* the address -> size map of handed-out chunks */
    size_t nused, ucap;
    size_t rover;         /* NEXT: where the previous search stopped (an index)          */
    long rover_addr;      /* --carve-heap NEXT: the chunk it stopped on (-1: the head)    */
} heap;

static void *grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need) n *= 2;
    void *q = realloc(p, n * elem);
    if (q == NULL) {
        fputs("carve sim: out of memory\n", stderr);
        exit(2);
    }
    *cap = n;
    return q;
}

static void list_insert(heap *h, size_t at, chunk c)
{
    h->free_list = grow_array(h->free_list, &h->cap, h->nfree + 1, sizeof *h->free_list);
    memmove(&h->free_list[at + 1], &h->free_list[at], (h->nfree - at) * sizeof *h->free_list);
    h->free_list[at] = c;
    h->nfree++;
}

static void list_remove(heap *h, size_t at)
{
    if (h->rover_addr == h->free_list[at].addr) /* the rover moves on to the successor */
        h->rover_addr = at + 1 < h->nfree ? h->free_list[at + 1].addr : -1;
    memmove(&h->free_list[at], &h->free_list[at + 1], (h->nfree - at - 1) * sizeof *h->free_list);
    h->nfree--;
}

/* A stable sort (insertion sort: lists are short), like Python's sorted. */
static void list_sort(heap *h, bool by_addr, bool descending)
{
    for (size_t i = 1; i < h->nfree; i++) {
        chunk c = h->free_list[i];
        long key = by_addr ? c.addr : c.size;
        size_t j = i;
        while (j > 0) {
            long prev = by_addr ? h->free_list[j - 1].addr : h->free_list[j - 1].size;
            if (descending ? prev >= key : prev <= key) break;
            h->free_list[j] = h->free_list[j - 1];
            j--;
        }
        h->free_list[j] = c;
    }
}

/* --carve-heap: where c goes in the list (by order; size ties by address). */
static size_t heap_position(const heap *h, chunk c)
{
    sim_order o = h->c->order;
    if (o == SIM_INSERT_FRONT) return 0;
    if (o == SIM_INSERT_BACK) return h->nfree;
    size_t i = 0;
    for (; i < h->nfree; i++) {
        chunk e = h->free_list[i];
        bool before = o == SIM_ADDRSORT      ? e.addr < c.addr
                      : o == SIM_SIZESORT_UP ? e.size < c.size || (e.size == c.size && e.addr < c.addr)
                                             : e.size > c.size || (e.size == c.size && e.addr < c.addr);
        if (!before) break;
    }
    return i;
}

static long round_up(long n, long a) { return a > 0 && n % a != 0 ? n + a - n % a : n; }

static long min_split(const sim_config *c)
{
    if (c->min_split > 0) return c->min_split;
    return c->carve_heap ? round_up(4 * c->header, c->align) : 0;
}

/* The chunk at index i of the list, to search in the order the policy walks it. */
static size_t search_index(const heap *h, size_t k, size_t start)
{
    return h->c->policy == SIM_NEXT ? (start + k) % h->nfree : k;
}

/* Returns the address, or -1; *searched = the list elements looked at. */
static long sim_malloc(heap *h, long size, long *searched)
{
    const sim_config *c = h->c;
    if (c->carve_heap) {
        size = round_up(size + c->header, c->align);
        if (size < min_split(c)) size = min_split(c);
    } else {
        size = round_up(size, c->align) + c->header;
    }
    long best_size = c->policy == SIM_BEST ? c->size + 1 : -1;
    size_t best = SIZE_MAX, n = h->nfree, start = h->rover % (n ? n : 1);
    if (c->carve_heap) {
        start = 0;
        for (size_t i = 0; i < n; i++)
            if (h->free_list[i].addr == h->rover_addr) start = i;
    }
    *searched = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = search_index(h, k, start);
        long esize = h->free_list[i].size;
        ++*searched;
        if (esize < size) continue;
        if (c->policy == SIM_BEST && esize >= best_size) continue;
        if (c->policy == SIM_WORST && esize <= best_size) continue;
        best = i;
        best_size = esize;
        if (c->policy == SIM_FIRST || c->policy == SIM_NEXT) break;
    }
    if (best == SIZE_MAX) return -1;
    long addr = h->free_list[best].addr;
    h->rover = best;
    h->rover_addr = addr;
    if (best_size > size && !(min_split(c) > 0 && best_size - size < min_split(c))) {
        chunk rest = {addr + size, best_size - size};
        h->free_list[best] = rest;
        if (h->rover_addr == addr) h->rover_addr = rest.addr;
        if (c->carve_heap && (c->order == SIM_SIZESORT_UP || c->order == SIM_SIZESORT_DOWN)) {
            long rover = h->rover_addr;
            list_remove(h, best);
            list_insert(h, heap_position(h, rest), rest);
            h->rover_addr = rover;
        }
    } else {
        size = best_size;
        list_remove(h, best);
    }
    h->used = grow_array(h->used, &h->ucap, h->nused + 1, sizeof *h->used);
    h->used[h->nused++] = (chunk){addr, size};
    return addr;
}

/* --carve-heap: free with carve_heap's coalescing (physical neighbours) and insertion. */
static void heap_free(heap *h, chunk c)
{
    if (h->c->coalesce) {
        for (size_t i = 0; i < h->nfree; i++)
            if (h->free_list[i].addr == c.addr + c.size) {
                c.size += h->free_list[i].size;
                list_remove(h, i);
                break;
            }
        for (size_t i = 0; i < h->nfree; i++)
            if (h->free_list[i].addr + h->free_list[i].size == c.addr) {
                c.addr = h->free_list[i].addr;
                c.size += h->free_list[i].size;
                list_remove(h, i);
                break;
            }
    }
    list_insert(h, heap_position(h, c), c);
}

static int sim_free(heap *h, long addr)
{
    size_t u = 0;
    while (u < h->nused && h->used[u].addr != addr) u++;
    if (u == h->nused) return -1;
    chunk c = h->used[u];
    h->used[u] = h->used[--h->nused];
    if (h->c->carve_heap) {
        heap_free(h, c);
        return 0;
    }
    switch (h->c->order) {
    case SIM_INSERT_FRONT: list_insert(h, 0, c); break;
    case SIM_INSERT_BACK: list_insert(h, h->nfree, c); break;
    case SIM_ADDRSORT: list_insert(h, h->nfree, c); list_sort(h, true, false); break;
    case SIM_SIZESORT_UP: list_insert(h, h->nfree, c); list_sort(h, false, false); break;
    case SIM_SIZESORT_DOWN: list_insert(h, h->nfree, c); list_sort(h, false, true); break;
    }
    if (h->c->coalesce) { /* merge neighbours adjacent in the list and in memory */
        size_t out = 0;
        for (size_t i = 1; i < h->nfree; i++) {
            chunk *cur = &h->free_list[out];
            if (h->free_list[i].addr == cur->addr + cur->size) cur->size += h->free_list[i].size;
            else h->free_list[++out] = h->free_list[i];
        }
        h->nfree = h->nfree ? out + 1 : 0;
    }
    return 0;
}

static void dump(const heap *h, FILE *out)
{
    fprintf(out, "Free List [ Size %zu ]: ", h->nfree);
    for (size_t i = 0; i < h->nfree; i++)
        fprintf(out, "[ addr:%ld sz:%ld ]", h->free_list[i].addr, h->free_list[i].size);
    fputc('\n', out);
}

/* ---- options ------------------------------------------------------------------------------- */

static const char *const policy_names[] = {"BEST", "WORST", "FIRST", "NEXT"};
static const char *const order_names[] = {"ADDRSORT", "SIZESORT+", "SIZESORT-", "INSERT-FRONT", "INSERT-BACK"};

void sim_config_default(sim_config *c)
{
    *c = (sim_config){.seed = 0, .size = 100, .base = 1000, .header = 0, .align = -1, .policy = SIM_BEST,
                      .order = SIM_ADDRSORT, .numops = 10, .range = 10, .percent = 50, .ops = ""};
}

/* An integer as in the explicit operations of -A: decimal (Python's int(s)). */
static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return -1;
    *out = v;
    return 0;
}

/* An integer option as malloc.py's optparse reads it (type='int'): "0x.." hexadecimal, "0b.."
 * binary ("0b" alone is 0), any other leading 0 octal ("010" is 8; "0o10" too), else decimal
 * with an optional sign. So -S 0x40 and -S 0100 are both 64, as in malloc.py. */
static int parse_option_int(const char *s, long *out)
{
    unsigned base = 10;
    const char *d = s;
    bool neg = false, may_be_empty = false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        d = s + 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        d = s + 2;
        may_be_empty = true;
    } else if (s[0] == '0') {
        base = 8;
        d = s[1] == 'o' || s[1] == 'O' ? s + 2 : s;
    } else if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        d = s + 1;
    }
    if (*d == '\0' && !may_be_empty) return -1;
    unsigned long v = 0, limit = (unsigned long)LONG_MAX + (neg ? 1u : 0u);
    for (; *d != '\0'; d++) {
        unsigned digit;
        if (*d >= '0' && *d <= '9') digit = (unsigned)(*d - '0');
        else if (*d >= 'a' && *d <= 'f') digit = (unsigned)(*d - 'a' + 10);
        else if (*d >= 'A' && *d <= 'F') digit = (unsigned)(*d - 'A' + 10);
        else return -1;
        if (digit >= base || v > (limit - digit) / base) return -1;
        v = v * base + digit;
    }
    *out = neg ? (v == limit ? LONG_MIN : -(long)v) : (long)v;
    return 0;
}

static int find_name(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

int sim_parse_args(int argc, char **argv, sim_config *c, char *err, size_t errlen)
{
    static const struct option longs[] = {
        {"seed", required_argument, NULL, 's'},      {"size", required_argument, NULL, 'S'},
        {"baseAddr", required_argument, NULL, 'b'},  {"headerSize", required_argument, NULL, 'H'},
        {"alignment", required_argument, NULL, 'a'}, {"policy", required_argument, NULL, 'p'},
        {"listOrder", required_argument, NULL, 'l'}, {"coalesce", no_argument, NULL, 'C'},
        {"numOps", required_argument, NULL, 'n'},    {"range", required_argument, NULL, 'r'},
        {"percentAlloc", required_argument, NULL, 'P'}, {"allocList", required_argument, NULL, 'A'},
        {"compute", no_argument, NULL, 'c'},         {"min-split", required_argument, NULL, 'm'},
        {"carve-heap", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    sim_config_default(c);
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":s:S:b:H:a:p:l:Cn:r:P:A:cm:h", longs, NULL)) != -1) {
        long *target = NULL;
        switch (o) {
        case 's': target = &c->seed; break;
        case 'S': target = &c->size; break;
        case 'b': target = &c->base; break;
        case 'H': target = &c->header; break;
        case 'a': target = &c->align; break;
        case 'n': target = &c->numops; break;
        case 'r': target = &c->range; break;
        case 'P': target = &c->percent; break;
        case 'm': target = &c->min_split; break;
        case 'C': c->coalesce = true; break;
        case 'c': c->compute = true; break;
        case 'K': c->carve_heap = true; break;
        case 'A': c->ops = optarg; break;
        case 'p': {
            int k = find_name(optarg, policy_names, 4);
            if (k < 0) return snprintf(err, errlen, "unknown policy '%s' (BEST, WORST, FIRST or NEXT)", optarg), -1;
            c->policy = (sim_policy)k;
            break;
        }
        case 'l': {
            int k = find_name(optarg, order_names, 5);
            if (k < 0)
                return snprintf(err, errlen, "unknown list order '%s' (ADDRSORT, SIZESORT+, SIZESORT-, "
                                             "INSERT-FRONT or INSERT-BACK)", optarg), -1;
            c->order = (sim_order)k;
            break;
        }
        case 'h': return snprintf(err, errlen, "help"), -1;
        case ':': return snprintf(err, errlen, "option -%c needs a value", optopt), -1;
        default: return snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]), -1;
        }
        if (target != NULL && parse_option_int(optarg, target) != 0)
            return snprintf(err, errlen, "option -%c needs an integer, not '%s'", o, optarg), -1;
    }
    if (optind < argc) return snprintf(err, errlen, "unexpected argument '%s'", argv[optind]), -1;
    if (c->align == 0 || c->align < -1) return snprintf(err, errlen, "alignment must be -1 (none) or positive"), -1;
    if (c->percent <= 0) return snprintf(err, errlen, "percentAlloc must be positive"), -1;
    if (c->carve_heap && c->align <= 0) return snprintf(err, errlen, "--carve-heap needs an alignment (-a)"), -1;
    if (c->size < 0 || c->header < 0 || c->range < 0 || c->min_split < 0)
        return snprintf(err, errlen, "sizes must not be negative"), -1;
    return 0;
}

/* ---- the run ------------------------------------------------------------------------------- */

static void print_header(const sim_config *c, FILE *out)
{
    fprintf(out, "seed %ld\nsize %ld\nbaseAddr %ld\nheaderSize %ld\nalignment %ld\npolicy %s\nlistOrder %s\n"
                 "coalesce %s\nnumOps %ld\nrange %ld\npercentAlloc %ld\nallocList %s\ncompute %s\n",
            c->seed, c->size, c->base, c->header, c->align, policy_names[c->policy], order_names[c->order],
            c->coalesce ? "True" : "False", c->numops, c->range, c->percent, c->ops, c->compute ? "True" : "False");
    if (c->min_split > 0) fprintf(out, "minSplit %ld\n", c->min_split);
    if (c->carve_heap) fprintf(out, "carveHeap True\n");
    fputc('\n', out);
}

/* The explicit operations of -A. p[] holds each allocation's address, -1 when it failed. */
static int run_list(heap *h, FILE *out, char *err, size_t errlen)
{
    const sim_config *c = h->c;
    long *p = NULL;
    size_t np = 0, cap = 0, nok = 0;
    const char *s = c->ops;
    int rc = 0;
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
        char tok[64];
        long v;
        if (len == 0 || len >= sizeof tok || (tok[len] = '\0', memcpy(tok, s, len), false) ||
            (tok[0] != '+' && tok[0] != '-') || parse_long(tok + 1, &v) != 0 || v < 0) {
            snprintf(err, errlen, "badly specified operand '%.*s': must be +Size or -Index", (int)len, s);
            rc = -1;
            break;
        }
        s += len + (comma != NULL);
        if (tok[0] == '+') {
            long searched, addr = sim_malloc(h, v, &searched);
            p = grow_array(p, &cap, np + 1, sizeof *p);
            p[np++] = addr;
            if (addr != -1) nok++;
            fprintf(out, "ptr[%zu] = Alloc(%ld)", np - 1, v);
            if (c->compute) fprintf(out, " returned %ld (searched %ld elements)\n", addr, searched);
            else fprintf(out, " returned ?\n");
        } else {
            /* malloc.py skips an index beyond the number of successful allocations (and fails
             * on the index of a failed one; here it is skipped too). --carve-heap skips only
             * what was never allocated. */
            if ((!c->carve_heap && (size_t)v >= nok) || (size_t)v >= np || p[v] == -1) {
                fprintf(out, "Invalid Free: Skipping\n");
                continue;
            }
            fprintf(out, "Free(ptr[%ld])\n", v);
            int r = sim_free(h, p[v]);
            if (c->compute) fprintf(out, "returned %d\n", r);
            else fprintf(out, "returned ?\n");
        }
        if (c->compute) dump(h, out);
        else fprintf(out, "List?\n");
        fputc('\n', out);
    }
    free(p);
    return rc;
}

/* numops random operations, drawn as malloc.py draws them. */
static void run_random(heap *h, FILE *out)
{
    const sim_config *c = h->c;
    mt rng;
    mt_seed_python(&rng, c->seed);
    double percent = (double)c->percent / 100.0;
    long *ptr = NULL, *live = NULL; /* ptr[c]: address of allocation c; live: the ids still live */
    size_t cap = 0, lcap = 0, nlive = 0, count = 0;
    for (long j = 0; j < c->numops;) {
        if (mt_random(&rng) < percent) {
            long size = (long)(mt_random(&rng) * (double)c->range) + 1, searched;
            long addr = sim_malloc(h, size, &searched);
            ptr = grow_array(ptr, &cap, count + 1, sizeof *ptr);
            ptr[count] = addr;
            if (addr != -1) {
                live = grow_array(live, &lcap, nlive + 1, sizeof *live);
                live[nlive++] = (long)count;
            }
            fprintf(out, "ptr[%zu] = Alloc(%ld)", count, size);
            if (c->compute) fprintf(out, " returned %ld (searched %ld elements)\n", addr + c->header, searched);
            else fprintf(out, " returned ?\n");
            count++;
            j++;
        } else {
            if (nlive == 0) continue;
            size_t d = (size_t)(mt_random(&rng) * (double)nlive);
            long id = live[d];
            int r = sim_free(h, ptr[id]);
            fprintf(out, "Free(ptr[%ld])\n", id);
            if (c->compute) fprintf(out, "returned %d\n", r);
            else fprintf(out, "returned ?\n");
            memmove(&live[d], &live[d + 1], (nlive - d - 1) * sizeof *live);
            nlive--;
            j++;
        }
        if (c->compute) dump(h, out);
        else fprintf(out, "List? \n");
        fputc('\n', out);
    }
    free(ptr);
    free(live);
}

int sim_run(const sim_config *c, FILE *out, char *err, size_t errlen)
{
    heap h = {.c = c, .rover_addr = -1};
    list_insert(&h, 0, (chunk){c->base, c->size});
    print_header(c, out);
    int rc = 0;
    if (c->ops[0] != '\0') rc = run_list(&h, out, err, errlen);
    else run_random(&h, out);
    free(h.free_list);
    free(h.used);
    return rc;
}
