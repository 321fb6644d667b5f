/* bnn-edge: BMAXPOOL2D (VALID), optimized: word-wide AND over the window (32 channels per
 * operation), accumulated in a register per output word, pointer-stepped (no index maths in
 * the inner loop). */
#include "bnn/bnn_ops.h"

size_t bnn_bmaxpool2d_get_buffer_size(const bnn_bmaxpool2d_args_t *a) {
    (void)a;
    return 0;
}

void bnn_bmaxpool2d_optimized(const bnn_bmaxpool2d_args_t *a, void *scratch) {
    (void)scratch;
    const int32_t words = bnn_words(a->c);
    const int32_t kh = a->kh, kw = a->kw;
    const size_t row_stride = (size_t)a->in_w * (size_t)words;
    const size_t col_step = (size_t)a->stride_w * (size_t)words;
    uint32_t *o = a->output;
    for (int32_t oy = 0; oy < a->out_h; oy++) {
        const uint32_t *win_row = a->input + (size_t)(oy * a->stride_h) * row_stride;
        for (int32_t ox = 0; ox < a->out_w; ox++) {
            const uint32_t *win = win_row + (size_t)ox * col_step;
            for (int32_t j = 0; j < words; j++) {
                uint32_t v = 0xFFFFFFFFu;
                for (int32_t ky = 0; ky < kh; ky++) {
                    const uint32_t *x = win + (size_t)ky * row_stride + (size_t)j;
                    for (int32_t kx = 0; kx < kw; kx++) v &= x[(size_t)kx * (size_t)words];
                }
                *o++ = v;
            }
        }
    }
}
