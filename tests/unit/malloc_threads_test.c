/* tests/unit/malloc_threads_test.c: carve_malloc under threads. Rounds of threads allocate
 * blocks of random sizes, fill them with a pattern, and hand most of them to another thread
 * through a mailbox; the receiver checks the pattern and frees the block. Blocks left in the
 * mailboxes when a round's threads exit are freed by the next round's threads, after their
 * owner has gone (abandoned pages, reclaimed ones). Each thread checks its own heap with
 * carve_malloc_check when it is done. Labelled `thread`: it also runs under TSan.
 * Scale: CARVE_TEST_SCALE multiplies the operations (make stress). */
#include "carve/malloc.h"
#include "carve_test.h"
#include "malloc_resident.h"
#include "os/os.h"

#include <pthread.h>
#include <string.h>

#define NTHREADS 4
#define BOX_CAP 256

typedef struct mailbox {
    pthread_mutex_t lock;
    void *items[BOX_CAP];
    size_t sizes[BOX_CAP];
    int n;
} mailbox;

static mailbox boxes[NTHREADS];
static int failures;

typedef struct worker {
    int id;
    uint64_t seed;
    long ops;
} worker;

static unsigned char pattern(const void *p, size_t i) { return (unsigned char)(((uintptr_t)p >> 4) + i * 7); }

static void fill(unsigned char *p, size_t n)
{
    size_t step = n > 4096 ? 512 : 1;
    for (size_t i = 0; i < n; i += step) p[i] = pattern(p, i);
    if (n > 0) p[n - 1] = pattern(p, n - 1);
}

static bool verify(const unsigned char *p, size_t n)
{
    size_t step = n > 4096 ? 512 : 1;
    for (size_t i = 0; i < n; i += step)
        if (p[i] != pattern(p, i)) return false;
    return n == 0 || p[n - 1] == pattern(p, n - 1);
}

static size_t random_size(test_rng *r)
{
    uint64_t k = test_rng_below(r, 1000);
    if (k < 900) return (size_t)test_rng_below(r, 512);
    if (k < 990) return (size_t)test_rng_range(r, 512, 40000);
    if (k < 998) return (size_t)test_rng_range(r, 40000, 600000);
    return (size_t)test_rng_range(r, 2u << 20, 5u << 20);
}

static void check_and_free(void *p, size_t n)
{
    if (!verify(p, n)) __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    carve_free(p);
}

static void *work(void *arg)
{
    worker *w = arg;
    test_rng r = {w->seed};
    void *mine[64] = {0};
    size_t mine_size[64] = {0};
    for (long op = 0; op < w->ops; op++) {
        unsigned k = (unsigned)test_rng_below(&r, 64);
        if (mine[k] != NULL) {
            if (test_rng_below(&r, 4) != 0) { /* hand it to the next thread */
                mailbox *b = &boxes[(w->id + 1) % NTHREADS];
                pthread_mutex_lock(&b->lock);
                if (b->n < BOX_CAP) {
                    b->items[b->n] = mine[k];
                    b->sizes[b->n++] = mine_size[k];
                    mine[k] = NULL;
                }
                pthread_mutex_unlock(&b->lock);
            }
            if (mine[k] != NULL) check_and_free(mine[k], mine_size[k]);
        }
        size_t n = random_size(&r);
        unsigned char *p = carve_malloc(n);
        if (p == NULL || ((uintptr_t)p & 15) != 0 || carve_usable_size(p) < n) {
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
            mine[k] = NULL;
            continue;
        }
        fill(p, n);
        mine[k] = p;
        mine_size[k] = n;
        if (op % 16 == 0) { /* drain my mailbox */
            mailbox *b = &boxes[w->id];
            pthread_mutex_lock(&b->lock);
            while (b->n > 0) {
                b->n--;
                check_and_free(b->items[b->n], b->sizes[b->n]);
            }
            pthread_mutex_unlock(&b->lock);
        }
    }
    /* Leave some of mine in the mailboxes (freed after this thread exits), free the rest. */
    for (unsigned k = 0; k < 64; k++) {
        if (mine[k] == NULL) continue;
        mailbox *b = &boxes[(w->id + 2) % NTHREADS];
        pthread_mutex_lock(&b->lock);
        bool kept = (k & 1) && b->n < BOX_CAP;
        if (kept) {
            b->items[b->n] = mine[k];
            b->sizes[b->n++] = mine_size[k];
        }
        pthread_mutex_unlock(&b->lock);
        if (!kept) check_and_free(mine[k], mine_size[k]);
    }
    if (carve_malloc_check() != 0) __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    return NULL;
}

START_TEST(threads_hand_blocks_to_each_other)
{
    uint64_t seed = test_seed();
    long ops = 4000 * (long)test_scale();
    int rounds = 4;
    for (int i = 0; i < NTHREADS; i++) pthread_mutex_init(&boxes[i].lock, NULL);
    for (int round = 0; round < rounds; round++) {
        pthread_t th[NTHREADS];
        worker w[NTHREADS];
        for (int i = 0; i < NTHREADS; i++) {
            w[i] = (worker){i, seed + (uint64_t)(round * NTHREADS + i) * 7919u, ops};
            ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
        }
        for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
        if (failures != 0) CARVE_FAILF(seed, "round %d: %d pattern/alignment failures", round, failures);
    }
    for (int i = 0; i < NTHREADS; i++) {
        while (boxes[i].n > 0) {
            boxes[i].n--;
            check_and_free(boxes[i].items[boxes[i].n], boxes[i].sizes[boxes[i].n]);
        }
    }
    if (failures != 0) CARVE_FAILF(seed, "%d pattern failures at the end", failures);
    ck_assert_uint_eq(carve_malloc_check(), 0);
    /* Everything is free: what stays mapped is bounded (spare segments, caches), not leaked. */
    carve_trim();
    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    ck_assert_uint_eq(st.used, 0);
}
END_TEST

/* A producer that only allocates large blocks, a consumer that frees them: the producer must
 * get the spans back (through the remote frees), so the mapped memory stays bounded. */
enum { PIPE = 64 };
static void *pipe_slot[PIPE];
static pthread_mutex_t pipe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pipe_cond = PTHREAD_COND_INITIALIZER;
static int pipe_n;
static long pipe_total;

static void *consumer(void *arg)
{
    (void)arg;
    for (long done = 0; done < pipe_total;) {
        pthread_mutex_lock(&pipe_lock);
        while (pipe_n == 0) pthread_cond_wait(&pipe_cond, &pipe_lock);
        void *p = pipe_slot[--pipe_n];
        pthread_cond_broadcast(&pipe_cond);
        pthread_mutex_unlock(&pipe_lock);
        carve_free(p);
        done++;
    }
    return NULL;
}

START_TEST(remote_frees_of_large_blocks_come_back)
{
    pipe_total = 3000 * (long)test_scale();
    size_t before = carve_os_mapped_bytes(), peak = before;
    pthread_t c;
    ck_assert_int_eq(pthread_create(&c, NULL, consumer, NULL), 0);
    for (long i = 0; i < pipe_total; i++) {
        void *p = carve_malloc(300000);
        ck_assert_ptr_nonnull(p);
        memset(p, 1, 64);
        pthread_mutex_lock(&pipe_lock);
        while (pipe_n == PIPE) pthread_cond_wait(&pipe_cond, &pipe_lock);
        pipe_slot[pipe_n++] = p;
        pthread_cond_broadcast(&pipe_cond);
        pthread_mutex_unlock(&pipe_lock);
        size_t now = carve_os_mapped_bytes();
        if (now > peak) peak = now;
    }
    pthread_join(c, NULL);
    /* at most 64 blocks in flight (20 MiB) plus slack; 3000 blocks would be 900 MiB */
    ck_assert_msg(peak - before < ((size_t)128 << 20), "mapped grew by %zu bytes", peak - before);
}
END_TEST

/* A thread that frees a lot and then waits (blocked, no carve call): its free pages must go back
 * when another thread calls carve_trim, and after a delay while other threads merely work. */
enum { QUIET_N = 32768 }; /* blocks of 2000 bytes: 64 MiB */
static void *quiet_blocks[QUIET_N];
static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet_cond = PTHREAD_COND_INITIALIZER;
static int quiet_stage; /* 1: blocks freed, the worker waits; 2: it may go on; 3: it is done */
static int quiet_bad;

static void quiet_set(int stage)
{
    pthread_mutex_lock(&quiet_lock);
    quiet_stage = stage;
    pthread_cond_broadcast(&quiet_cond);
    pthread_mutex_unlock(&quiet_lock);
}

static void quiet_wait(int stage)
{
    pthread_mutex_lock(&quiet_lock);
    while (quiet_stage < stage) pthread_cond_wait(&quiet_cond, &quiet_lock);
    pthread_mutex_unlock(&quiet_lock);
}

static void *quiet_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < QUIET_N; i++) {
        quiet_blocks[i] = carve_malloc(2000);
        if (quiet_blocks[i] == NULL) quiet_bad++;
        else memset(quiet_blocks[i], 1, 2000);
    }
    if (quiet_bad == 0 && resident_permille(quiet_blocks, QUIET_N) < 900) quiet_bad++;
    for (int i = 0; i < QUIET_N; i++) carve_free(quiet_blocks[i]);
    quiet_set(1);
    quiet_wait(2);
    /* the heap works as before (and honours the trim at its next slow path) */
    for (int i = 0; i < QUIET_N; i++) {
        unsigned char *p = carve_malloc(2000);
        if (p == NULL) { quiet_bad++; continue; }
        memset(p, (unsigned char)i, 2000);
        quiet_blocks[i] = p;
    }
    for (int i = 0; i < QUIET_N; i++) {
        unsigned char *p = quiet_blocks[i];
        if (p != NULL && (p[0] != (unsigned char)i || p[1999] != (unsigned char)i)) quiet_bad++;
        carve_free(p);
    }
    if (carve_malloc_check() != 0) quiet_bad++;
    quiet_set(3);
    return NULL;
}

START_TEST(trim_reaches_the_free_pages_of_other_live_threads)
{
    quiet_stage = 0;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, quiet_worker, NULL), 0);
    quiet_wait(1);
    ck_assert(carve_trim());
    unsigned share = resident_permille(quiet_blocks, QUIET_N);
    quiet_set(2);
    pthread_join(t, NULL);
    ck_assert_int_eq(quiet_bad, 0);
    ck_assert_msg(share <= 50, "%u per mille of the other thread's freed blocks resident after trim", share);
}
END_TEST

START_TEST(a_quiet_threads_free_pages_go_back_while_others_work)
{
    quiet_stage = 0;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, quiet_worker, NULL), 0);
    quiet_wait(1);
    double start = now_seconds();
    unsigned share = 1000;
    while ((share = resident_permille(quiet_blocks, QUIET_N)) > 50 && now_seconds() - start < 5)
        churn_small(1000); /* this thread's slow paths sweep every thread's segments */
    quiet_set(2);
    pthread_join(t, NULL);
    ck_assert_int_eq(quiet_bad, 0);
    ck_assert_msg(share <= 50, "%u per mille still resident after %.1f s", share, now_seconds() - start);
}
END_TEST

static Suite *malloc_threads_suite(void)
{
    Suite *s = suite_create("malloc_threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, threads_hand_blocks_to_each_other);
    tcase_add_test(tc, remote_frees_of_large_blocks_come_back);
    tcase_add_test(tc, trim_reaches_the_free_pages_of_other_live_threads);
    tcase_add_test(tc, a_quiet_threads_free_pages_go_back_while_others_work);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(malloc_threads_suite)
