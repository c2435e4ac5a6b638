/* tests/valgrind/malloc_memcheck.c: a program linked with carve (not preloaded: Valgrind does not
 * replace carve_malloc), run under memcheck by malloc_memcheck.sh. With "uaf" it reads a freed
 * block, leaks another and writes one byte past a block's requested size (into the slack of its
 * size class); memcheck must see all three through carve's client requests. With "clean" it uses
 * blocks correctly, including a block shrunk in place twice by realloc and one grown and shrunk,
 * and memcheck must report nothing. */
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
    /* In place twice: memcheck must know the size each realloc gave it. */
    char *r = carve_malloc(200);
    memset(r, 4, 200);
    r = carve_realloc(r, 100);
    r = carve_realloc(r, 60);
    r = carve_realloc(r, 90);
    memset(r + 60, 5, 30);
    char *big2 = carve_realloc(carve_malloc(3000000), 2500000);
    big2[2499999] = 6;
    carve_free(p);
    int sum = keep[5] + big[299999] + q[4999] + r[89] + big2[2499999];
    sum += (int)carve_usable_size(r) == 90;
    if (uaf) {
        sum += p[10];                  /* use after free */
        keep[100] = 7;                 /* past the 100 requested bytes, inside the class's 112 */
        leak();
        sum += scrub_stack(3);
    }
    carve_free(keep);
    carve_free(big);
    carve_free(q);
    carve_free(r);
    carve_free(big2);
    printf("%d\n", sum > 0);
    return 0;
}
