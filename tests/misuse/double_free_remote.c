/* Free a 64-byte block in another thread, then again in this one. */
#include "misuse.h"

#include <pthread.h>

static void *free_it(void *p)
{
    carve_free(p);
    return NULL;
}

int main(void)
{
    void *keep = carve_malloc(64), *p = carve_malloc(64);
    pthread_t t;
    pthread_create(&t, NULL, free_it, p);
    pthread_join(t, NULL);
    announce(p);
    carve_free(p);
    carve_free(keep);
    return continued();
}
