/*
 * tools/carve/replay.c: run a plan through one allocator and measure it.
 *
 * Two passes over a fresh allocator each:
 *   1. the measuring pass: every block is filled with a pattern on allocation and verified on
 *      free (and across realloc, whose preserved prefix must come back intact), every pointer's
 *      alignment is checked, each operation is timed on its own (p99, max), the footprint's
 *      high-water mark is followed, and at the peak of live bytes the internal and external
 *      fragmentation are taken (and the allocator's own checker is run, if it has one);
 *   2. the timing pass: the same operations with no per-operation timer and no content work,
 *      timed as a whole, for ns/op.
 * The pattern of a block is a 64-bit word chosen by its slot and generation, laid down by offset,
 * so two blocks that overlap, or a block that moved without its content, cannot verify.
 *
 * For allocators whose footprint is the process's RSS (libc, malloc), both passes run in a forked
 * child: the C library's free memory is trimmed and the peak RSS reset (/proc/self/clear_refs)
 * once the lab's own memory is in place and resident (its pages written, so that none of them
 * faults in during the replay and counts as the allocator's); the footprint is the highest RSS seen (VmHWM, and
 * samples every 256 operations and around large blocks) minus the RSS at that moment. The child
 * sends its result back through a pipe.
 */
#include "lab.h"
#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct slot {
    unsigned char *p;
    size_t size, usable;
    uint64_t word;
} slot;

typedef struct run {
    const lab_plan *plan;
    const lab_adapter *ad;
    const lab_replay_opts *opts;
    lab_result *r;
    lab_instance in;
    void *a;                 /* in.a, for brevity */
    slot *slots;
    uint64_t *lat;           /* the time of each timed operation, lat[0..nlat)         */
    size_t nlat;
    uint64_t gen;
    uint64_t start_ns;       /* when the measuring pass began (progress, budget)        */
    uint64_t last_drawn;     /* when the progress bar was last drawn; 0: not yet          */
    int statm_fd;            /* RSS adapters: /proc/self/statm, sampled during the replay */
    size_t rss_peak;         /* the highest RSS sampled, in bytes */
} run;

/* RSS adapters: the peak of RSS is sampled every 256 operations and around every operation on a
 * block of 64 KiB or more (glibc maps and unmaps those), since the kernel's high-water mark is
 * not reliably up to date when a large block is given back. */
static void sample_rss(run *R)
{
    char buf[128];
    ssize_t n = pread(R->statm_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    buf[n] = '\0';
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return;
    size_t bytes = (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
    if (bytes > R->rss_peak) R->rss_peak = bytes;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Bytes [from, to) of p get the bytes of word, by offset modulo 8. */
static void fill(unsigned char *p, size_t from, size_t to, uint64_t word)
{
    const unsigned char *w = (const unsigned char *)&word;
    size_t i = from;
    for (; i < to && (i & 7) != 0; i++) p[i] = w[i & 7];
    for (; i + 8 <= to; i += 8) memcpy(p + i, &word, 8);
    for (; i < to; i++) p[i] = w[i & 7];
}

/* The first offset in [0, n) that does not hold the pattern, or SIZE_MAX. */
static size_t verify(const unsigned char *p, size_t n, uint64_t word)
{
    const unsigned char *w = (const unsigned char *)&word;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != word) break;
    }
    for (; i < n; i++)
        if (p[i] != w[i & 7]) return i;
    return SIZE_MAX;
}

static int fail(run *R, const lab_op *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(run *R, const lab_op *op, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    R->r->error = true;
    if (op != NULL)
        snprintf(R->r->message, sizeof R->r->message, "%s:%u: %s: %s", R->plan->path, op->line, R->ad->name, what);
    else
        snprintf(R->r->message, sizeof R->r->message, "%s: %s: %s", R->plan->path, R->ad->name, what);
    return -1;
}

size_t lab_instance_footprint(const lab_instance *in)
{
    if (in->ad->footprint != NULL) return in->ad->footprint(in->a);
    return in->have_arena ? in->arena.granted : 0;
}

int lab_instance_open(lab_instance *in, const lab_adapter *ad, size_t hint)
{
    *in = (lab_instance){.ad = ad};
    lab_env env = {.hint = hint};
    if (!ad->rss_footprint) {
        /* 4 GiB of address space; only what the allocator touches becomes memory. */
        if (lab_arena_open(&in->arena, (size_t)4 << 30, 16) != 0) return -1;
        in->have_arena = true;
        env.arena = &in->arena;
    }
    in->a = ad->create(&env);
    if (in->a == NULL) {
        if (in->have_arena) lab_arena_close(&in->arena);
        return -1;
    }
    return 0;
}

/* A fresh allocator over the same arena: its pages are already faulted in, so the timing pass
 * measures the allocator, not the kernel's first touch. */
static int lab_instance_reopen(lab_instance *in, size_t hint)
{
    in->ad->destroy(in->a);
    lab_env env = {.hint = hint};
    if (in->have_arena) {
        lab_arena *ar = &in->arena;
        lab_arena_close_spares(ar);
        ar->top = ar->granted = ar->peak = 0;
        env.arena = ar;
    }
    in->a = in->ad->create(&env);
    return in->a != NULL ? 0 : -1;
}

void lab_instance_close(lab_instance *in)
{
    in->ad->destroy(in->a);
    if (in->have_arena) lab_arena_close(&in->arena);
    *in = (lab_instance){0};
}

void lab_apply_op(lab_instance *in, void **ptr, const lab_op *op)
{
    const lab_adapter *ad = in->ad;
    void **p = &ptr[op->slot];
    if (op->kind == 'f' || (op->kind == 'r' && op->size == 0)) {
        if (*p != NULL) ad->free(in->a, *p);
        *p = NULL;
    } else if (op->kind == 'a' || *p == NULL) {
        *p = ad->alloc(in->a, op->size);
    } else if (ad->realloc != NULL) {
        void *q = ad->realloc(in->a, *p, op->size);
        if (q != NULL) *p = q;
    } else {
        void *q = ad->alloc(in->a, op->size);
        if (q != NULL) {
            ad->free(in->a, *p); /* no copy: nothing reads the content here */
            *p = q;
        }
    }
}

static int open_allocator(run *R)
{
    if (lab_instance_open(&R->in, R->ad, R->plan->peak_live) != 0) return -1;
    R->a = R->in.a;
    return 0;
}

static void close_allocator(run *R) { lab_instance_close(&R->in); }

static void *do_realloc(run *R, slot *s, size_t size)
{
    if (R->ad->realloc != NULL) return R->ad->realloc(R->a, s->p, size);
    unsigned char *q = R->ad->alloc(R->a, size);
    if (q == NULL) return NULL;
    if (s->p != NULL) {
        memcpy(q, s->p, s->size < size ? s->size : size);
        R->ad->free(R->a, s->p);
    }
    return q;
}

/* A pointer the allocator handed out for size bytes: its usable size and alignment. */
static int admit(run *R, const lab_op *op, const unsigned char *p, size_t size, size_t *usable)
{
    *usable = R->ad->usable(R->a, p);
    if (*usable < size) return fail(R, op, "usable size %zu is below the %zu bytes asked", *usable, size);
    if (((uintptr_t)p & (R->ad->align - 1)) != 0)
        return fail(R, op, "pointer %p is not aligned to %zu", (const void *)p, R->ad->align);
    return 0;
}

/* At the peak of live bytes: fragmentation and the allocator's own checker. */
static int snapshot_peak(run *R, const lab_op *op, size_t live_usable, size_t live_req)
{
    R->r->internal_frag = live_usable - live_req;
    R->r->external_frag = -1;
    carve_stats st;
    carve_stats_init(&st);
    if (R->ad->stats != NULL && R->ad->stats(R->a, &st))
        R->r->external_frag = st.free == 0 ? 0.0 : 1.0 - (double)st.largest_free / (double)st.free;
    size_t bad = R->ad->check != NULL ? R->ad->check(R->a) : 0;
    if (bad != 0) return fail(R, op, "its checker finds %zu violated invariants", bad);
    return 0;
}

/* The progress bar covers both passes (2 * nops operations): drawn once the replay has taken a
 * second (opts->progress_after_ns), then at most every 0.1 s. */
static void progress(run *R, uint64_t now, size_t done)
{
    uint64_t after = R->opts->progress_after_ns != 0 ? R->opts->progress_after_ns : 1000000000u;
    if (R->opts->progress == NULL || now - R->start_ns < after || now - R->last_drawn < 100000000u) return;
    R->last_drawn = now;
    R->opts->progress(R->opts->progress_ctx, done, 2 * R->plan->nops);
}

/* Pass 1. 0, or -1 with R->r->error set. */
static int measuring_pass(run *R)
{
    const lab_plan *plan = R->plan;
    const lab_adapter *ad = R->ad;
    lab_result *r = R->r;
    size_t live_usable = 0, live_req = 0, peak_req = 0, peak_fp = 0;
    uint64_t start = R->start_ns = measure_now_ns();
    for (size_t i = 0; i < plan->nops; i++) {
        const lab_op *op = &plan->ops[i];
        slot *s = &R->slots[op->slot];
        uint64_t t0 = 0, t1 = 0;
        bool big = s->size >= 65536 || op->size >= 65536;
        if (R->statm_fd >= 0 && big) sample_rss(R);
        bool frees = op->kind == 'f' || (op->size == 0 && s->p != NULL); /* realloc to 0 frees */
        if (frees) {
            if (s->p == NULL) goto next; /* its allocation failed or was of size 0 */
            size_t bad = verify(s->p, s->size, s->word);
            if (bad != SIZE_MAX)
                return fail(R, op, "block of slot %u (%zu bytes) damaged at offset %zu before its %s",
                            op->slot, s->size, bad, op->kind == 'f' ? "free" : "realloc");
            live_usable -= s->usable;
            live_req -= s->size;
            t0 = measure_now_ns();
            carve_status st = ad->free(R->a, s->p);
            t1 = measure_now_ns();
            if (st != CARVE_OK) return fail(R, op, "free of a live block failed: %s", carve_strerror(st));
            *s = (slot){0};
        } else if (op->kind == 'a' || s->p == NULL) {
            t0 = measure_now_ns();
            unsigned char *p = ad->alloc(R->a, op->size);
            t1 = measure_now_ns();
            if (p == NULL) {
                if (op->size != 0) r->failures++;
                goto timed;
            }
            size_t usable;
            if (admit(R, op, p, op->size, &usable) != 0) return -1;
            *s = (slot){.p = p, .size = op->size, .usable = usable, .word = mix64(++R->gen)};
            fill(p, 0, op->size, s->word);
            live_usable += usable;
            live_req += op->size;
            if (live_req > peak_req) peak_req = live_req;
        } else {
            size_t bad = verify(s->p, s->size, s->word);
            if (bad != SIZE_MAX)
                return fail(R, op, "block of slot %u (%zu bytes) damaged at offset %zu before its realloc",
                            op->slot, s->size, bad);
            t0 = measure_now_ns();
            unsigned char *p = do_realloc(R, s, op->size);
            t1 = measure_now_ns();
            if (p == NULL) {
                r->failures++;
                goto timed;
            }
            size_t keep = s->size < op->size ? s->size : op->size;
            bad = verify(p, keep, s->word);
            if (bad != SIZE_MAX)
                return fail(R, op, "realloc lost the content of slot %u at offset %zu", op->slot, bad);
            size_t usable;
            if (admit(R, op, p, op->size, &usable) != 0) return -1;
            fill(p, keep, op->size, s->word);
            live_usable += usable - s->usable;
            live_req += op->size;
            live_req -= s->size;
            if (live_req > peak_req) peak_req = live_req;
            s->p = p;
            s->size = op->size;
            s->usable = usable;
        }
    timed:
        R->lat[R->nlat++] = t1 - t0;
        if (t1 - t0 > r->max_ns) r->max_ns = t1 - t0;
    next: /* an operation that called no allocator function has no time of its own */
        if (R->statm_fd >= 0 && (big || (i & 255) == 0 || i == plan->peak_op)) sample_rss(R);
        if (!ad->rss_footprint) {
            size_t fp = lab_instance_footprint(&R->in);
            if (fp > peak_fp) {
                peak_fp = fp;
                r->peak_footprint_op = i;
            }
        }
        if (i == plan->peak_op && snapshot_peak(R, op, live_usable, live_req) != 0) return -1;
        if (R->opts->check_every_op && ad->check != NULL && ad->check(R->a) != 0)
            return fail(R, op, "its checker finds %zu violated invariants", ad->check(R->a));
        if ((i & 0x3ff) == 0x3ff) {
            uint64_t now = measure_now_ns();
            if (R->opts->budget_ns != 0 && now - start > R->opts->budget_ns) {
                r->timed_out = true;
                r->ops = i + 1;
                break;
            }
            progress(R, now, i + 1);
        }
    }
    if (r->timed_out && R->last_drawn != 0) R->opts->progress(R->opts->progress_ctx, 2 * r->ops, 2 * r->ops);
    if (r->timed_out) return 0; /* the figures stop here; the allocator is dropped as it is */
    if (plan->nops == 0 && snapshot_peak(R, NULL, 0, 0) != 0) return -1;
    r->peak_footprint = peak_fp;
    /* Utilisation counts what the allocator really held: an allocation it refused is not live. */
    r->peak_live = peak_req;
    /* What the trace left live is verified, then freed, so the allocator closes empty. */
    for (size_t k = 0; k < plan->nslots; k++) {
        slot *s = &R->slots[k];
        if (s->p == NULL) continue;
        size_t bad = verify(s->p, s->size, s->word);
        if (bad != SIZE_MAX) return fail(R, NULL, "block of slot %zu damaged at offset %zu at the end", k, bad);
        carve_status st = ad->free(R->a, s->p);
        if (st != CARVE_OK) return fail(R, NULL, "free of a live block failed: %s", carve_strerror(st));
        *s = (slot){0};
    }
    size_t bad = ad->check != NULL ? ad->check(R->a) : 0;
    if (bad != 0) return fail(R, NULL, "its checker finds %zu violated invariants at the end", bad);
    return 0;
}

/* Pass 2: ns/op with nothing but the allocator's own work. */
static void timing_pass(run *R)
{
    const lab_plan *plan = R->plan;
    const lab_adapter *ad = R->ad;
    void **ptr = (void **)R->slots; /* reuse the slot array as plain pointers */
    memset(ptr, 0, plan->nslots * sizeof *ptr);
    /* In chunks of 64 Ki operations, between which the progress bar may be drawn (its time,
     * one call per chunk at most, is left out of the total). */
    uint64_t total = 0;
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    for (size_t from = 0; from < plan->nops; from += 65536) {
        size_t to = plan->nops - from > 65536 ? from + 65536 : plan->nops;
        uint64_t t0 = measure_now_ns();
        for (size_t i = from; i < to; i++) lab_apply_op(&R->in, ptr, &plan->ops[i]);
        uint64_t t1 = measure_now_ns();
        total += t1 - t0;
        progress(R, t1, plan->nops + to);
    }
    getrusage(RUSAGE_SELF, &after);
    R->r->timing_faults = (size_t)(after.ru_minflt - before.ru_minflt + after.ru_majflt - before.ru_majflt);
    if (R->last_drawn != 0) R->opts->progress(R->opts->progress_ctx, 2 * plan->nops, 2 * plan->nops);
    for (size_t k = 0; k < plan->nslots; k++)
        if (ptr[k] != NULL) ad->free(R->a, ptr[k]);
    R->r->ns_per_op = plan->nops != 0 ? (double)total / (double)plan->nops : 0;
}

static size_t status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return 0;
    char line[256];
    size_t kib = 0, n = strlen(field);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0) kib = strtoull(line + n, NULL, 10);
    fclose(f);
    return kib;
}

/* Write to every page of [p, p + n), so that the pages are resident from now on. A large calloc
 * is fresh mmap memory that faults in only when written, and a compiler may drop a memset of zero
 * after calloc: the stores are volatile. */
static void touch_pages(void *p, size_t n)
{
    volatile unsigned char *b = p;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t off = 0; off < n; off += page) b[off] = 0;
    if (n != 0) b[n - 1] = 0;
}

/* Both passes in this process. Everything the lab itself needs during the measuring pass (the
 * slot and latency arrays) exists and is resident before the RSS baseline, and the p99, whose
 * sort may allocate, is taken after the footprint is read: the footprint is the allocator's. */
static int replay_here(run *R)
{
    const lab_plan *plan = R->plan;
    R->slots = calloc(plan->nslots + 1, sizeof *R->slots);
    R->lat = calloc(plan->nops + 1, sizeof *R->lat);
    if (R->slots == NULL || R->lat == NULL) {
        free(R->slots);
        free(R->lat);
        return fail(R, NULL, "out of memory for the replay's own state");
    }
    touch_pages(R->slots, (plan->nslots + 1) * sizeof *R->slots);
    touch_pages(R->lat, (plan->nops + 1) * sizeof *R->lat);
    size_t base_rss = 0;
    if (R->ad->rss_footprint) {
        /* Memory the lab itself freed (the trace's text) is still resident; give it back, or
         * the C library would reuse it without the RSS growing. */
        malloc_trim(0);
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (f != NULL) {
            fputs("5", f);
            fclose(f);
        }
        base_rss = status_kib("VmRSS:");
        R->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    }
    int rc = -1;
    if (open_allocator(R) == 0) {
        rc = measuring_pass(R);
        if (R->ad->rss_footprint) {
            size_t hwm = status_kib("VmHWM:") * 1024, base = base_rss * 1024;
            if (R->rss_peak > hwm) hwm = R->rss_peak;
            R->r->peak_footprint = hwm > base ? hwm - base : 0;
            if (R->statm_fd >= 0) close(R->statm_fd);
            R->statm_fd = -1;
            R->r->peak_footprint_op = plan->peak_op;
        }
        if (rc == 0 && !R->r->timed_out) R->r->p99_ns = measure_select_u64(R->lat, R->nlat, 0.99);
        if (rc != 0 || R->r->timed_out) {
            close_allocator(R);
        } else if (lab_instance_reopen(&R->in, plan->peak_live) == 0) {
            R->a = R->in.a;
            timing_pass(R);
            close_allocator(R);
        } else if (R->in.have_arena) {
            lab_arena_close(&R->in.arena);
        }
    } else {
        fail(R, NULL, "could not create the allocator");
    }
    free(R->slots);
    free(R->lat);
    return rc;
}

/* Run replay_here in a forked child so that the RSS it measures is the replay's alone. */
static int replay_forked(run *R)
{
    int fds[2];
    if (pipe(fds) != 0) return fail(R, NULL, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return fail(R, NULL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        int rc = replay_here(R);
        const char *p = (const char *)R->r;
        size_t left = sizeof *R->r;
        while (left > 0) {
            ssize_t n = write(fds[1], p, left);
            if (n <= 0) break;
            p += n;
            left -= (size_t)n;
        }
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    lab_result got;
    size_t have = 0;
    while (have < sizeof got) {
        ssize_t n = read(fds[0], (char *)&got + have, sizeof got - have);
        if (n <= 0) break;
        have += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (have != sizeof got) {
        if (WIFSIGNALED(status))
            return fail(R, NULL, "the replay crashed (signal %d)", WTERMSIG(status));
        return fail(R, NULL, "the replay's child ended without a result");
    }
    *R->r = got;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int lab_replay(const lab_plan *plan, const lab_adapter *ad, const lab_replay_opts *opts, lab_result *out)
{
    static const lab_replay_opts none = {0};
    *out = (lab_result){.ops = plan->nops, .planned_ops = plan->nops, .peak_live = plan->peak_live,
                        .external_frag = -1, .cost = ad->cost};
    if (opts != NULL) out->budget_s = (double)opts->budget_ns / 1e9;
    snprintf(out->trace, sizeof out->trace, "%s", plan->path != NULL ? plan->path : "-");
    snprintf(out->alloc, sizeof out->alloc, "%s", ad->name);
    run R = {.plan = plan, .ad = ad, .opts = opts != NULL ? opts : &none, .r = out, .statm_fd = -1};
    int rc = ad->rss_footprint && !R.opts->no_fork ? replay_forked(&R) : replay_here(&R);
    out->utilisation = out->peak_footprint != 0 ? (double)out->peak_live / (double)out->peak_footprint : 0;
    return rc;
}
