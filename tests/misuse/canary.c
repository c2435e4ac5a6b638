/* Under CARVE_SECURE=1: change the byte just past the end of a 40-byte block, then free it.
 * The byte is flipped rather than set: the canary is keyed random data, so writing a fixed value
 * ('x') left it unchanged, and the overflow undetectable, once in 256 runs. */
#include "misuse.h"

int main(void)
{
    char *p = carve_malloc(40);
    if (carve_usable_size(p) != 40) return 2;
    p[40] = (char)(p[40] ^ 0x5a);
    announce(p);
    carve_free(p);
    return continued();
}
