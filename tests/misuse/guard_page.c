/* Under CARVE_SECURE=1: write one byte past the end of a large block, into its span's guard page:
 * the program dies of SIGSEGV at the write, before any free. */
#include "misuse.h"

int main(void)
{
    char *p = carve_malloc(200000);
    size_t usable = carve_usable_size(p);
    announce(p);
    p[usable - 1] = 'x'; /* the last byte is fine */
    p[usable] = 'x';     /* the guard page */
    carve_free(p);
    return continued();
}
