/* bnn-edge: BCONV2D, optimized.
 *
 * For every output pixel and group, the receptive field (kh*kw taps x words(cin_g) words) is
 * gathered once into a contiguous scratch "patch" (zeros = +1 for out-of-bounds taps, bounds
 * checks hoisted out entirely for interior pixels, one straight copy per kernel row when the
 * taps of a row are contiguous). The weights of one output channel are contiguous in OHWI order
 * too, so each output channel is a single xor-popcount over kh*kw*words(cin_g) words, done with a
 * Harley-Seal carry-save popcount (one real popcount per 8 words). The patch copy is amortised
 * over all output channels of the group. Output bits are assembled in a register and stored once
 * per 32 channels. The patch lives on the stack when it has at most BNN_BCONV2D_STACK_PATCH_WORDS
 * words (default 96: 3x3 up to 320 channels per group, 384 bytes of stack), otherwise in the
 * scratch buffer (bnn_bconv2d_get_buffer_size() = 4 * kh * kw * words(in_c / groups) bytes). */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

/* Receptive fields up to this many words are gathered into a buffer on the stack (no scratch). */
#ifndef BNN_BCONV2D_STACK_PATCH_WORDS
#define BNN_BCONV2D_STACK_PATCH_WORDS 96
#endif

static size_t patch_words_of(const bnn_bconv2d_args_t *a) {
    return (size_t)a->kh * (size_t)a->kw * (size_t)bnn_words(a->in_c / a->groups);
}

size_t bnn_bconv2d_get_buffer_size(const bnn_bconv2d_args_t *a) {
    const size_t words = patch_words_of(a);
    return words <= BNN_BCONV2D_STACK_PATCH_WORDS ? 0u : words * sizeof(uint32_t);
}

static void gather_interior(const bnn_bconv2d_args_t *a, uint32_t *patch, int32_t iy0, int32_t ix0,
                            int32_t word0, int32_t g_words, int32_t in_words) {
    const size_t row_stride = (size_t)a->in_w * (size_t)in_words;
    const size_t tap_stride = (size_t)a->dilation_w * (size_t)in_words;
    const size_t row_step = (size_t)a->dilation_h * row_stride;
    const uint32_t *base = a->input + (size_t)iy0 * row_stride + (size_t)ix0 * (size_t)in_words +
                           (size_t)word0;
    if (tap_stride == (size_t)g_words) {
        /* groups == 1 and dilation_w == 1: a kernel row is kw*in_words contiguous words */
        const int32_t n = a->kw * g_words;
        for (int32_t ky = 0; ky < a->kh; ky++) {
            const uint32_t *row = base + (size_t)ky * row_step;
            for (int32_t k = 0; k < n; k++) *patch++ = row[k];
        }
        return;
    }
    for (int32_t ky = 0; ky < a->kh; ky++) {
        const uint32_t *row = base + (size_t)ky * row_step;
        for (int32_t kx = 0; kx < a->kw; kx++) {
            const uint32_t *src = row + (size_t)kx * tap_stride;
            for (int32_t k = 0; k < g_words; k++) *patch++ = src[k];
        }
    }
}

static void gather_border(const bnn_bconv2d_args_t *a, uint32_t *patch, int32_t iy0, int32_t ix0,
                          int32_t word0, int32_t g_words, int32_t in_words) {
    for (int32_t ky = 0; ky < a->kh; ky++) {
        const int32_t iy = iy0 + ky * a->dilation_h;
        const int y_ok = iy >= 0 && iy < a->in_h;
        for (int32_t kx = 0; kx < a->kw; kx++) {
            const int32_t ix = ix0 + kx * a->dilation_w;
            if (y_ok && ix >= 0 && ix < a->in_w) {
                const uint32_t *src = a->input +
                                      ((size_t)iy * (size_t)a->in_w + (size_t)ix) * (size_t)in_words +
                                      (size_t)word0;
                for (int32_t k = 0; k < g_words; k++) *patch++ = src[k];
            } else {
                for (int32_t k = 0; k < g_words; k++) *patch++ = 0u;
            }
        }
    }
}

void bnn_bconv2d_optimized(const bnn_bconv2d_args_t *a, void *scratch) {
#if BNN_BCONV2D_STACK_PATCH_WORDS > 0
    uint32_t stack_patch[BNN_BCONV2D_STACK_PATCH_WORDS];
    uint32_t *patch = patch_words_of(a) <= BNN_BCONV2D_STACK_PATCH_WORDS ? stack_patch : (uint32_t *)scratch;
#else
    uint32_t *patch = (uint32_t *)scratch;
#endif
    const int32_t groups = a->groups;
    const int32_t cin_g = a->in_c / groups;
    const int32_t cout_g = a->out_c / groups;
    const int32_t in_words = bnn_words(a->in_c);
    const int32_t g_words = bnn_words(cin_g);
    const int32_t out_words = bnn_words(a->out_c);
    const int32_t patch_words = a->kh * a->kw * g_words;
    const size_t w_per_group = (size_t)cout_g * (size_t)patch_words;
    const uint32_t k_total = (uint32_t)a->kh * (uint32_t)a->kw * (uint32_t)cin_g;
    const int32_t span_h = (a->kh - 1) * a->dilation_h;
    const int32_t span_w = (a->kw - 1) * a->dilation_w;

    for (int32_t oy = 0; oy < a->out_h; oy++) {
        const int32_t iy0 = oy * a->stride_h - a->pad_top;
        const int y_inside = iy0 >= 0 && iy0 + span_h < a->in_h;
        for (int32_t ox = 0; ox < a->out_w; ox++) {
            const int32_t ix0 = ox * a->stride_w - a->pad_left;
            const int inside = y_inside && ix0 >= 0 && ix0 + span_w < a->in_w;
            const size_t opix = (size_t)oy * (size_t)a->out_w + (size_t)ox;
            uint32_t *ob = a->out_bits ? a->out_bits + opix * (size_t)out_words : 0;
            int32_t *oi = a->out_int32 ? a->out_int32 + opix * (size_t)a->out_c : 0;
            uint32_t bits = 0u;
            int32_t o = 0;
            for (int32_t g = 0; g < groups; g++) {
                if (inside)
                    gather_interior(a, patch, iy0, ix0, g * g_words, g_words, in_words);
                else
                    gather_border(a, patch, iy0, ix0, g * g_words, g_words, in_words);
                const uint32_t *wrow = a->weights + (size_t)g * w_per_group;
                if (ob) {
                    const int32_t *th = a->thresholds;
                    for (int32_t n = 0; n < cout_g; n++, o++, wrow += patch_words) {
                        const int32_t accum = (int32_t)(patch_words < 16
                                                            ? bnn_xor_popcount_short(patch, wrow, patch_words)
                                                            : bnn_xor_popcount(patch, wrow, patch_words));
                        bits |= (uint32_t)(accum > th[o]) << (o & 31);
                        if ((o & 31) == 31) {
                            ob[o >> 5] = bits;
                            bits = 0u;
                        }
                    }
                } else {
                    for (int32_t n = 0; n < cout_g; n++, o++, wrow += patch_words) {
                        const uint32_t accum = patch_words < 16
                                                   ? bnn_xor_popcount_short(patch, wrow, patch_words)
                                                   : bnn_xor_popcount(patch, wrow, patch_words);
                        oi[o] = (int32_t)(k_total - 2u * accum); /* |y| <= K < 2^31 */
                    }
                }
            }
            if (ob && (a->out_c & 31)) ob[out_words - 1] = bits;
        }
    }
}
