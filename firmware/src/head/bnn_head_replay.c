/* bnn-edge on-device head: class-balanced latent replay buffer (see bnn_head_replay.h). */
#include "bnn/bnn_head_replay.h"

#include <string.h>

#include "bnn/bnn_head_prng.h"

uint32_t bnn_replay_slots(uint32_t n_latent, uint32_t budget_bytes) {
    uint32_t words = (n_latent + 31u) / 32u;
    return budget_bytes / (4u * words + 1u);
}

/* Slot index of the r-th stored sample (slot order) of class `cls`; r < count[cls]. Four labels
 * at a time while the r-th is further on: the bytes equal to cls are the zero bytes of
 * labels ^ cls * 0x01010101, flagged exactly (bit 7 of each byte) and counted; then byte by byte. */
static uint16_t nth_slot_of(const bnn_replay_t *rb, uint8_t cls, uint32_t r) {
    const uint32_t pat = 0x01010101u * cls;
    uint32_t s = 0u;
    for (; s + 4u <= rb->fill; s += 4u) {
        uint32_t x;
        memcpy(&x, rb->labels + s, 4);
        x ^= pat;
        const uint32_t zero = ~(((x & 0x7F7F7F7Fu) + 0x7F7F7F7Fu) | x | 0x7F7F7F7Fu);
        const uint32_t n = ((zero >> 7) * 0x01010101u) >> 24;
        if (r < n) break;
        r -= n;
    }
    for (; s < rb->fill; s++) {
        if (rb->labels[s] == cls) {
            if (r == 0u) return (uint16_t)s;
            r--;
        }
    }
    return 0u; /* unreachable while count[] matches labels[] (checked on load) */
}

int32_t bnn_replay_insert(bnn_replay_t *rb, const uint32_t *latent, uint8_t label) {
    uint16_t slot;
    if (rb->seen[label] != 0xFFFFFFFFu) rb->seen[label]++;
    if (rb->fill < rb->n_slots) {
        slot = rb->fill++;
    } else {
        uint16_t m = 0u;
        uint16_t victim = 0u;
        for (uint16_t c = 0; c < rb->max_classes; c++) {
            if (rb->count[c] > m) {
                m = rb->count[c];
                victim = c;
            }
        }
        if (rb->count[label] < m) {
            uint32_t r = bnn_prng_below(&rb->rng, rb->count[victim]);
            slot = nth_slot_of(rb, (uint8_t)victim, r);
            rb->count[victim]--;
        } else {
            uint32_t u = bnn_prng_below(&rb->rng, rb->seen[label]);
            if (u >= rb->count[label]) return -1;
            slot = nth_slot_of(rb, label, u);
            rb->count[label]--;
        }
    }
    uint32_t *dst = rb->data + (uint32_t)slot * rb->words;
    for (uint16_t w = 0; w < rb->words; w++) dst[w] = latent[w];
    rb->labels[slot] = label;
    rb->count[label]++;
    return (int32_t)slot;
}

uint16_t bnn_replay_draw(bnn_replay_t *rb) {
    return (uint16_t)bnn_prng_below(&rb->rng, rb->fill);
}

void bnn_replay_shuffle(bnn_replay_t *rb, uint16_t *perm) {
    for (uint16_t i = 0; i < rb->fill; i++) perm[i] = i;
    for (uint32_t i = rb->fill; i-- > 1u;) {
        uint32_t j = bnn_prng_below(&rb->rng, i + 1u);
        uint16_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
