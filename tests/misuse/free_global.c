/* Free a pointer to a global. */
#include "misuse.h"

static long global_block[8];

int main(void)
{
    announce(global_block);
    carve_free(global_block);
    return continued();
}
