/* Free the same 300 KB block (a large block: a span of slices in a segment) twice. Its span goes
 * back to the segment at the first free, so the second finds free slices, not a live page. */
#include "misuse.h"

int main(void)
{
    void *p = carve_malloc(300000);
    printf("%zu\n", carve_usable_size(p));
    carve_free(p);
    announce(p);
    carve_free(p);
    return continued();
}
