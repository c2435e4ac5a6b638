/* Not a misuse: the output of CARVE_STATS=1 and CARVE_VERBOSE=1. Three blocks allocated, one
 * freed, and one mapping made to fail (carve_os_fail_after, the OS layer's test hook): 10 MiB,
 * a huge block, so the failed mapping is 10 MiB and one 4 KiB header page. */
#include "misuse.h"

void carve_os_fail_after(long n); /* src/os/os.h */

int main(void)
{
    void *a = carve_malloc(100), *b = carve_malloc(5000), *c = carve_malloc(300000);
    carve_free(b);
    carve_os_fail_after(0);
    void *d = carve_malloc((size_t)10 << 20);
    carve_os_fail_after(-1);
    if (a == NULL || c == NULL || d != NULL) return 2;
    return 0; /* a and c stay live: the statistics at exit count them */
}
