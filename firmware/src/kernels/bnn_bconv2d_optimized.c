/* bnn-edge: BCONV2D, optimized.
 *
 * For every output pixel and group, the receptive field (kh*kw taps x words(cin_g) words) is
 * gathered once into a contiguous "patch" on the stack (zeros = +1 for out-of-bounds taps, bounds
 * checks hoisted out entirely for interior pixels, one straight copy per kernel row when the taps
 * of a row are contiguous). The weights of one output channel are contiguous in OHWI order too,
 * so each output channel is a single xor-popcount over kh*kw*words(cin_g) words:
 * bnn_xor_popcount_rows() does 32 output channels per call (Harley-Seal; hand-scheduled Thumb-2
 * assembly on Cortex-M, see bnn_xpc.c), and the 32 counts are thresholded into one output word.
 * The patch copy is amortised over all output channels of the group.
 *
 * No scratch: the patch buffer holds BNN_BCONV2D_STACK_PATCH_WORDS words (default 96: 3x3 up to
 * 320 channels per group; 384 bytes of stack, plus 128 for the counts). A larger receptive field
 * is done in slices of at most that many words (each slice gathered once per 32 output channels,
 * the counts summed over slices). */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

#if defined(__GNUC__) && defined(__thumb2__)
#define BNN_BCONV2D_LDM_COPY 1
#else
#define BNN_BCONV2D_LDM_COPY 0
#endif

/* Patch buffer on the stack, in words (>= 1). */
#ifndef BNN_BCONV2D_STACK_PATCH_WORDS
#define BNN_BCONV2D_STACK_PATCH_WORDS 96
#endif

size_t bnn_bconv2d_get_buffer_size(const bnn_bconv2d_args_t *a) {
    (void)a;
    return 0u;
}

static inline void copy_words(uint32_t *dst, const uint32_t *src, int32_t n) {
#if BNN_BCONV2D_LDM_COPY
    /* 8 words per LDM/STM pair (2 instructions) */
    for (; n >= 8; n -= 8) {
        __asm__ volatile("ldmia %0!, {r2, r3, r4, r5, r6, r7, r8, r9}\n\t"
                         "stmia %1!, {r2, r3, r4, r5, r6, r7, r8, r9}"
                         : "+r"(src), "+r"(dst)
                         :
                         : "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory");
    }
#endif
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        const uint32_t a0 = src[0], a1 = src[1], a2 = src[2], a3 = src[3];
        dst[0] = a0;
        dst[1] = a1;
        dst[2] = a2;
        dst[3] = a3;
    }
    for (; n > 0; n--) *dst++ = *src++;
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
        for (int32_t ky = 0; ky < a->kh; ky++, patch += n) copy_words(patch, base + (size_t)ky * row_step, n);
        return;
    }
    for (int32_t ky = 0; ky < a->kh; ky++) {
        const uint32_t *row = base + (size_t)ky * row_step;
        for (int32_t kx = 0; kx < a->kw; kx++, patch += g_words)
            copy_words(patch, row + (size_t)kx * tap_stride, g_words);
    }
}

static void gather_border(const bnn_bconv2d_args_t *a, uint32_t *patch, int32_t iy0, int32_t ix0,
                          int32_t word0, int32_t g_words, int32_t in_words) {
    for (int32_t ky = 0; ky < a->kh; ky++) {
        const int32_t iy = iy0 + ky * a->dilation_h;
        const int y_ok = iy >= 0 && iy < a->in_h;
        for (int32_t kx = 0; kx < a->kw; kx++, patch += g_words) {
            const int32_t ix = ix0 + kx * a->dilation_w;
            if (y_ok && ix >= 0 && ix < a->in_w) {
                const uint32_t *src = a->input +
                                      ((size_t)iy * (size_t)a->in_w + (size_t)ix) * (size_t)in_words +
                                      (size_t)word0;
                copy_words(patch, src, g_words);
            } else {
                for (int32_t k = 0; k < g_words; k++) patch[k] = 0u;
            }
        }
    }
}

/* Words [j0, j0 + len) of the receptive field (taps in ky, kx order, g_words words each). */
static void gather_slice(const bnn_bconv2d_args_t *a, uint32_t *patch, int32_t iy0, int32_t ix0,
                         int32_t word0, int32_t g_words, int32_t in_words, int32_t j0, int32_t len) {
    int32_t tap = j0 / g_words, k = j0 % g_words;
    while (len > 0) {
        const int32_t ky = tap / a->kw, kx = tap % a->kw;
        const int32_t iy = iy0 + ky * a->dilation_h, ix = ix0 + kx * a->dilation_w;
        int32_t m = g_words - k;
        if (m > len) m = len;
        if (iy >= 0 && iy < a->in_h && ix >= 0 && ix < a->in_w)
            copy_words(patch, a->input + ((size_t)iy * (size_t)a->in_w + (size_t)ix) * (size_t)in_words +
                                  (size_t)(word0 + k), m);
        else
            for (int32_t i = 0; i < m; i++) patch[i] = 0u;
        patch += m;
        len -= m;
        tap++;
        k = 0;
    }
}

/* Output bits o0 .. o0+n-1 (n <= 32) from their counts: accum > threshold. Channels arrive in
 * increasing order within a pixel, so a word is cleared at its first channel and OR-ed after. */
static inline void put_bits(uint32_t *ob, int32_t o0, int32_t n, const uint32_t *cnt, const int32_t *th) {
    for (int32_t j = 0; j < n; j++) {
        const int32_t o = o0 + j;
        if ((o & 31) == 0) ob[o >> 5] = 0u;
        ob[o >> 5] |= (uint32_t)((int32_t)cnt[j] > th[j]) << (o & 31);
    }
}

void bnn_bconv2d_optimized(const bnn_bconv2d_args_t *a, void *scratch) {
    (void)scratch;
    uint32_t patch[BNN_BCONV2D_STACK_PATCH_WORDS];
    uint32_t cnt[32], part;
    const int32_t groups = a->groups;
    const int32_t cin_g = a->in_c / groups;
    const int32_t cout_g = a->out_c / groups;
    const int32_t in_words = bnn_words(a->in_c);
    const int32_t g_words = bnn_words(cin_g);
    const int32_t out_words = bnn_words(a->out_c);
    const int32_t patch_words = a->kh * a->kw * g_words;
    const int fits = patch_words <= BNN_BCONV2D_STACK_PATCH_WORDS;
    const size_t w_per_group = (size_t)cout_g * (size_t)patch_words;
    const uint32_t k_total = (uint32_t)a->kh * (uint32_t)a->kw * (uint32_t)cin_g;
    const int32_t span_h = (a->kh - 1) * a->dilation_h;
    const int32_t span_w = (a->kw - 1) * a->dilation_w;
    bnn_xpc_t xpc;
    bnn_xpc_init(&xpc, fits ? patch_words : 0);

    for (int32_t oy = 0; oy < a->out_h; oy++) {
        const int32_t iy0 = oy * a->stride_h - a->pad_top;
        const int y_inside = iy0 >= 0 && iy0 + span_h < a->in_h;
        for (int32_t ox = 0; ox < a->out_w; ox++) {
            const int32_t ix0 = ox * a->stride_w - a->pad_left;
            const int inside = y_inside && ix0 >= 0 && ix0 + span_w < a->in_w;
            const size_t opix = (size_t)oy * (size_t)a->out_w + (size_t)ox;
            uint32_t *ob = a->out_bits ? a->out_bits + opix * (size_t)out_words : 0;
            int32_t *oi = a->out_int32 ? a->out_int32 + opix * (size_t)a->out_c : 0;
            for (int32_t g = 0; g < groups; g++) {
                const int32_t word0 = g * g_words;
                if (fits) {
                    if (inside)
                        gather_interior(a, patch, iy0, ix0, word0, g_words, in_words);
                    else
                        gather_border(a, patch, iy0, ix0, word0, g_words, in_words);
                }
                for (int32_t n0 = 0; n0 < cout_g; n0 += 32) {
                    const int32_t nr = cout_g - n0 < 32 ? cout_g - n0 : 32;
                    const int32_t o0 = g * cout_g + n0;
                    const uint32_t *wrow = a->weights + (size_t)g * w_per_group + (size_t)n0 * (size_t)patch_words;
                    if (fits && ob && (o0 & 31) == 0) {
                        ob[o0 >> 5] = bnn_xpc_bits(&xpc, patch, wrow, nr, a->thresholds + o0);
                        continue;
                    }
                    if (fits) {
                        bnn_xpc_counts(&xpc, patch, wrow, nr, cnt);
                    } else {
                        for (int32_t j = 0; j < nr; j++) cnt[j] = 0u;
                        for (int32_t j0 = 0; j0 < patch_words; j0 += BNN_BCONV2D_STACK_PATCH_WORDS) {
                            const int32_t len = patch_words - j0 < BNN_BCONV2D_STACK_PATCH_WORDS
                                                    ? patch_words - j0
                                                    : BNN_BCONV2D_STACK_PATCH_WORDS;
                            bnn_xpc_t slice;
                            bnn_xpc_init(&slice, len);
                            gather_slice(a, patch, iy0, ix0, word0, g_words, in_words, j0, len);
                            for (int32_t j = 0; j < nr; j++) {
                                bnn_xpc_counts(&slice, patch, wrow + (size_t)j * (size_t)patch_words + (size_t)j0, 1, &part);
                                cnt[j] += part;
                            }
                        }
                    }
                    if (ob)
                        put_bits(ob, o0, nr, cnt, a->thresholds + o0);
                    else
                        for (int32_t j = 0; j < nr; j++) oi[o0 + j] = (int32_t)(k_total - 2u * cnt[j]); /* |y| <= K < 2^31 */
                }
            }
        }
    }
}
