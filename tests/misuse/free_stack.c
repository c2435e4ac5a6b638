/* Free a pointer to a local variable. */
#include "misuse.h"

int main(void)
{
    int local[4] = {1, 2, 3, 4};
    carve_free(carve_malloc(10)); /* carve is up and running */
    announce(local);
    carve_free(local);
    return continued() + local[0] - 1;
}
