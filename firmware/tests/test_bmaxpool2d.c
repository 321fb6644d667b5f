/* BMAXPOOL2D: optimized == reference on random shapes (VALID, strides, tail channels); the
 * reference against the +-1 max; no overruns. */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_RANDOM 1000
#else
#define N_RANDOM 2000
#endif
#if BNN_TEST_SMALL_RAM /* larger random shapes are skipped */
#define MAX_IN 1024
#define MAX_OUT 512
#else
#define MAX_IN 16384
#define MAX_OUT 16384
#endif
#define CANARY 16

static uint32_t in_buf[MAX_IN];
static uint32_t out_ref[MAX_OUT + CANARY];
static uint32_t out_opt[MAX_OUT + CANARY];

static const int32_t chans[] = {1, 16, 31, 32, 33, 40, 64, 100, 255, 256};

static int run(bnn_rng_t *r, int32_t h, int32_t w, int32_t c, int32_t kh, int32_t kw, int32_t sh,
               int32_t sw, int32_t density) {
    int32_t oh, ow;
    if (bnn_conv_geometry(h, kh, sh, 1, 1, &oh, NULL) != BNN_OK) return 0;
    if (bnn_conv_geometry(w, kw, sw, 1, 1, &ow, NULL) != BNN_OK) return 0;
    const int32_t words = bnn_words(c);
    const size_t n_in = (size_t)h * w * words, n_out = (size_t)oh * ow * words;
    if (n_in > MAX_IN || n_out > MAX_OUT) return 0;
    bnn_test_fill_bits(r, in_buf, (size_t)h * w, c, density);
    bnn_bmaxpool2d_args_t a = {in_buf, h, w, c, out_ref, oh, ow, kh, kw, sh, sw};
    memset(out_ref, 0x5A, sizeof(out_ref));
    bnn_test_canary_fill(out_opt + n_out, CANARY);
    bnn_bmaxpool2d_reference(&a);
    a.output = out_opt;
    CHECK(bnn_bmaxpool2d_get_buffer_size(&a) == 0u, "no scratch");
    bnn_bmaxpool2d_optimized(&a, NULL);
    CHECK(memcmp(out_ref, out_opt, n_out * 4u) == 0, "ref != opt h=%d w=%d c=%d k=%dx%d s=%dx%d", (int)h, (int)w, (int)c,
          (int)kh, (int)kw, (int)sh, (int)sw);
    CHECK(bnn_test_canary_ok(out_opt + n_out, CANARY), "overrun");
    /* semantics: max over +-1 values */
    int ok = 1;
    for (int32_t oy = 0; oy < oh && ok; oy++)
        for (int32_t ox = 0; ox < ow && ok; ox++)
            for (int32_t ch = 0; ch < c && ok; ch++) {
                int m = -1;
                for (int32_t ky = 0; ky < kh; ky++)
                    for (int32_t kx = 0; kx < kw; kx++) {
                        const uint32_t *x = in_buf + ((size_t)(oy * sh + ky) * w + (ox * sw + kx)) * words;
                        int v = ((x[ch >> 5] >> (ch & 31)) & 1u) ? -1 : 1;
                        if (v > m) m = v;
                    }
                int bit = (int)((out_ref[((size_t)oy * ow + ox) * words + (ch >> 5)] >> (ch & 31)) & 1u);
                ok = bit == (m < 0);
            }
    CHECK(ok, "reference != max semantics");
    return 1;
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0x9001u);
    int ran = 0;
    for (size_t i = 0; i < sizeof(chans) / sizeof(chans[0]); i++) {
        ran += run(&r, 6, 6, chans[i], 2, 2, 2, 2, 230);
        ran += run(&r, 5, 7, chans[i], 2, 2, 1, 1, 250); /* the 2x2 path, overlapping windows */
        ran += run(&r, 7, 6, chans[i], 3, 3, 2, 2, 240);
        ran += run(&r, 5, 7, chans[i], 3, 2, 1, 2, 128);
        ran += run(&r, 1, 1, chans[i], 1, 1, 1, 1, 128);
    }
    for (int i = 0; i < N_RANDOM; i++) {
        int32_t kh = bnn_rng_range(&r, 1, 4), kw = bnn_rng_range(&r, 1, 4);
        int32_t c = (i % 2) ? chans[bnn_rng_u32(&r) % 10u] : bnn_rng_range(&r, 1, 300);
        static const int32_t dens[] = {128, 200, 240, 250, 256, 0};
        ran += run(&r, bnn_rng_range(&r, kh, kh + 8), bnn_rng_range(&r, kw, kw + 8), c, kh, kw,
                   bnn_rng_range(&r, 1, 3), bnn_rng_range(&r, 1, 3), dens[bnn_rng_u32(&r) % 6u]);
    }
    printf("bmaxpool2d: %d cases\n", (int)ran);
    return bnn_test_summary();
}
