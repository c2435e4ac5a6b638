/* fuzz/fuzz_input.h: read a libFuzzer input as a stream of big-endian numbers; past its end,
 * every read gives 0. For the harnesses under fuzz/. */
#ifndef CARVE_FUZZ_INPUT_H
#define CARVE_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_input {
    const uint8_t *p;
    size_t n;
} fuzz_input;

/* The next `bytes` bytes (at most 8) as one number. */
static inline uint64_t fuzz_take(fuzz_input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (in->n > 0 ? *in->p : 0);
        if (in->n > 0) in->p++, in->n--;
    }
    return v;
}

#endif
