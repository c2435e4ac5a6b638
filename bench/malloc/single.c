/*
 * bench/malloc/single.c: the single-threaded workloads.
 *
 *   simple   glibc's bench-malloc-simple pattern: for each of six sizes (16 .. 512), allocate a
 *            batch of 1000 blocks, touch each, free them in allocation order; repeat. Measures
 *            the fast paths and nothing else.
 *   churn    a working set of 20,000 slots of mixed small sizes (mbench_small_size); each step
 *            frees a random slot and refills it. Free lists get shuffled, as in a long-running
 *            program.
 *   realloc  64 buffers grow side by side, 1..64 bytes per realloc, each to a random length up
 *            to 256 KiB, as string builders and vectors without a growth policy do; contents are
 *            checked before the buffers are freed.
 */
#include "mbench.h"

#include <stdlib.h>
#include <string.h>

int mbench_simple(void)
{
    enum { BATCH = 1000 };
    static void *blocks[BATCH];
    static const size_t sizes[] = {16, 32, 64, 128, 256, 512};
    uint64_t rounds = mbench_scaled(4000), sum = 0;
    for (uint64_t round = 0; round < rounds; round++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t size = sizes[s];
            for (size_t i = 0; i < BATCH; i++) {
                blocks[i] = malloc(size);
                if (blocks[i] == NULL) return 1;
                mbench_mark(blocks[i], size);
            }
            for (size_t i = 0; i < BATCH; i++) {
                sum += mbench_marked(blocks[i], size);
                free(blocks[i]);
            }
        }
    }
    return sum != rounds * 6 * BATCH;
}

int mbench_replace_slots(size_t slots, uint64_t steps, uint64_t seed,
                         size_t (*next_size)(mbench_rng *), void (*touch)(unsigned char *, size_t))
{
    unsigned char **slot = calloc(slots, sizeof *slot);
    size_t *slot_size = calloc(slots, sizeof *slot_size);
    mbench_rng rng = {seed};
    int bad = slot == NULL || slot_size == NULL;
    for (uint64_t step = 0; step < steps && !bad; step++) {
        size_t i = (size_t)mbench_below(&rng, slots);
        if (slot[i] != NULL) {
            bad |= !mbench_marked(slot[i], slot_size[i]);
            free(slot[i]);
        }
        slot_size[i] = next_size(&rng);
        slot[i] = malloc(slot_size[i]);
        if (slot[i] == NULL) bad = 1;
        else touch(slot[i], slot_size[i]);
    }
    for (size_t i = 0; slot != NULL && slot_size != NULL && i < slots; i++) {
        if (slot[i] != NULL) bad |= !mbench_marked(slot[i], slot_size[i]);
        free(slot[i]);
    }
    free(slot);
    free(slot_size);
    return bad;
}

static void mark_only(unsigned char *block, size_t size) { mbench_mark(block, size); }

int mbench_churn(void)
{
    return mbench_replace_slots(20000, mbench_scaled(2500000), 42, mbench_small_size, mark_only);
}

int mbench_realloc(void)
{
    enum { BUFFERS = 64 };
    static unsigned char *buffer[BUFFERS];
    static size_t length[BUFFERS], target[BUFFERS];
    static uint64_t expected_sum[BUFFERS];
    mbench_rng rng = {7};
    uint64_t rounds = mbench_scaled(5);
    int bad = 0;
    for (uint64_t round = 0; round < rounds; round++) {
        size_t growing = BUFFERS;
        for (size_t b = 0; b < BUFFERS; b++) {
            buffer[b] = NULL;
            length[b] = 0;
            expected_sum[b] = 0;
            target[b] = 1 + (size_t)mbench_below(&rng, 256 * 1024);
        }
        while (growing > 0) {
            growing = 0;
            for (size_t b = 0; b < BUFFERS; b++) {
                if (length[b] >= target[b]) continue;
                growing++;
                size_t add = 1 + (size_t)mbench_below(&rng, 64);
                unsigned char *grown = realloc(buffer[b], length[b] + add);
                if (grown == NULL) return 1;
                unsigned char fill = (unsigned char)(length[b] + b);
                memset(grown + length[b], fill, add);
                expected_sum[b] += (uint64_t)fill * add;
                buffer[b] = grown;
                length[b] += add;
            }
        }
        for (size_t b = 0; b < BUFFERS; b++) {
            uint64_t sum = 0; /* every byte survived every move */
            for (size_t i = 0; i < length[b]; i++) sum += buffer[b][i];
            bad |= sum != expected_sum[b];
            free(buffer[b]);
        }
    }
    return bad;
}
