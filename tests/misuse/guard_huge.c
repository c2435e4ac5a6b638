/* Under CARVE_SECURE=1: write one byte past the end of a 3 MiB block (a mapping of its own), into
 * the mapping's guard page: the program dies of SIGSEGV at the write, before any free. The page
 * after the block is claimed first (MAP_FIXED_NOREPLACE, which fails on the guard page): without
 * a guard the write would land in that page and the program would go on. */
#include "misuse.h"

#include <sys/mman.h>

int main(void)
{
    char *p = carve_malloc((size_t)3 << 20);
    size_t usable = carve_usable_size(p);
    announce(p);
    (void)mmap(p + usable, 4096, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    p[usable - 1] = 'x'; /* the last byte is fine */
    p[usable] = 'x';     /* the guard page */
    carve_free(p);
    return continued();
}
