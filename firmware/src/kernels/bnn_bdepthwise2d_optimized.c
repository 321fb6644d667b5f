/* bnn-edge: BDEPTHWISE2D (depth multiplier 1), optimized with bit-sliced counters.
 *
 * 32 channels (one word) are processed at once: the per-channel tap counts live in "planes"
 * (plane b holds bit b of the 32 counters) and each tap is added with a ripple carry over the
 * planes, a few word operations instead of 32 bit extractions. The outer loop runs over channel
 * words so that, for a bits output, the word's 32 thresholds are sliced once into the same plane
 * form (plus "always 1" / "always 0" masks for thresholds outside [0, K)) in a small stack buffer;
 * the comparison accum > t is then done bit-sliced from the most significant plane down, 32
 * channels in ~4 operations per plane. INT32 output reads the counters back per channel. Bounds
 * checks are hoisted out for interior pixels. No scratch buffer. */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

#define BNN_MAX_PLANES 32

static int32_t count_planes(int32_t k_total) { /* bits needed to hold 0..K (K < 2^31) */
    int32_t b = 0;
    while (b < 31 && ((uint32_t)k_total >> b) != 0u) b++;
    return b;
}

size_t bnn_bdepthwise2d_get_buffer_size(const bnn_bdepthwise2d_args_t *a) {
    (void)a;
    return 0;
}

/* Slices the thresholds of channel word j: t[0..P) planes, t[P] always-1 mask, t[P+1] always-0. */
static void slice_thresholds(const bnn_bdepthwise2d_args_t *a, int32_t j, uint32_t *t, int32_t planes,
                             int32_t k_total) {
    for (int32_t b = 0; b < planes + 2; b++) t[b] = 0u;
    for (int32_t bit = 0; bit < 32; bit++) {
        const int32_t ch = j * 32 + bit;
        const uint32_t m = 1u << bit;
        if (ch >= a->c) {
            t[planes + 1] |= m; /* tail channel: always 0 */
            continue;
        }
        const int32_t th = a->thresholds[ch];
        if (th < 0) {
            t[planes] |= m; /* accum >= 0 > th */
        } else if (th >= k_total) {
            t[planes + 1] |= m; /* accum <= K <= th */
        } else {
            for (int32_t b = 0; b < planes; b++)
                if (((uint32_t)th >> b) & 1u) t[b] |= m;
        }
    }
}

static inline void add_to_planes(uint32_t *p, int32_t planes, uint32_t v) {
    for (int32_t b = 0; b < planes && v; b++) {
        const uint32_t carry = p[b] & v;
        p[b] ^= v;
        v = carry;
    }
}

void bnn_bdepthwise2d_optimized(const bnn_bdepthwise2d_args_t *a, void *scratch) {
    (void)scratch;
    const int32_t words = bnn_words(a->c);
    const int32_t kh = a->kh, kw = a->kw;
    const int32_t k_total = kh * kw;
    const int32_t planes = count_planes(k_total);
    const size_t row_stride = (size_t)a->in_w * (size_t)words;
    uint32_t t[BNN_MAX_PLANES + 2];
    uint32_t p[BNN_MAX_PLANES];

    for (int32_t j = 0; j < words; j++) {
        if (a->out_bits) slice_thresholds(a, j, t, planes, k_total);
        const uint32_t *wj = a->weights + j; /* weight word of tap i: wj[i * words] */
        for (int32_t oy = 0; oy < a->out_h; oy++) {
            const int32_t iy0 = oy * a->stride_h - a->pad_top;
            const int y_inside = iy0 >= 0 && iy0 + kh - 1 < a->in_h;
            for (int32_t ox = 0; ox < a->out_w; ox++) {
                const int32_t ix0 = ox * a->stride_w - a->pad_left;
                const int inside = y_inside && ix0 >= 0 && ix0 + kw - 1 < a->in_w;
                const size_t opix = (size_t)oy * (size_t)a->out_w + (size_t)ox;
                for (int32_t b = 0; b < planes; b++) p[b] = 0u;
                size_t wt = 0;
                if (inside) {
                    const uint32_t *base = a->input + (size_t)iy0 * row_stride +
                                           (size_t)ix0 * (size_t)words + (size_t)j;
                    for (int32_t ky = 0; ky < kh; ky++) {
                        const uint32_t *x = base + (size_t)ky * row_stride;
                        for (int32_t kx = 0; kx < kw; kx++, wt += (size_t)words)
                            add_to_planes(p, planes, x[(size_t)kx * (size_t)words] ^ wj[wt]);
                    }
                } else {
                    for (int32_t ky = 0; ky < kh; ky++) {
                        const int32_t iy = iy0 + ky;
                        const int y_ok = iy >= 0 && iy < a->in_h;
                        for (int32_t kx = 0; kx < kw; kx++, wt += (size_t)words) {
                            const int32_t ix = ix0 + kx;
                            uint32_t x = 0u; /* out of bounds: +1 */
                            if (y_ok && ix >= 0 && ix < a->in_w)
                                x = a->input[(size_t)iy * row_stride + (size_t)ix * (size_t)words +
                                             (size_t)j];
                            add_to_planes(p, planes, x ^ wj[wt]);
                        }
                    }
                }
                if (a->out_bits) {
                    uint32_t gt = 0u, eq = 0xFFFFFFFFu;
                    for (int32_t b = planes - 1; b >= 0; b--) {
                        gt |= eq & p[b] & ~t[b];
                        eq &= ~(p[b] ^ t[b]);
                    }
                    a->out_bits[opix * (size_t)words + (size_t)j] = (gt | t[planes]) & ~t[planes + 1];
                } else {
                    int32_t *oi = a->out_int32 + opix * (size_t)a->c + (size_t)j * 32u;
                    const int32_t nch = (j == words - 1) ? a->c - j * 32 : 32;
                    for (int32_t bit = 0; bit < nch; bit++) {
                        uint32_t count = 0u;
                        for (int32_t b = 0; b < planes; b++) count |= ((p[b] >> bit) & 1u) << b;
                        oi[bit] = (int32_t)((uint32_t)k_total - 2u * count);
                    }
                }
            }
        }
    }
}
