/* THERMO_ENCODE: optimized (LUT + bit ranges) == reference on random shapes and level counts
 * (tails, L up to 300, repeated/extreme thresholds); reference against the definition. */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_RANDOM 1000
#else
#define N_RANDOM 2000
#endif
#define MAX_IN 4096
#define MAX_OUT 16384
#define CANARY 16

static uint8_t in_buf[MAX_IN];
static int32_t th[512];
static uint32_t out_ref[MAX_OUT + CANARY], out_opt[MAX_OUT + CANARY];
static uint32_t scratch[256 + CANARY];

static void sort_i32(int32_t *v, int32_t n) {
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int32_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static void run(bnn_rng_t *r, int32_t h, int32_t w, int32_t c, int32_t levels, int mode) {
    const size_t pixels = (size_t)h * w;
    const size_t n_out = pixels * (size_t)bnn_words(c * levels);
    if (pixels * (size_t)c > MAX_IN || n_out > MAX_OUT || levels > 512) return;
    for (size_t i = 0; i < pixels * (size_t)c; i++) in_buf[i] = (uint8_t)bnn_rng_u32(r);
    for (int32_t l = 0; l < levels; l++) {
        if (mode == 0) th[l] = bnn_rng_range(r, 0, 255);
        else if (mode == 1) th[l] = (int32_t)(((l + 1) * 256) / (levels + 1)); /* uniform */
        else th[l] = (int32_t)(bnn_rng_u32(r) % 3u) * 127 + (int32_t)(bnn_rng_u32(r) % 2u); /* 0,1,127,128,254,255 */
    }
    sort_i32(th, levels);
    bnn_thermo_encode_args_t a = {in_buf, h, w, c, th, levels, out_ref};
    const size_t sbytes = bnn_thermo_encode_get_buffer_size(&a);
    CHECK(sbytes <= 256u * 4u, "scratch %u", (unsigned)sbytes);
    bnn_test_canary_fill(scratch + sbytes / 4u, CANARY);
    memset(out_ref, 0x5A, sizeof(out_ref));
    bnn_test_canary_fill(out_opt + n_out, CANARY);
    bnn_thermo_encode_reference(&a);
    a.output = out_opt;
    bnn_thermo_encode_optimized(&a, scratch);
    CHECK(memcmp(out_ref, out_opt, n_out * 4u) == 0, "ref != opt h=%d w=%d c=%d L=%d mode=%d", (int)h, (int)w, (int)c,
          (int)levels, (int)mode);
    CHECK(bnn_test_canary_ok(out_opt + n_out, CANARY), "output overrun");
    CHECK(bnn_test_canary_ok(scratch + sbytes / 4u, CANARY), "scratch overrun");
    const int32_t wo = bnn_words(c * levels);
    int ok = 1;
    for (size_t p = 0; p < pixels && ok; p++)
        for (int32_t k = 0; k < 32 * wo; k++) {
            uint32_t want = 0;
            if (k < c * levels) want = in_buf[p * (size_t)c + (size_t)(k / levels)] < th[k % levels];
            if (((out_ref[p * wo + (k >> 5)] >> (k & 31)) & 1u) != want) ok = 0;
        }
    CHECK(ok, "reference != thermometer definition");
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0x7E40u);
    static const int32_t levels[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 85, 100, 255, 256, 300};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        for (int mode = 0; mode < 3; mode++)
            for (int32_t c = 1; c <= 3; c++) run(&r, 3, 4, c, levels[i], mode);
    /* pixel value extremes against threshold extremes */
    for (int32_t l = 0; l < 4; l++) th[l] = l == 0 ? 0 : l == 1 ? 1 : l == 2 ? 255 : 255;
    memset(in_buf, 0, 4);
    in_buf[1] = 1;
    in_buf[2] = 254;
    in_buf[3] = 255;
    {
        bnn_thermo_encode_args_t a = {in_buf, 1, 1, 4, th, 4, out_ref}; /* one pixel, 4 channels */
        bnn_thermo_encode_optimized(&a, scratch);
        /* x=0: (0<0,0<1,0<255,0<255) = 0b1110; x=1: 0b1100; x=254: 0b1100; x=255: 0 */
        CHECK(out_ref[0] == 0xCCEu, "extremes 0x%x", (unsigned)out_ref[0]);
    }
    for (int i = 0; i < N_RANDOM; i++)
        run(&r, bnn_rng_range(&r, 1, 8), bnn_rng_range(&r, 1, 8), bnn_rng_range(&r, 1, 4),
            bnn_rng_range(&r, 1, (i % 10 == 0) ? 300 : 40), (int)(bnn_rng_u32(&r) % 3u));
    return bnn_test_summary();
}
