/* The small head and flash geometry shared by the store fuzz target and its seed generator.
 * A stored state only loads into a head of the same configuration (N, H, classes, buffer, W1),
 * so the seeds must be made with exactly this one. */
#ifndef BNN_FUZZ_HEAD_CONFIG_H
#define BNN_FUZZ_HEAD_CONFIG_H

#include <stdint.h>
#include <string.h>

#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_head_store.h"

#define FUZZ_PAGE 256u
#define FUZZ_PAGES 12u /* two slots of 1.5 KiB (the state is ~1.1 KiB) */
#define FUZZ_UNIT 4u
#define FUZZ_FLASH_BYTES (FUZZ_PAGE * FUZZ_PAGES)
#define FUZZ_ARENA_WORDS 2048u

static inline void fuzz_head_config(bnn_head_config_t *c) {
    bnn_head_config_default(c);
    c->n_latent = 32u;
    c->n_hidden = 32u;
    c->max_classes = 4u;
    c->buffer_bytes = 6u * 5u; /* 6 replay slots */
    c->replay_k = 2u;
    c->epochs = 1u;
    c->seed = 7u;
}

/* A few learning steps from a PRNG stream (labels below max_classes). */
static inline void fuzz_head_learn(bnn_head_t *h, uint32_t steps, uint32_t *rng) {
    uint32_t z[1];
    for (uint32_t i = 0; i < steps; i++) {
        z[0] = bnn_prng_next(rng);
        (void)bnn_head_learn(h, z, bnn_prng_below(rng, h->cfg.max_classes));
    }
}

#endif /* BNN_FUZZ_HEAD_CONFIG_H */
