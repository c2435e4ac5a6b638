/* Free a pointer one byte past the start of a block. */
#include "misuse.h"

int main(void)
{
    char *p = carve_malloc(64);
    announce(p + 1);
    carve_free(p + 1);
    carve_free(p);
    return continued();
}
