/* bnn-edge: BMAXPOOL2D (VALID), optimized: word-wide AND over the window (32 channels per
 * operation). The 2x2 window (every pool of the presets) ANDs its four input pixels word by word,
 * two words per step (LDRD/STRD on Thumb-2); other windows accumulate
 * the taps of a window in a register, pointer-stepped (no index maths in the inner loop). */
#include "bnn/bnn_ops.h"

size_t bnn_bmaxpool2d_get_buffer_size(const bnn_bmaxpool2d_args_t *a) {
    (void)a;
    return 0;
}

/* One output row of a 2x2 window: p, q = the window's top-left / top-right pixel of row 0, r, s of
 * row 1; consecutive windows are `step` words apart. */
static void pool_2x2_row(uint32_t *o, const uint32_t *p, const uint32_t *r, int32_t out_w, int32_t words,
                         size_t step) {
    const uint32_t *q = p + words, *s = r + words;
    const size_t skip = step - (size_t)(words & ~1);
    for (int32_t ox = 0; ox < out_w; ox++) {
#if defined(__GNUC__) && defined(__thumb2__)
        /* 2 words per step: 4 LDRDs, 6 ANDs, 1 STRD (5.5 instructions per output word) */
        for (int32_t n = words >> 1; n > 0; n--) {
            uint32_t a0, a1, b0, b1;
            __asm__ volatile(
                "ldrd %[a0], %[a1], [%[p]], #8\n\t"
                "ldrd %[b0], %[b1], [%[q]], #8\n\t"
                "and %[a0], %[a0], %[b0]\n\t"
                "and %[a1], %[a1], %[b1]\n\t"
                "ldrd %[b0], %[b1], [%[r]], #8\n\t"
                "and %[a0], %[a0], %[b0]\n\t"
                "and %[a1], %[a1], %[b1]\n\t"
                "ldrd %[b0], %[b1], [%[s]], #8\n\t"
                "and %[a0], %[a0], %[b0]\n\t"
                "and %[a1], %[a1], %[b1]\n\t"
                "strd %[a0], %[a1], [%[o]], #8"
                : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [p] "+r"(p), [q] "+r"(q),
                  [r] "+r"(r), [s] "+r"(s), [o] "+r"(o)
                :
                : "memory");
        }
#else
        for (int32_t j = 0; j < (words & ~1); j++) o[j] = p[j] & q[j] & r[j] & s[j];
        o += words & ~1;
        p += words & ~1;
        q += words & ~1;
        r += words & ~1;
        s += words & ~1;
#endif
        if (words & 1) *o++ = *p & *q & *r & *s;
        p += skip;
        q += skip;
        r += skip;
        s += skip;
    }
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
        if (kh == 2 && kw == 2) {
            pool_2x2_row(o, win_row, win_row + row_stride, a->out_w, words, col_step);
            o += (size_t)a->out_w * (size_t)words;
            continue;
        }
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
