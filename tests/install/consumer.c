/* A program outside the tree that uses an installed carve. */
#include <carve/carve.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    carve_stats st;
    carve_stats_init(&st);
    if (strcmp(carve_strerror(CARVE_EDOUBLEFREE), "double free") != 0 || st.version != CARVE_STATS_VERSION)
        return 1;
    puts("consumer ok");
    return 0;
}
