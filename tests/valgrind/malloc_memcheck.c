/* tests/valgrind/malloc_memcheck.c: a program linked with carve (not preloaded: Valgrind does not
 * replace carve_malloc), run under memcheck by malloc_memcheck.sh. With "uaf" it reads a freed
 * block and leaks another; memcheck must see both through carve's client requests. With
 * "clean" it uses blocks correctly and memcheck must report nothing. */
#include "carve/malloc.h"

#include <stdio.h>
#include <string.h>

/* Allocate and drop the only pointer, in a frame of its own that the next call overwrites. */
__attribute__((noinline)) static void leak(void)
{
    void *first = carve_malloc(77); /* the first block of a page is pointed at by its page */
    volatile char *lost = carve_malloc(77);  /* descriptor (known limitation, docs/malloc.md) */
    lost[0] = 1;
    carve_free(first);
}

__attribute__((noinline)) static int scrub_stack(int n)
{
    volatile char junk[256];
    for (int i = 0; i < 256; i++) junk[i] = (char)n;
    return junk[n & 255];
}

int main(int argc, char **argv)
{
    bool uaf = argc > 1 && strcmp(argv[1], "uaf") == 0;
    /* p first: memcheck describes an address by the nearest live block within 16 bytes before
     * the freed one, so the freed block must not follow a live one directly. */
    char *p = carve_malloc(100), *keep = carve_malloc(100);
    memset(p, 1, 100);
    memset(keep, 2, 100);
    char *big = carve_calloc(1, 300000);
    char *q = carve_realloc(carve_malloc(10), 5000);
    memset(q, 3, 5000);
    carve_free(p);
    int sum = keep[5] + big[299999] + q[4999];
    if (uaf) {
        sum += p[10];                  /* use after free */
        leak();
        sum += scrub_stack(3);
    }
    carve_free(keep);
    carve_free(big);
    carve_free(q);
    printf("%d\n", sum > 0);
    return 0;
}
