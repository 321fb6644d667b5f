/* bnn-edge: BDEPTHWISE2D (depth multiplier 1), reference: per output channel, count the taps
 * whose input bit differs from the weight bit (out-of-bounds input bits are 0 = +1). */
#include "bnn/bnn_ops.h"

void bnn_bdepthwise2d_reference(const bnn_bdepthwise2d_args_t *a) {
    const int32_t words = bnn_words(a->c);
    const int32_t k_total = a->kh * a->kw;
    for (int32_t oy = 0; oy < a->out_h; oy++) {
        for (int32_t ox = 0; ox < a->out_w; ox++) {
            const size_t opix = (size_t)oy * (size_t)a->out_w + (size_t)ox;
            if (a->out_bits)
                for (int32_t j = 0; j < words; j++) a->out_bits[opix * (size_t)words + (size_t)j] = 0u;
            for (int32_t ch = 0; ch < a->c; ch++) {
                int32_t accum = 0;
                for (int32_t ky = 0; ky < a->kh; ky++) {
                    for (int32_t kx = 0; kx < a->kw; kx++) {
                        const int32_t iy = oy * a->stride_h - a->pad_top + ky;
                        const int32_t ix = ox * a->stride_w - a->pad_left + kx;
                        uint32_t xbit = 0u;
                        if (iy >= 0 && iy < a->in_h && ix >= 0 && ix < a->in_w) {
                            size_t ipix = (size_t)iy * (size_t)a->in_w + (size_t)ix;
                            xbit = (a->input[ipix * (size_t)words + (size_t)(ch >> 5)] >> (ch & 31)) & 1u;
                        }
                        size_t tap = (size_t)ky * (size_t)a->kw + (size_t)kx;
                        uint32_t wbit = (a->weights[tap * (size_t)words + (size_t)(ch >> 5)] >> (ch & 31)) & 1u;
                        accum += (int32_t)(xbit ^ wbit);
                    }
                }
                if (a->out_bits) {
                    if (accum > a->thresholds[ch])
                        a->out_bits[opix * (size_t)words + (size_t)(ch >> 5)] |= 1u << (ch & 31);
                } else {
                    a->out_int32[opix * (size_t)a->c + (size_t)ch] =
                        (int32_t)((int64_t)k_total - 2 * (int64_t)accum);
                }
            }
        }
    }
}
