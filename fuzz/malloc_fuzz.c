/* fuzz/malloc_fuzz.c: libFuzzer harness for carve_malloc. The input is a sequence of
 * operations (malloc, calloc, realloc, aligned_alloc, posix_memalign, free, usable size) on 64
 * slots, with sizes from tiny to SIZE_MAX. A shadow model keeps each live block's size and fill
 * byte; every result is checked (alignment, usable size, content kept by realloc, calloc zeroed,
 * NULL only with ENOMEM or EINVAL as the contract says), and carve_malloc_check runs after
 * every operation. */
#include "carve/malloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64
#define EDGE 64 /* bytes checked at each end of a block */

typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor;

static uint64_t take(cursor *c, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (c->n > 0 ? *c->p : 0);
        if (c->n > 0) c->p++, c->n--;
    }
    return v;
}

static size_t take_size(cursor *c)
{
    unsigned kind = (unsigned)take(c, 1);
    switch (kind % 8) {
    case 0: return (size_t)take(c, 1);
    case 1: case 2: case 3: return (size_t)take(c, 2);
    case 4: return (size_t)take(c, 3);                    /* up to 16 MiB */
    case 5: return SIZE_MAX - (size_t)take(c, 2);         /* impossible   */
    case 6: return (size_t)1 << (take(c, 1) % 64);        /* powers of two, up to 2^63 */
    default: return (size_t)take(c, 4) << (take(c, 1) % 24); /* anything */
    }
}

static unsigned char *slot_ptr[SLOTS];
static size_t slot_len[SLOTS];
static unsigned char slot_fill[SLOTS];

static void fill(unsigned k)
{
    size_t n = slot_len[k], head = n < EDGE ? n : EDGE;
    memset(slot_ptr[k], slot_fill[k], head);
    if (n > EDGE) memset(slot_ptr[k] + n - (n - EDGE < EDGE ? n - EDGE : EDGE), slot_fill[k],
                         n - EDGE < EDGE ? n - EDGE : EDGE);
}

static void expect_kept(const unsigned char *p, size_t n, unsigned char v)
{
    size_t head = n < EDGE ? n : EDGE;
    for (size_t i = 0; i < head; i++)
        if (p[i] != v) abort();
    size_t tail = n > EDGE ? (n - EDGE < EDGE ? n - EDGE : EDGE) : 0;
    for (size_t i = n - tail; i < n; i++)
        if (p[i] != v) abort();
}

/* After a resize from old to new bytes: the head survives, and the old tail when it still fits
 * (only the two ends of a block are filled). */
static void expect_resized(const unsigned char *p, size_t old, size_t new_len, unsigned char v)
{
    if (new_len >= old) expect_kept(p, old, v);
    else expect_kept(p, new_len < EDGE ? new_len : EDGE, v);
}

/* A size this large may fail; anything smaller must succeed. */
static bool may_fail(size_t n) { return n > ((size_t)64 << 20); }

static void check_new(unsigned k, unsigned char *p, size_t n, size_t align, int err)
{
    if (p == NULL) {
        if (!may_fail(n) || err != ENOMEM) abort();
        return;
    }
    if ((uintptr_t)p % (align < 16 ? 16 : align) != 0) abort();
    if (carve_usable_size(p) < n) abort();
    slot_ptr[k] = p;
    slot_len[k] = n > ((size_t)64 << 20) ? ((size_t)64 << 20) : n; /* touch only what we model */
    fill(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cursor c = {data, size};
    while (c.n > 0) {
        unsigned op = (unsigned)take(&c, 1), k = (unsigned)take(&c, 1) % SLOTS;
        unsigned char v = (unsigned char)(op ^ k ^ 0x5a);
        if (slot_ptr[k] != NULL) expect_kept(slot_ptr[k], slot_len[k], slot_fill[k]);
        switch (op % 7) {
        case 0: case 1: { /* malloc / calloc into an empty slot */
            if (slot_ptr[k] != NULL) break;
            size_t n = take_size(&c), m = op % 2 ? (size_t)take(&c, 1) : 1;
            errno = 0;
            unsigned char *p = op % 2 ? carve_calloc(m, n) : carve_malloc(n);
            size_t total;
            if (__builtin_mul_overflow(m, n, &total)) {
                if (p != NULL || errno != ENOMEM) abort();
                break;
            }
            if (p != NULL && op % 2)
                for (size_t i = 0; i < (total < 4096 ? total : 4096); i++)
                    if (p[i] != 0) abort();
            slot_fill[k] = v;
            check_new(k, p, total, 16, errno);
            break;
        }
        case 2: { /* realloc */
            size_t n = take_size(&c);
            if (slot_ptr[k] == NULL && n == 0) break;
            errno = 0;
            unsigned char *p = carve_realloc(slot_ptr[k], n);
            if (n == 0) { /* frees */
                if (p != NULL) abort();
                slot_ptr[k] = NULL;
                break;
            }
            if (p == NULL) {
                if (!may_fail(n) || errno != ENOMEM) abort();
                if (slot_ptr[k] != NULL) expect_kept(slot_ptr[k], slot_len[k], slot_fill[k]);
                break;
            }
            if (slot_ptr[k] != NULL) expect_resized(p, slot_len[k], n, slot_fill[k]);
            slot_fill[k] = v;
            check_new(k, p, n, 16, 0);
            break;
        }
        case 3: case 4: { /* aligned_alloc / posix_memalign, alignments valid or not */
            if (slot_ptr[k] != NULL) break;
            size_t a = take(&c, 1) < 240 ? (size_t)1 << (take(&c, 1) % 28) : (size_t)take(&c, 2);
            size_t n = take_size(&c);
            bool pow2 = a != 0 && (a & (a - 1)) == 0;
            unsigned char *p = NULL;
            errno = 0;
            if (op % 7 == 3) {
                p = carve_aligned_alloc(a, n);
                if (!pow2) {
                    if (p != NULL || errno != EINVAL) abort();
                    break;
                }
                slot_fill[k] = v;
                check_new(k, p, n, a, errno);
            } else {
                void *out = NULL;
                int rc = carve_posix_memalign(&out, a, n);
                if (!pow2 || a % sizeof(void *) != 0) {
                    if (rc != EINVAL || out != NULL) abort();
                    break;
                }
                if (rc != 0 && (rc != ENOMEM || out != NULL)) abort();
                slot_fill[k] = v;
                check_new(k, out, n, a, rc);
            }
            break;
        }
        case 5: /* free */
            carve_free(slot_ptr[k]);
            slot_ptr[k] = NULL;
            break;
        default: /* reallocarray with a possibly overflowing product */
            if (slot_ptr[k] == NULL) break;
            size_t m = (size_t)take(&c, 1), n = take_size(&c), total;
            errno = 0;
            unsigned char *p = carve_reallocarray(slot_ptr[k], m, n);
            if (__builtin_mul_overflow(m, n, &total)) {
                if (p != NULL || errno != ENOMEM) abort();
                break;
            }
            if (total == 0) {
                if (p != NULL) abort();
                slot_ptr[k] = NULL;
                break;
            }
            if (p == NULL) {
                if (!may_fail(total) || errno != ENOMEM) abort();
                break;
            }
            expect_resized(p, slot_len[k], total, slot_fill[k]);
            check_new(k, p, total, 16, 0);
            break;
        }
        if (carve_malloc_check() != 0) abort();
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        if (slot_ptr[k] != NULL) expect_kept(slot_ptr[k], slot_len[k], slot_fill[k]);
        carve_free(slot_ptr[k]);
        slot_ptr[k] = NULL;
    }
    if (carve_malloc_check() != 0) abort();
    return 0;
}
