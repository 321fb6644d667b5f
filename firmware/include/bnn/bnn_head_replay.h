/* bnn-edge on-device head: latent replay buffer with a fixed byte budget.
 *
 * n_slots = budget_bytes / (4*W + 1) samples (W = n_latent/32 words per latent, 1 label byte).
 * Latents are stored bit-packed (FORMAT.md: channel k = bit k%32 of word k/32, bit 1 = -1).
 *
 * Replacement: class-balanced reservoir sampling (CBRS, Chrysakis & Moens 2020) driven by one
 * seeded xorshift32 stream (bnn_head_prng.h), hence deterministic. Offering (z, y):
 *   seen[y] += 1 (saturating);
 *   not full            -> slot `fill`, fill += 1;
 *   count[y] < max(count) -> victim v = lowest class with count[v] == max; r = below(count[v]);
 *                          overwrite the r-th slot (slot order) holding v;
 *   count[y] == max     -> u = below(seen[y]); u < count[y] ? overwrite the u-th slot holding y
 *                                                          : drop the sample.
 * Replay draw: below(fill). Epoch order: Fisher-Yates on [0, fill), i = fill-1 .. 1,
 * j = below(i + 1), swap(perm[i], perm[j]).
 * Python twin: bnn_edge/sim/replay.py (bit-exact). */
#ifndef BNN_HEAD_REPLAY_H
#define BNN_HEAD_REPLAY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnn_replay {
    uint32_t *data;    /* [n_slots][words] bit-packed latents */
    uint8_t *labels;   /* [n_slots] */
    uint32_t *seen;    /* [max_classes] samples of each class offered so far (saturating) */
    uint16_t *count;   /* [max_classes] samples of each class stored */
    uint32_t rng;      /* xorshift32 state (BNN_PRNG_STREAM_BUFFER) */
    uint16_t n_slots;  /* capacity in samples */
    uint16_t fill;     /* slots in use (0..n_slots) */
    uint16_t words;    /* u32 words per latent */
    uint16_t max_classes;
} bnn_replay_t;

/* Capacity in samples of a `budget_bytes` buffer of n_latent-bit latents (0: less than one). */
uint32_t bnn_replay_slots(uint32_t n_latent, uint32_t budget_bytes);

/* Offers a sample (label < max_classes, checked by the caller). Returns the slot written or -1
 * when the sample was dropped. */
int32_t bnn_replay_insert(bnn_replay_t *rb, const uint32_t *latent, uint8_t label);

/* A slot drawn uniformly with replacement; the buffer must not be empty. */
uint16_t bnn_replay_draw(bnn_replay_t *rb);

/* Writes a Fisher-Yates permutation of [0, fill) into perm. */
void bnn_replay_shuffle(bnn_replay_t *rb, uint16_t *perm);

#ifdef __cplusplus
}
#endif

#endif /* BNN_HEAD_REPLAY_H */
