/* Under CARVE_SECURE=1: write one byte past the end of a 40-byte block, then free it. */
#include "misuse.h"

int main(void)
{
    char *p = carve_malloc(40);
    if (carve_usable_size(p) != 40) return 2;
    p[40] = 'x';
    announce(p);
    carve_free(p);
    return continued();
}
