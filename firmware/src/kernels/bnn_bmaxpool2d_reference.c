/* bnn-edge: BMAXPOOL2D (VALID), reference: per output channel, the output bit is 1 (-1) only
 * when every input bit of the window is 1. */
#include "bnn/bnn_ops.h"

void bnn_bmaxpool2d_reference(const bnn_bmaxpool2d_args_t *a) {
    const int32_t words = bnn_words(a->c);
    for (int32_t oy = 0; oy < a->out_h; oy++) {
        for (int32_t ox = 0; ox < a->out_w; ox++) {
            uint32_t *o = a->output + ((size_t)oy * (size_t)a->out_w + (size_t)ox) * (size_t)words;
            for (int32_t j = 0; j < words; j++) o[j] = 0u;
            for (int32_t ch = 0; ch < a->c; ch++) {
                int all_minus = 1;
                for (int32_t ky = 0; ky < a->kh; ky++) {
                    for (int32_t kx = 0; kx < a->kw; kx++) {
                        const int32_t iy = oy * a->stride_h + ky;
                        const int32_t ix = ox * a->stride_w + kx;
                        const uint32_t *x = a->input +
                                            ((size_t)iy * (size_t)a->in_w + (size_t)ix) * (size_t)words;
                        if (((x[ch >> 5] >> (ch & 31)) & 1u) == 0u) all_minus = 0;
                    }
                }
                if (all_minus) o[ch >> 5] |= 1u << (ch & 31);
            }
        }
    }
}
