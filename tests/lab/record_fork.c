/* tests/lab/record_fork.c: a program that forks, for carve record's round trip. Its children
 * allocate and exit normally (exit runs the recorder's destructor in each child), so a recorder
 * that let a child write would duplicate the parent's buffered operations into the recording.
 *
 * Phase 1 (exact): the parent holds 100 blocks of 1000..1099 bytes, forks three children that
 * allocate, free and leave a block live at exit(0), then takes one more block of 200000 bytes:
 * that is its peak of live bytes, printed at the end with write(2) (stdio would allocate).
 * Phase 2 (a lock held at fork): a thread allocates and frees in a loop while the parent forks
 * 100 children that allocate and exit normally; a child that inherited the recorder's lock held
 * by that thread would hang in its destructor. The parent's live bytes stay far below phase 1's
 * peak meanwhile, so the peak printed is the whole program's. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;
static void *volatile sink;

static void child_work(size_t big)
{
    void *q = malloc(big);
    memset(q, 1, big);
    free(q);
    sink = malloc(7); /* live at exit */
    exit(0);
}

static void fork_and_wait(size_t big)
{
    pid_t pid = fork();
    if (pid < 0) exit(3);
    if (pid == 0) child_work(big);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) exit(4);
}

/* Bursts of allocations with pauses, so that the recording stays small (a few hundred thousand
 * operations) while a fork still often lands inside the recorder's lock. */
static void *churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        for (int i = 0; i < 256; i++) {
            void *p = malloc(24);
            sink = p;
            free(p);
        }
        usleep(200);
    }
    return NULL;
}

int main(void)
{
    void *held[100];
    size_t live = 0;
    for (size_t i = 0; i < 100; i++) {
        held[i] = malloc(1000 + i);
        memset(held[i], 2, 1000 + i);
        sink = held[i];
        live += 1000 + i;
    }
    for (int k = 0; k < 3; k++) fork_and_wait(50000);
    void *big = malloc(200000);
    memset(big, 3, 200000);
    sink = big; /* used, so that the compiler keeps the allocation */
    size_t peak = live + 200000;
    free(big);
    for (size_t i = 0; i < 100; i++) free(held[i]);

    pthread_t t;
    if (pthread_create(&t, NULL, churn, NULL) != 0) return 5;
    for (int k = 0; k < 100; k++) fork_and_wait(10);
    atomic_store(&stop, 1);
    pthread_join(t, NULL);

    char line[32];
    int n = snprintf(line, sizeof line, "%zu\n", peak);
    return write(1, line, (size_t)n) == n ? 0 : 6;
}
