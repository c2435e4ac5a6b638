/*
 * tools/carve/recorder.c: build/libcarve-record.so, the malloc recorder that `carve record`
 * preloads into a program.
 *
 * Every call of the malloc family becomes one .rep operation (`a ID SIZE`, `r ID SIZE`, `f ID`)
 * appended to the file named by CARVE_RECORD_FILE. Pointers get ids in allocation order and
 * ids are never reused; a table maps live pointers to (id, requested size). One mutex orders the
 * operations of all threads, so the log is a sequence the program really went through. The
 * operations are formatted into a 64 KiB buffer and written with write(2) when it fills and at
 * exit, where the recorder also writes what it measured itself (`# recorder peak_live N`), so
 * a test can compare it with the replay.
 *
 * Traps, each handled:
 * - dlsym(RTLD_NEXT) may call calloc/malloc before the real functions are known: those calls
 *   are served from a static bootstrap buffer, whose blocks are never freed to libc.
 * - The recorder must not allocate while it records: the table's memory comes from src/os and
 *   numbers are formatted by hand. A thread-local flag turns nested calls into plain calls.
 * - Only the process that `carve record` started records (CARVE_RECORD_PID): a child it forks,
 *   or a program it execs, runs unrecorded (its own pid differs). In a forked child, the atfork
 *   handler stops recording, drops the inherited descriptor and the parent's unflushed buffer
 *   (the parent writes those operations itself), and remakes the lock, which another thread may
 *   have held at the fork.
 * - realloc(p, 0) frees; realloc(NULL, n) allocates; a failed call records nothing; a pointer
 *   the recorder never saw (allocated before it started) is not recorded when freed, and a
 *   realloc of it is recorded as an allocation.
 * - Alignment requests (aligned_alloc, posix_memalign, memalign, valloc, pvalloc) are recorded
 *   as plain allocations of their size: the .rep format has no alignment.
 */
#include "os/os.h"

#include <dlfcn.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct real_fns {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    void *(*aligned_alloc)(size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
} real_fns;

static real_fns real;
static bool resolving, recording;
static __thread int in_hook __attribute__((tls_model("initial-exec")));

/* The bootstrap buffer for allocations made while dlsym runs. */
static unsigned char boot[64 * 1024] __attribute__((aligned(64)));
static size_t boot_used;

static bool is_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t size)
{
    size_t at = (boot_used + 15) & ~(size_t)15;
    if (size > sizeof boot - at) return NULL;
    boot_used = at + size;
    return boot + at;
}

/* ---- the pointer table (open addressing, tombstones, memory from src/os) ------------------ */

typedef struct entry { uintptr_t key; uint64_t id; size_t size; } entry;
#define EMPTY ((uintptr_t)0)
#define GONE  ((uintptr_t)1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *table;
static size_t cap, used, tombs;
static uint64_t next_id, nops;
static size_t live, peak_live;
static int out_fd = -1;
static char buf[64 * 1024];
static size_t buf_len;

static size_t slot_of(uintptr_t key) { return (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1); }

static bool table_grow(void)
{
    size_t ncap = cap ? cap * 2 : 1 << 16;
    if (used * 4 < cap) ncap = cap; /* mostly tombstones: rehash in place size */
    entry *nt = carve_os_map(ncap * sizeof *nt, 0);
    if (nt == NULL) return false;
    entry *old = table;
    size_t ocap = cap;
    table = nt;
    cap = ncap;
    used = tombs = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].key <= GONE) continue;
        size_t j = slot_of(old[i].key);
        while (table[j].key != EMPTY) j = (j + 1) & (cap - 1);
        table[j] = old[i];
        used++;
    }
    if (old != NULL) carve_os_unmap(old, ocap * sizeof *old);
    return true;
}

static entry *table_find(uintptr_t key)
{
    if (cap == 0) return NULL;
    for (size_t j = slot_of(key);; j = (j + 1) & (cap - 1)) {
        if (table[j].key == key) return &table[j];
        if (table[j].key == EMPTY) return NULL;
    }
}

static bool table_put(uintptr_t key, uint64_t id, size_t size)
{
    if ((used + tombs + 1) * 10 > cap * 7 && !table_grow()) return false;
    size_t j = slot_of(key);
    while (table[j].key > GONE) j = (j + 1) & (cap - 1);
    if (table[j].key == GONE) tombs--;
    table[j] = (entry){key, id, size};
    used++;
    return true;
}

/* ---- the log ------------------------------------------------------------------------------- */

static void flush_buf(void)
{
    size_t off = 0;
    while (off < buf_len) {
        ssize_t n = write(out_fd, buf + off, buf_len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    buf_len = 0;
}

static void put_u64(uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) buf[buf_len++] = tmp[--n];
}

static void log_op(char kind, uint64_t id, size_t size)
{
    if (buf_len > sizeof buf - 64) flush_buf();
    buf[buf_len++] = kind;
    buf[buf_len++] = ' ';
    put_u64(id);
    if (kind != 'f') {
        buf[buf_len++] = ' ';
        put_u64(size);
    }
    buf[buf_len++] = '\n';
    nops++;
}

static void note_alloc(void *p, size_t size)
{
    if (!recording || p == NULL || in_hook) return;
    pthread_mutex_lock(&lock);
    uint64_t id = next_id++;
    if (table_put((uintptr_t)p, id, size)) {
        log_op('a', id, size);
        live += size;
        if (live > peak_live) peak_live = live;
    }
    pthread_mutex_unlock(&lock);
}

static void note_free(void *p)
{
    if (!recording || p == NULL || in_hook) return;
    pthread_mutex_lock(&lock);
    entry *e = table_find((uintptr_t)p);
    if (e != NULL) {
        log_op('f', e->id, 0);
        live -= e->size;
        e->key = GONE;
        used--;
        tombs++;
    }
    pthread_mutex_unlock(&lock);
}

/* realloc, under the lock for its whole length: otherwise another thread could be handed the
 * old address (freed inside realloc) and record it before this realloc moved its entry. */
static void *recorded_realloc(void *old, size_t size)
{
    pthread_mutex_lock(&lock);
    in_hook++;
    void *q = real.realloc(old, size);
    in_hook--;
    entry *e = q != NULL && old != NULL ? table_find((uintptr_t)old) : NULL;
    if (q != NULL && e == NULL) { /* realloc(NULL, n), or of a block never seen: an allocation */
        uint64_t id = next_id++;
        if (table_put((uintptr_t)q, id, size)) {
            log_op('a', id, size);
            live += size;
        }
    } else if (q != NULL) {
        entry kept = *e;
        e->key = GONE;
        used--;
        tombs++;
        if (table_put((uintptr_t)q, kept.id, size)) {
            log_op('r', kept.id, size);
            live = live - kept.size + size;
        }
    }
    if (live > peak_live) peak_live = live;
    pthread_mutex_unlock(&lock);
    return q;
}

/* ---- setup --------------------------------------------------------------------------------- */

static void resolve(void)
{
    if (real.malloc != NULL || resolving) return;
    resolving = true;
    real.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real.aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    real.valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
    real.pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
    resolving = false;
}

/* The child of a fork records nothing and writes nothing: the descriptor it inherited shares
 * the parent's file offset, and the buffer holds operations the parent has not flushed yet, which
 * the parent will write itself; if the child flushed them (its exit runs recorder_stop), they
 * would be in the recording twice, with a second trailer. Another thread of the parent may have
 * held the lock at the fork: in the child, that thread does not exist, so the lock is made anew.
 * Only async-signal-safe calls here (the child of a multi-threaded fork). */
static void stop_in_child(void)
{
    recording = false;
    buf_len = 0;
    if (out_fd >= 0) close(out_fd);
    out_fd = -1;
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&lock, &fresh, sizeof lock);
}

__attribute__((constructor)) static void recorder_start(void)
{
    resolve();
    const char *path = getenv("CARVE_RECORD_FILE"), *pid = getenv("CARVE_RECORD_PID");
    if (path == NULL || pid == NULL || strtol(pid, NULL, 10) != (long)getpid()) return;
    out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) return;
    pthread_atfork(NULL, NULL, stop_in_child);
    recording = true;
}

__attribute__((destructor)) static void recorder_stop(void)
{
    if (out_fd < 0) return;
    pthread_mutex_lock(&lock);
    recording = false;
    flush_buf();
    static const char head[] = "# recorder peak_live ";
    memcpy(buf, head, sizeof head - 1);
    buf_len = sizeof head - 1;
    put_u64(peak_live);
    memcpy(buf + buf_len, " ops ", 5);
    buf_len += 5;
    put_u64(nops);
    buf[buf_len++] = '\n';
    flush_buf();
    close(out_fd);
    out_fd = -1;
    pthread_mutex_unlock(&lock);
}

/* ---- the malloc family --------------------------------------------------------------------- */

EXPORT void *malloc(size_t size)
{
    resolve();
    if (real.malloc == NULL) return boot_alloc(size);
    void *p = real.malloc(size);
    note_alloc(p, size);
    return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
    resolve();
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (real.calloc == NULL) return boot_alloc(total); /* static memory: already zero */
    void *p = real.calloc(n, size);
    note_alloc(p, total);
    return p;
}

EXPORT void free(void *p)
{
    if (p == NULL || is_boot(p)) return;
    resolve();
    note_free(p);
    real.free(p);
}

EXPORT void *realloc(void *p, size_t size)
{
    resolve();
    if (is_boot(p)) { /* move a bootstrap block to the real heap */
        size_t room = (size_t)(boot + sizeof boot - (unsigned char *)p);
        void *q = malloc(size);
        if (q != NULL) memcpy(q, p, size < room ? size : room);
        return q;
    }
    if (real.realloc == NULL) return boot_alloc(size);
    if (p != NULL && size == 0) { /* glibc: frees, returns NULL */
        note_free(p);
        return real.realloc(p, 0);
    }
    if (!recording || in_hook) return real.realloc(p, size);
    return recorded_realloc(p, size);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    resolve();
    void *p = real.aligned_alloc(align, size);
    note_alloc(p, size);
    return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    resolve();
    int rc = real.posix_memalign(out, align, size);
    if (rc == 0) note_alloc(*out, size);
    return rc;
}

EXPORT void *memalign(size_t align, size_t size)
{
    resolve();
    void *p = real.memalign(align, size);
    note_alloc(p, size);
    return p;
}

EXPORT void *valloc(size_t size)
{
    resolve();
    void *p = real.valloc(size);
    note_alloc(p, size);
    return p;
}

EXPORT void *pvalloc(size_t size)
{
    resolve();
    void *p = real.pvalloc(size);
    note_alloc(p, size);
    return p;
}
