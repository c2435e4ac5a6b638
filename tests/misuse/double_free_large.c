/* Free the same 8 MiB block (a mapping of its own) twice. */
#include "misuse.h"

int main(void)
{
    void *p = carve_malloc((size_t)8 << 20);
    printf("%zu\n", carve_usable_size(p));
    carve_free(p);
    announce(p);
    carve_free(p);
    return continued();
}
