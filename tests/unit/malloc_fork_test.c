/* tests/unit/malloc_fork_test.c: fork from a multi-threaded parent whose threads are busy in
 * carve_malloc/carve_free (and may hold carve's locks). Each child must be able to allocate,
 * free (its own blocks and the parent's), start a thread and exit 0; a child stuck on a lock
 * is killed by alarm() and fails the test. And a fork that lands while another thread runs
 * carve's one-time initialisation (held there through this file's getrandom). */
#include "carve/malloc.h"
#include "carve_test.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* carve's initialisation draws its keys with getrandom; this definition, in the executable,
 * takes its place, and holds the first caller until the test lets it go. */
static int hold_first = 0, in_init = 0, let_go = 0; /* atomics */

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    if (__atomic_exchange_n(&hold_first, 0, __ATOMIC_ACQ_REL)) {
        __atomic_store_n(&in_init, 1, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&let_go, __ATOMIC_ACQUIRE)) sched_yield();
    }
    return syscall(SYS_getrandom, buf, len, flags);
}

static volatile int stop;

static void *churn(void *arg)
{
    test_rng r = {(uint64_t)(uintptr_t)arg};
    void *slots[128] = {0};
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        unsigned k = (unsigned)test_rng_below(&r, 128);
        carve_free(slots[k]);
        size_t n = test_rng_below(&r, 100) == 0 ? (size_t)test_rng_range(&r, 100000, 3000000)
                                                 : (size_t)test_rng_below(&r, 2000);
        slots[k] = carve_malloc(n);
        if (slots[k] != NULL) memset(slots[k], 1, n < 64 ? n : 64);
        if (test_rng_below(&r, 1000) == 0) carve_trim();
    }
    for (unsigned k = 0; k < 128; k++) carve_free(slots[k]);
    return NULL;
}

static void *child_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) carve_free(carve_malloc((size_t)i * 13));
    return NULL;
}

static int child_main(void *parent_block)
{
    alarm(20);
    void *p[2000];
    for (int i = 0; i < 2000; i++) {
        p[i] = carve_malloc((size_t)(i % 700) * 11 + (i % 97 == 0 ? 300000 : 0));
        if (p[i] == NULL) return 2;
        memset(p[i], 7, 8);
    }
    for (int i = 0; i < 2000; i++) carve_free(p[i]);
    carve_free(parent_block);
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0) return 3;
    pthread_join(t, NULL);
    carve_trim();
    return carve_malloc_check() == 0 ? 0 : 4;
}

START_TEST(child_of_a_busy_parent_allocates)
{
    enum { THREADS = 3 };
    pthread_t th[THREADS];
    stop = 0;
    for (uintptr_t i = 0; i < THREADS; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, churn, (void *)(i + 1)), 0);
    int forks = 20 * (int)test_scale();
    for (int f = 0; f < forks; f++) {
        void *parent_block = carve_malloc(100);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) _exit(child_main(parent_block));
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "fork %d: child status 0x%x (SIGALRM = deadlock)", f, status);
        carve_free(parent_block);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    ck_assert_uint_eq(carve_malloc_check(), 0);
}
END_TEST

static void *first_allocation(void *arg)
{
    (void)arg;
    carve_free(carve_malloc(10));
    return NULL;
}

/* The child of a fork made while another thread was initialising carve must initialise it
 * again itself, not wait for a thread that does not exist in it. (Each test runs in a fresh
 * process, in which carve has not run yet.) */
START_TEST(child_of_a_fork_during_initialisation_allocates)
{
    __atomic_store_n(&hold_first, 1, __ATOMIC_RELEASE);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, first_allocation, NULL), 0);
    for (int i = 0; i < 10000 && !__atomic_load_n(&in_init, __ATOMIC_ACQUIRE); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(__atomic_load_n(&in_init, __ATOMIC_ACQUIRE),
                  "carve was initialised before the test (run with CK_FORK=yes)");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(10);
        void *p = carve_malloc(100);
        if (p == NULL) _exit(2);
        carve_free(p);
        _exit(carve_malloc_check() == 0 ? 0 : 3);
    }
    __atomic_store_n(&let_go, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status 0x%x (SIGALRM = it waited for the parent's thread)", status);
}
END_TEST

static Suite *malloc_fork_suite(void)
{
    Suite *s = suite_create("malloc_fork");
    TCase *tc = tcase_create("fork");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, child_of_a_busy_parent_allocates);
    tcase_add_test(tc, child_of_a_fork_during_initialisation_allocates);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(malloc_fork_suite)
