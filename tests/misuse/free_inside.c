/* Free a pointer 16 bytes inside a 64-byte block. */
#include "misuse.h"

int main(void)
{
    char *p = carve_malloc(64);
    announce(p + 16);
    carve_free(p + 16);
    carve_free(p);
    return continued();
}
