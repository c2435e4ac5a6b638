/* tests/lab/record_pattern.c: a program with a known allocation pattern, for carve record's
 * round trip. Four threads each allocate, reallocate and free 2000 blocks (everything they
 * take they give back); then the main thread holds blocks of 1..N*16 bytes plus one block grown
 * by realloc to 100000 bytes, every family member used once (calloc 1000, aligned_alloc 640,
 * memalign 1280, posix_memalign 2560, valloc 3000, pvalloc 5000, reallocarray 700 then 900), and
 * frees them all. The peak of
 * live bytes the program itself asks for is printed: the recording's peak is that plus whatever
 * the C library keeps live meanwhile (a few KiB at most). */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 300 };

volatile int sink;

static void *worker(void *arg)
{
    size_t salt = (size_t)arg;
    void *held[64] = {0};
    for (size_t i = 0; i < 2000; i++) {
        size_t k = (i * 7 + salt) % 64;
        if (held[k] != NULL && i % 3 == 0) {
            void *q = realloc(held[k], 16 + i % 200);
            if (q != NULL) held[k] = q;
        } else {
            free(held[k]);
            held[k] = malloc(8 + (i * 13 + salt) % 500);
        }
    }
    for (size_t k = 0; k < 64; k++) free(held[k]);
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (size_t i = 0; i < 4; i++) pthread_join(t[i], NULL);
    void *blocks[N];
    size_t live = 0;
    for (size_t i = 0; i < N; i++) {
        blocks[i] = malloc((i + 1) * 16);
        memset(blocks[i], 1, (i + 1) * 16);
        live += (i + 1) * 16;
    }
    blocks[0] = realloc(blocks[0], 100000);
    live += 100000 - 16;
    void *c = calloc(10, 100), *a = aligned_alloc(64, 640), *m = memalign(128, 1280), *pm = NULL;
    if (posix_memalign(&pm, 256, 2560) != 0) return 1;
    void *v = valloc(3000), *pv = pvalloc(5000);
    void *ra = reallocarray(NULL, 7, 100);    /* an allocation of 700 */
    ra = reallocarray(ra, 9, 100);            /* a reallocation to 900 */
    if (c == NULL || a == NULL || m == NULL || v == NULL || pv == NULL || ra == NULL) return 1;
    live += 1000 + 640 + 1280 + 2560 + 3000 + 5000 + 900;
    size_t peak = live;
    /* Use every block, so that the compiler cannot drop an allocation it sees freed unused. */
    memset(c, 2, 1000);
    memset(a, 3, 640);
    memset(m, 4, 1280);
    memset(pm, 5, 2560);
    memset(v, 6, 3000);
    memset(pv, 7, 5000);
    memset(ra, 8, 900);
    sink = ((char *)c)[999] + ((char *)a)[639] + ((char *)m)[1279] + ((char *)pm)[2559] + ((char *)v)[2999] +
           ((char *)pv)[4999] + ((char *)ra)[899];
    free(c);
    free(a);
    free(m);
    free(pm);
    free(v);
    free(pv);
    free(ra);
    for (size_t i = 0; i < N; i++) free(blocks[i]);
    printf("%zu\n", peak);
    return 0;
}
