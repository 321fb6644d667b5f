/* bnn-edge on-device head: xorshift32 PRNG (see bnn_head_prng.h). */
#include "bnn/bnn_head_prng.h"

#define BNN_PRNG_ZERO_REPLACEMENT 0x6D2B79F5u

uint32_t bnn_prng_fmix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

uint32_t bnn_prng_seed(uint32_t seed, uint32_t stream) {
    uint32_t x = bnn_prng_fmix32(seed + stream * 0x9E3779B9u);
    return x != 0u ? x : BNN_PRNG_ZERO_REPLACEMENT;
}

uint32_t bnn_prng_next(uint32_t *state) {
    uint32_t x = *state;
    if (x == 0u) x = BNN_PRNG_ZERO_REPLACEMENT;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

uint32_t bnn_prng_below(uint32_t *state, uint32_t n) {
    return (uint32_t)(((uint64_t)bnn_prng_next(state) * (uint64_t)n) >> 32);
}
