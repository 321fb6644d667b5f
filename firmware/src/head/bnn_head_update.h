/* bnn-edge head: the W2 latent update of one class row (private to libbnn; HEAD.md § Learning).
 *   l[i] = clamp(l[i] - step * c_i, -clip, clip)   for the a half and the b half of the row,
 *   bits[i] = (l[i] < 0)                            c_i = +-1 (bit 1 of c = -1)
 * reference: the naive loop, one latent at a time. optimized: the same result, two int16 lanes
 * per instruction on cores with the DSP extension (Armv7E-M, Armv8-M Mainline with DSP), a
 * branch-free portable C loop elsewhere. Tested equal (tests/test_head_update.c). */
#ifndef BNN_HEAD_UPDATE_H
#define BNN_HEAD_UPDATE_H

#include <stdint.h>

/* la, lb: the row's two halves of c_words*32 int16 latents each (lb = la + C); wa, wb: their
 * packed bits (c_words words each); c: the input c = [z; h] (c_words words); clip in 1..32767,
 * latents already within [-clip, clip]; step any int32. */
typedef void (*bnn_head_update_fn)(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip);

void bnn_head_update_row_reference(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip);
void bnn_head_update_row_optimized(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip);

#endif /* BNN_HEAD_UPDATE_H */
