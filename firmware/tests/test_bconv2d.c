/* BCONV2D: optimized == reference on random shapes/params/data (tail bits, strides, dilation,
 * groups, SAME/VALID, bits/int32 output, extreme thresholds), the reference against a
 * direct +-1 evaluation of the FORMAT.md semantics, and no writes past outputs or scratch. */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_RANDOM 1000
#else
#define N_RANDOM 2000
#endif
#if BNN_TEST_SMALL_RAM /* a random case too large for these is drawn again (up to 50 times) */
#define MAX_IN 256
#define MAX_W 640
#define MAX_OUT 256
#define MAX_SCRATCH 256
#define MAX_COUT 64
#define REDRAWS 50
#else
#define MAX_IN 4096
#define MAX_W 40000
#define MAX_OUT 16384
#define MAX_SCRATCH 2048
#define MAX_COUT 1024
#define REDRAWS 0
#endif
#define CANARY 16
#define MAX_COST 600000 /* out pixels * cout * taps * words per case */

static uint32_t in_buf[MAX_IN];
static uint32_t w_buf[MAX_W];
static int32_t th_buf[MAX_COUT];
static uint32_t out_ref[MAX_OUT + CANARY];
static uint32_t out_opt[MAX_OUT + CANARY];
static uint32_t scratch[MAX_SCRATCH + CANARY];

static const int32_t tail_cins[] = {1, 16, 31, 32, 33, 40, 63, 64, 65, 100, 255, 256};

typedef struct {
    int32_t h, w, cin, cout, kh, kw, sh, sw, dh, dw, pad, groups, int_out, density, wdensity;
} conv_case_t;

static int bit_of(const uint32_t *v, int32_t k) { return (int)((v[k >> 5] >> (k & 31)) & 1u); }

/* +-1 arithmetic straight from FORMAT.md (no popcount): y = sum x*w, OOB x = +1. */
static int32_t spec_y(const bnn_bconv2d_args_t *a, int32_t oy, int32_t ox, int32_t o) {
    const int32_t cin_g = a->in_c / a->groups, cout_g = a->out_c / a->groups, g = o / cout_g;
    const int32_t wi = bnn_words(a->in_c), wg = bnn_words(cin_g);
    int32_t y = 0;
    for (int32_t ky = 0; ky < a->kh; ky++)
        for (int32_t kx = 0; kx < a->kw; kx++) {
            int32_t iy = oy * a->stride_h - a->pad_top + ky * a->dilation_h;
            int32_t ix = ox * a->stride_w - a->pad_left + kx * a->dilation_w;
            int inside = iy >= 0 && iy < a->in_h && ix >= 0 && ix < a->in_w;
            const uint32_t *wv = a->weights + (((size_t)o * a->kh + ky) * a->kw + kx) * wg;
            for (int32_t k = 0; k < cin_g; k++) {
                int xv = 1;
                if (inside && bit_of(a->input + ((size_t)iy * a->in_w + ix) * wi, g * cin_g + k)) xv = -1;
                int wvv = bit_of(wv, k) ? -1 : 1;
                y += xv * wvv;
            }
        }
    return y;
}

static int run(bnn_rng_t *r, const conv_case_t *c, int check_spec) {
    bnn_bconv2d_args_t a;
    memset(&a, 0, sizeof(a));
    int32_t oh, ow, pt, pl;
    if (bnn_conv_geometry(c->h, c->kh, c->sh, c->dh, c->pad, &oh, &pt) != BNN_OK) return 0;
    if (bnn_conv_geometry(c->w, c->kw, c->sw, c->dw, c->pad, &ow, &pl) != BNN_OK) return 0;
    const int32_t cin_g = c->cin / c->groups;
    const int32_t wi = bnn_words(c->cin), wg = bnn_words(cin_g), wo = bnn_words(c->cout);
    const size_t n_in = (size_t)c->h * c->w * wi;
    const size_t n_w = (size_t)c->cout * c->kh * c->kw * wg;
    const size_t n_out = (size_t)oh * ow * (c->int_out ? (size_t)c->cout : (size_t)wo);
    const size_t cost = (size_t)oh * ow * c->cout * c->kh * c->kw * wg;
    if (n_in > MAX_IN || n_w > MAX_W || n_out > MAX_OUT || c->cout > MAX_COUT || cost > MAX_COST) return 0;

    bnn_test_fill_bits(r, in_buf, (size_t)c->h * c->w, c->cin, c->density);
    bnn_test_fill_bits(r, w_buf, (size_t)c->cout * c->kh * c->kw, cin_g, c->wdensity);
    const int32_t k_total = c->kh * c->kw * cin_g;
    for (int32_t o = 0; o < c->cout; o++) {
        uint32_t pick = bnn_rng_u32(r) % 16u;
        th_buf[o] = pick == 0 ? INT32_MIN : pick == 1 ? INT32_MAX : pick == 2 ? -1 : pick == 3 ? k_total
                                                                                               : bnn_rng_range(r, -2, k_total + 1);
    }
    a.input = in_buf;
    a.in_h = c->h;
    a.in_w = c->w;
    a.in_c = c->cin;
    a.weights = w_buf;
    a.out_h = oh;
    a.out_w = ow;
    a.out_c = c->cout;
    a.kh = c->kh;
    a.kw = c->kw;
    a.stride_h = c->sh;
    a.stride_w = c->sw;
    a.dilation_h = c->dh;
    a.dilation_w = c->dw;
    a.pad_top = pt;
    a.pad_left = pl;
    a.groups = c->groups;
    a.thresholds = c->int_out ? NULL : th_buf;

    memset(out_ref, 0x5A, sizeof(out_ref));
    bnn_test_canary_fill(out_opt, MAX_OUT + CANARY);
    bnn_test_canary_fill(out_opt + n_out, CANARY);
    const size_t sbytes = bnn_bconv2d_get_buffer_size(&a);
    CHECK(sbytes <= MAX_SCRATCH * 4u, "scratch %u", (unsigned)sbytes);
    if (sbytes > MAX_SCRATCH * 4u) return 1;
    bnn_test_canary_fill(scratch + sbytes / 4u, CANARY);

    a.out_bits = c->int_out ? NULL : out_ref;
    a.out_int32 = c->int_out ? (int32_t *)out_ref : NULL;
    bnn_bconv2d_reference(&a);
    a.out_bits = c->int_out ? NULL : out_opt;
    a.out_int32 = c->int_out ? (int32_t *)out_opt : NULL;
    bnn_bconv2d_optimized(&a, scratch);

    CHECK(memcmp(out_ref, out_opt, n_out * 4u) == 0,
          "ref != opt: h=%d w=%d cin=%d cout=%d k=%dx%d s=%dx%d d=%dx%d pad=%d g=%d int=%d", (int)c->h, (int)c->w,
          (int)c->cin, (int)c->cout, (int)c->kh, (int)c->kw, (int)c->sh, (int)c->sw, (int)c->dh, (int)c->dw, (int)c->pad, (int)c->groups, (int)c->int_out);
    CHECK(bnn_test_canary_ok(out_opt + n_out, CANARY), "output overrun");
    CHECK(bnn_test_canary_ok(scratch + sbytes / 4u, CANARY), "scratch overrun");
    if (!c->int_out) { /* tail bits of the output are 0 */
        const uint32_t tail = (c->cout % 32) ? ((1u << (c->cout % 32)) - 1u) : 0xFFFFFFFFu;
        int ok = 1;
        for (int32_t p = 0; p < oh * ow; p++) ok &= (out_opt[(size_t)p * wo + wo - 1] & ~tail) == 0u;
        CHECK(ok, "output tail bits set");
    }
    if (check_spec && c->int_out) {
        int ok = 1;
        for (int32_t oy = 0; oy < oh && ok; oy++)
            for (int32_t ox = 0; ox < ow && ok; ox++)
                for (int32_t o = 0; o < c->cout && ok; o++)
                    ok = ((int32_t *)out_ref)[((size_t)oy * ow + ox) * c->cout + o] == spec_y(&a, oy, ox, o);
        CHECK(ok, "reference != +-1 semantics (cin=%d g=%d pad=%d)", (int)c->cin, (int)c->groups, (int)c->pad);
    }
    return 1;
}

static void random_case(bnn_rng_t *r, conv_case_t *c, int i) {
    c->groups = (bnn_rng_u32(r) % 4u == 0u) ? bnn_rng_range(r, 2, 4) : 1;
    if (c->groups > 1)
        c->cin = c->groups * 32 * bnn_rng_range(r, 1, 2);
    else if (i % 2 == 0)
        c->cin = tail_cins[(size_t)i / 2 % (sizeof(tail_cins) / sizeof(tail_cins[0]))];
    else
        c->cin = bnn_rng_range(r, 1, 300);
    c->cout = c->groups * bnn_rng_range(r, 1, 40 / c->groups + 1);
    c->kh = bnn_rng_range(r, 1, 5);
    c->kw = bnn_rng_range(r, 1, 5);
    c->sh = bnn_rng_range(r, 1, 3);
    c->sw = bnn_rng_range(r, 1, 3);
    c->dh = bnn_rng_u32(r) % 3u == 0u ? bnn_rng_range(r, 2, 3) : 1;
    c->dw = bnn_rng_u32(r) % 3u == 0u ? bnn_rng_range(r, 2, 3) : 1;
    c->pad = (int32_t)(bnn_rng_u32(r) & 1u);
    const int32_t span_h = (c->kh - 1) * c->dh + 1, span_w = (c->kw - 1) * c->dw + 1;
    c->h = c->pad ? bnn_rng_range(r, span_h, span_h + 6) : bnn_rng_range(r, 1, 9);
    c->w = c->pad ? bnn_rng_range(r, span_w, span_w + 6) : bnn_rng_range(r, 1, 9);
    c->int_out = (int32_t)(bnn_rng_u32(r) % 3u == 0u);
    static const int32_t dens[] = {128, 128, 128, 0, 256, 20, 230};
    c->density = dens[bnn_rng_u32(r) % 7u];
    c->wdensity = dens[bnn_rng_u32(r) % 7u];
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0xB0C0u);
    /* hand-checked: all +1 input and weights, 3x3 SAME on 2x2, 16 channels: every tap agrees */
    {
        conv_case_t c = {2, 2, 16, 4, 3, 3, 1, 1, 1, 1, 0, 1, 1, 0, 0};
        run(&r, &c, 1);
        CHECK(((int32_t *)out_ref)[0] == 9 * 16, "all +1 gives K (%d)", (int)(((int32_t *)out_ref)[0]));
        /* all -1 input, +1 weights: in-bounds taps disagree, padded (+1) taps agree.
         * Output (0,0) of a 3x3 SAME conv on 2x2 sees 4 in-bounds taps: y = (5 - 4) * 16. */
        c.density = 256;
        run(&r, &c, 1);
        CHECK(((int32_t *)out_ref)[0] == 16, "padding reads +1 (%d)", (int)(((int32_t *)out_ref)[0]));
    }
    /* fixed coverage: tail channels x padding x output mode x stride/dilation */
    static const int32_t fixed_cin[] = {16, 40, 255};
    int ran = 0, skipped = 0;
    for (size_t ci = 0; ci < 3; ci++)
        for (int32_t pad = 0; pad < 2; pad++)
            for (int32_t io = 0; io < 2; io++)
                for (int32_t sd = 0; sd < 3; sd++) {
                    conv_case_t c = {7, 6, fixed_cin[ci], 37, 3, 3, sd == 1 ? 2 : 1, sd == 1 ? 2 : 1,
                                     sd == 2 ? 2 : 1, sd == 2 ? 2 : 1, pad, 1, io, 128, 128};
                    if (run(&r, &c, 1)) ran++;
                    else skipped++;
                }
    /* grouped, fixed */
    for (int32_t g = 2; g <= 4; g++)
        for (int32_t pad = 0; pad < 2; pad++) {
            conv_case_t c = {6, 5, 64 * g, 8 * g, 3, 3, 1, 1, 1, 1, pad, g, pad, 128, 128};
            if (run(&r, &c, 1)) ran++;
            else skipped++;
        }
    for (int i = 0; i < N_RANDOM; i++) {
        conv_case_t c;
        random_case(&r, &c, i);
        int fits = run(&r, &c, i % 8 == 0);
        for (int t = 0; t < REDRAWS && !fits; t++) {
            random_case(&r, &c, i);
            fits = run(&r, &c, i % 8 == 0);
        }
        if (fits) ran++;
        else skipped++;
    }
    CHECK(skipped < ran / 4, "too many skipped random cases (%d of %d)", (int)skipped, (int)(ran + skipped));
    printf("bconv2d: %d cases run, %d skipped (too large)\n", (int)ran, (int)skipped);
    return bnn_test_summary();
}
