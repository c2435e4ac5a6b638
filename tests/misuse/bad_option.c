/* Not a misuse of memory: a bad option value (set by the runner) is reported once and the
 * default is kept. Prints the value in effect. */
#include "misuse.h"

int main(void)
{
    carve_free(carve_malloc(1));
    printf("%ld\n", carve_option_get(CARVE_OPTION_PURGE_DELAY_MS));
    return 0;
}
