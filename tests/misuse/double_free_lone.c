/* Free the only block of a page of 2 KiB blocks twice: the first free empties the page, which
 * goes back to its segment (classes above 1 KiB keep no empty page). */
#include "misuse.h"

int main(void)
{
    void *p = carve_malloc(2000);
    printf("%zu\n", carve_usable_size(p));
    carve_free(p);
    announce(p);
    carve_free(p);
    return continued();
}
