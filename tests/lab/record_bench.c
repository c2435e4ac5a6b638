/* tests/lab/record_bench.c [PAIRS] [THREADS]: the recorder's cost per call. Each thread
 * allocates and frees PAIRS blocks of 16..271 bytes, keeping 64 live; the program prints the
 * wall time per malloc/free pair. Run it plainly and under `carve record` (or with
 * libcarve-record.so preloaded) to compare: see docs/lab.md, "What recording costs". Not a
 * test: nothing is asserted on a time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long pairs = 1000000;

static void *worker(void *arg)
{
    void *held[64] = {0};
    unsigned x = (unsigned)(size_t)arg * 2654435761u + 1;
    for (long i = 0; i < pairs; i++) {
        x = x * 1103515245u + 12345u;
        size_t k = (x >> 8) & 63;
        free(held[k]);
        held[k] = malloc(16 + ((x >> 16) & 255));
    }
    for (size_t k = 0; k < 64; k++) free(held[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) pairs = atol(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (pairs <= 0 || threads <= 0 || threads > 64) return 2;
    pthread_t t[64];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(size_t)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("%.1f ns per malloc/free pair (%d thread%s, %ld pairs each)\n", ns / (double)pairs / threads, threads,
           threads == 1 ? "" : "s", pairs);
    return 0;
}
