/* BDEPTHWISE2D: optimized (bit-sliced counters) == reference on random shapes/params/data,
 * reference against direct +-1 semantics, extreme thresholds, no overruns. */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_RANDOM 1000
#else
#define N_RANDOM 2000
#endif
#define MAX_IN 8192
#define MAX_W 8192
#define MAX_OUT 32768
#define MAX_SCRATCH 4096
#define CANARY 16

static uint32_t in_buf[MAX_IN];
static uint32_t w_buf[MAX_W];
static int32_t th_buf[2048];
static uint32_t out_ref[MAX_OUT + CANARY];
static uint32_t out_opt[MAX_OUT + CANARY];
static uint32_t scratch[MAX_SCRATCH + CANARY];

static const int32_t chans[] = {1, 16, 31, 32, 33, 40, 64, 100, 255, 256};

typedef struct {
    int32_t h, w, c, kh, kw, sh, sw, pad, int_out, density, th_mode;
} dw_case_t;

static int bit_of(const uint32_t *v, int32_t k) { return (int)((v[k >> 5] >> (k & 31)) & 1u); }

static int run(bnn_rng_t *r, const dw_case_t *c) {
    int32_t oh, ow, pt, pl;
    if (bnn_conv_geometry(c->h, c->kh, c->sh, 1, c->pad, &oh, &pt) != BNN_OK) return 0;
    if (bnn_conv_geometry(c->w, c->kw, c->sw, 1, c->pad, &ow, &pl) != BNN_OK) return 0;
    const int32_t words = bnn_words(c->c);
    const size_t n_in = (size_t)c->h * c->w * words, n_w = (size_t)c->kh * c->kw * words;
    const size_t n_out = (size_t)oh * ow * (c->int_out ? (size_t)c->c : (size_t)words);
    if (n_in > MAX_IN || n_w > MAX_W || n_out > MAX_OUT || c->c > 2048) return 0;
    bnn_test_fill_bits(r, in_buf, (size_t)c->h * c->w, c->c, c->density);
    /* weights: tail bits random too (they only affect channels that do not exist) */
    for (size_t i = 0; i < n_w; i++) w_buf[i] = bnn_rng_u32(r);
    const int32_t k_total = c->kh * c->kw;
    for (int32_t ch = 0; ch < c->c; ch++) {
        uint32_t pick = bnn_rng_u32(r) % 12u;
        if (c->th_mode == 1) pick = ch % 2 ? 0 : 1;
        th_buf[ch] = pick == 0 ? INT32_MIN : pick == 1 ? INT32_MAX : pick == 2 ? k_total : pick == 3 ? -1
                                                                                              : bnn_rng_range(r, 0, k_total - 1);
    }
    bnn_bdepthwise2d_args_t a;
    memset(&a, 0, sizeof(a));
    a.input = in_buf;
    a.in_h = c->h;
    a.in_w = c->w;
    a.c = c->c;
    a.weights = w_buf;
    a.thresholds = c->int_out ? NULL : th_buf;
    a.out_h = oh;
    a.out_w = ow;
    a.kh = c->kh;
    a.kw = c->kw;
    a.stride_h = c->sh;
    a.stride_w = c->sw;
    a.pad_top = pt;
    a.pad_left = pl;
    a.out_bits = c->int_out ? NULL : out_opt; /* decides the scratch size */
    const size_t sbytes = bnn_bdepthwise2d_get_buffer_size(&a);
    CHECK(sbytes <= MAX_SCRATCH * 4u, "scratch %u", (unsigned)sbytes);
    if (sbytes > MAX_SCRATCH * 4u) return 1;
    bnn_test_canary_fill(scratch + sbytes / 4u, CANARY);
    memset(out_ref, 0x5A, sizeof(out_ref));
    bnn_test_canary_fill(out_opt, MAX_OUT + CANARY);
    bnn_test_canary_fill(out_opt + n_out, CANARY);

    a.out_bits = c->int_out ? NULL : out_ref;
    a.out_int32 = c->int_out ? (int32_t *)out_ref : NULL;
    bnn_bdepthwise2d_reference(&a);
    a.out_bits = c->int_out ? NULL : out_opt;
    a.out_int32 = c->int_out ? (int32_t *)out_opt : NULL;
    bnn_bdepthwise2d_optimized(&a, sbytes ? scratch : NULL);

    CHECK(memcmp(out_ref, out_opt, n_out * 4u) == 0, "ref != opt: h=%d w=%d c=%d k=%dx%d s=%dx%d pad=%d int=%d",
          (int)c->h, (int)c->w, (int)c->c, (int)c->kh, (int)c->kw, (int)c->sh, (int)c->sw, (int)c->pad, (int)c->int_out);
    CHECK(bnn_test_canary_ok(out_opt + n_out, CANARY), "output overrun");
    CHECK(bnn_test_canary_ok(scratch + sbytes / 4u, CANARY), "scratch overrun");
    if (c->int_out) { /* direct +-1 semantics */
        int ok = 1;
        for (int32_t oy = 0; oy < oh && ok; oy++)
            for (int32_t ox = 0; ox < ow && ok; ox++)
                for (int32_t ch = 0; ch < c->c && ok; ch++) {
                    int32_t y = 0;
                    for (int32_t ky = 0; ky < c->kh; ky++)
                        for (int32_t kx = 0; kx < c->kw; kx++) {
                            int32_t iy = oy * c->sh - pt + ky, ix = ox * c->sw - pl + kx;
                            int xv = 1;
                            if (iy >= 0 && iy < c->h && ix >= 0 && ix < c->w &&
                                bit_of(in_buf + ((size_t)iy * c->w + ix) * words, ch))
                                xv = -1;
                            int wv = bit_of(w_buf + ((size_t)ky * c->kw + kx) * words, ch) ? -1 : 1;
                            y += xv * wv;
                        }
                    ok = ((int32_t *)out_ref)[((size_t)oy * ow + ox) * c->c + ch] == y;
                }
        CHECK(ok, "reference != +-1 semantics");
    } else {
        const uint32_t tail = (c->c % 32) ? ((1u << (c->c % 32)) - 1u) : 0xFFFFFFFFu;
        int ok = 1;
        for (int32_t p = 0; p < oh * ow; p++) ok &= (out_opt[(size_t)p * words + words - 1] & ~tail) == 0u;
        CHECK(ok, "output tail bits set");
    }
    return 1;
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0xD3E9u);
    int ran = 0, skipped = 0;
    for (size_t ci = 0; ci < sizeof(chans) / sizeof(chans[0]); ci++)
        for (int32_t pad = 0; pad < 2; pad++)
            for (int32_t io = 0; io < 2; io++)
                for (int32_t thm = 0; thm < 2; thm++) {
                    dw_case_t c = {6, 7, chans[ci], 3, 3, 1 + pad, 1, pad, io, 128, thm};
                    if (run(&r, &c)) ran++;
                    else skipped++;
                }
    for (int i = 0; i < N_RANDOM; i++) {
        dw_case_t c;
        c.c = (i % 2) ? bnn_rng_range(&r, 1, 300) : chans[(size_t)i / 2 % (sizeof(chans) / sizeof(chans[0]))];
        c.kh = bnn_rng_range(&r, 1, (i % 50 == 0) ? 9 : 5);
        c.kw = bnn_rng_range(&r, 1, (i % 50 == 0) ? 9 : 5);
        c.sh = bnn_rng_range(&r, 1, 3);
        c.sw = bnn_rng_range(&r, 1, 3);
        c.pad = (int32_t)(bnn_rng_u32(&r) & 1u);
        c.h = c.pad ? bnn_rng_range(&r, c.kh, c.kh + 6) : bnn_rng_range(&r, 1, 9);
        c.w = c.pad ? bnn_rng_range(&r, c.kw, c.kw + 6) : bnn_rng_range(&r, 1, 9);
        c.int_out = (int32_t)(bnn_rng_u32(&r) % 3u == 0u);
        static const int32_t dens[] = {128, 128, 0, 256, 30};
        c.density = dens[bnn_rng_u32(&r) % 5u];
        c.th_mode = 0;
        if (run(&r, &c)) ran++;
        else skipped++;
    }
    CHECK(skipped < ran / 4, "too many skipped (%d)", (int)skipped);
    printf("bdepthwise2d: %d cases run, %d skipped\n", (int)ran, (int)skipped);
    return bnn_test_summary();
}
