/* realloc a block that was already freed. */
#include "misuse.h"

int main(void)
{
    void *keep = carve_malloc(64), *p = carve_malloc(64);
    carve_free(p);
    announce(p);
    void *q = carve_realloc(p, 128);
    carve_free(keep);
    return q == NULL ? continued() : 1;
}
