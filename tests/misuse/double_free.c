/* Free the same 64-byte block twice. */
#include "misuse.h"

int main(void)
{
    void *keep = carve_malloc(64), *p = carve_malloc(64); /* keep: the page stays in use */
    carve_free(p);
    announce(p);
    carve_free(p);
    carve_free(keep);
    return continued();
}
