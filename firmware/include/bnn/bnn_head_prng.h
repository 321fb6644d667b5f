/* bnn-edge on-device head: the deterministic pseudo-random generator.
 *
 * xorshift32 (Marsaglia 2003, shift triple 13/17/5), state never 0:
 *     x ^= x << 13;  x ^= x >> 17;  x ^= x << 5;
 * Integers below n: Lemire's multiply-shift  below(n) = (next() * (uint64_t)n) >> 32.
 * Independent streams from one user seed: seed_stream(seed, id) = fmix32(seed + id * 0x9E3779B9)
 * (murmur3's finaliser; 0 is replaced by 0x6D2B79F5).
 * Python twin: bnn_edge/sim/prng.py (bit-exact). */
#ifndef BNN_HEAD_PRNG_H
#define BNN_HEAD_PRNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BNN_PRNG_STREAM_W1 1u     /* W1 generation */
#define BNN_PRNG_STREAM_INIT 2u   /* W2 latent initialisation */
#define BNN_PRNG_STREAM_BUFFER 3u /* replay buffer: CBRS, replay draws, epoch shuffles */

/* murmur3 32-bit finaliser (a bijection). */
uint32_t bnn_prng_fmix32(uint32_t x);

/* Non-zero initial state of stream `stream` of user seed `seed`. */
uint32_t bnn_prng_seed(uint32_t seed, uint32_t stream);

/* Advances *state (a 0 state is first replaced by 0x6D2B79F5) and returns the new state. */
uint32_t bnn_prng_next(uint32_t *state);

/* Integer in [0, n) for n >= 1 (n = 0 returns 0 and still advances). */
uint32_t bnn_prng_below(uint32_t *state, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* BNN_HEAD_PRNG_H */
