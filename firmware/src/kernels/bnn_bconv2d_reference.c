/* bnn-edge: BCONV2D, reference. Naive loops over output pixel, output channel, tap and word;
 * accum = sum of popcount(x ^ w) over the group's real input channels (tail bits masked). */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

void bnn_bconv2d_reference(const bnn_bconv2d_args_t *a) {
    const int32_t cin_g = a->in_c / a->groups;
    const int32_t cout_g = a->out_c / a->groups;
    const int32_t in_words = bnn_words(a->in_c);
    const int32_t g_words = bnn_words(cin_g);
    const int32_t out_words = bnn_words(a->out_c);
    const uint32_t tail = bnn_tail_mask(cin_g);
    const int32_t k_total = a->kh * a->kw * cin_g;

    for (int32_t oy = 0; oy < a->out_h; oy++) {
        for (int32_t ox = 0; ox < a->out_w; ox++) {
            const size_t opix = (size_t)oy * (size_t)a->out_w + (size_t)ox;
            if (a->out_bits)
                for (int32_t j = 0; j < out_words; j++)
                    a->out_bits[opix * (size_t)out_words + (size_t)j] = 0u;
            for (int32_t o = 0; o < a->out_c; o++) {
                const int32_t g = o / cout_g;
                int32_t accum = 0;
                for (int32_t ky = 0; ky < a->kh; ky++) {
                    for (int32_t kx = 0; kx < a->kw; kx++) {
                        const int32_t iy = oy * a->stride_h - a->pad_top + ky * a->dilation_h;
                        const int32_t ix = ox * a->stride_w - a->pad_left + kx * a->dilation_w;
                        const int inside = iy >= 0 && iy < a->in_h && ix >= 0 && ix < a->in_w;
                        for (int32_t k = 0; k < g_words; k++) {
                            uint32_t x = 0u; /* out of bounds: +1 everywhere (one-padding) */
                            if (inside) {
                                size_t ipix = (size_t)iy * (size_t)a->in_w + (size_t)ix;
                                x = a->input[ipix * (size_t)in_words + (size_t)(g * g_words + k)];
                            }
                            size_t widx = (((size_t)o * (size_t)a->kh + (size_t)ky) * (size_t)a->kw +
                                           (size_t)kx) * (size_t)g_words + (size_t)k;
                            uint32_t d = x ^ a->weights[widx];
                            if (k == g_words - 1) d &= tail;
                            accum += bnn_popcount_ref(d);
                        }
                    }
                }
                if (a->out_bits) {
                    if (accum > a->thresholds[o])
                        a->out_bits[opix * (size_t)out_words + (size_t)(o >> 5)] |= 1u << (o & 31);
                } else {
                    a->out_int32[opix * (size_t)a->out_c + (size_t)o] =
                        (int32_t)((int64_t)k_total - 2 * (int64_t)accum);
                }
            }
        }
    }
}
