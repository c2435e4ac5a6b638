/* tests/misuse/misuse.h: what every misuse program shares. Each program announces on stdout
 * the pointer it is about to misuse (so the runner, misuse_test.c, can build the exact message
 * it expects), commits one misuse, and prints "continued" if it is still running afterwards
 * (the warn and ignore policies). */
#ifndef CARVE_MISUSE_H
#define CARVE_MISUSE_H

#include "carve/malloc.h"

#include <stdio.h>
#include <stdlib.h>

static inline void announce(const void *p)
{
    printf("%p\n", p);
    fflush(stdout);
}

static inline int continued(void)
{
    printf("continued\n");
    return 0;
}

#endif
