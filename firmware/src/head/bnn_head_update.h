/* bnn-edge head: the W2 latent update of one class row (private to libbnn; HEAD.md § Learning).
 *   l[i] = clamp(l[i] - step * c_i, -clip, clip)   for the a half and the b half of the row,
 *   bits[i] = (l[i] < 0)                            c_i = +-1 (bit 1 of c = -1)
 * The packed bits are stored in "lane order" within each 32-bit word: latent 32w + b at bit
 * (b >> 1) + 16 (b & 1) of word w (even latents in the low half, odd ones in the high half: the
 * order in which two int16 lanes per word deliver their signs). The logits pair them with c in the
 * same order (bnn_head_deal), which leaves every popcount unchanged.
 * reference: the naive loop, one latent at a time. optimized: the same result, two int16 lanes
 * per instruction on cores with the DSP extension (Armv7E-M, Armv8-M Mainline with DSP), a
 * branch-free portable C loop elsewhere. Tested equal (tests/test_head_update.c). */
#ifndef BNN_HEAD_UPDATE_H
#define BNN_HEAD_UPDATE_H

#include <stdint.h>

/* la, lb: the row's two halves of c_words*32 int16 latents each (lb = la + C); wa, wb: their
 * packed bits (c_words words each); c: the input c = [z; h] (c_words words); clip in 1..32767,
 * latents already within [-clip, clip]; step any int32. */
/* bits 2j -> j, 2j+1 -> 16+j: a word of c (or of W2 bits in latent order) into lane order
 * (Hacker's Delight 7-2, the inverse perfect shuffle) */
static inline uint32_t bnn_head_deal(uint32_t x) {
    uint32_t t;
    t = (x ^ (x >> 1)) & 0x22222222u;
    x ^= t ^ (t << 1);
    t = (x ^ (x >> 2)) & 0x0C0C0C0Cu;
    x ^= t ^ (t << 2);
    t = (x ^ (x >> 4)) & 0x00F000F0u;
    x ^= t ^ (t << 4);
    t = (x ^ (x >> 8)) & 0x0000FF00u;
    x ^= t ^ (t << 8);
    return x;
}

typedef void (*bnn_head_update_fn)(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip);

void bnn_head_update_row_reference(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip);
void bnn_head_update_row_optimized(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip);

#endif /* BNN_HEAD_UPDATE_H */
