/* CONCAT: optimized (funnel shifts) == reference (bit copies) for all channel splits around
 * word boundaries, in0 == in1, random sizes; no overruns, zero tail bits. */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_RANDOM 1000
#else
#define N_RANDOM 2000
#endif
#define MAX_BUF 8192
#define CANARY 16

static uint32_t in0[MAX_BUF], in1[MAX_BUF];
static uint32_t out_ref[MAX_BUF + CANARY], out_opt[MAX_BUF + CANARY];

static void run(bnn_rng_t *r, int32_t h, int32_t w, int32_t ca, int32_t cb, int same) {
    if (same) cb = ca;
    const size_t pixels = (size_t)h * w;
    const size_t n_out = pixels * (size_t)bnn_words(ca + cb);
    if (pixels * (size_t)bnn_words(ca) > MAX_BUF || pixels * (size_t)bnn_words(cb) > MAX_BUF ||
        n_out > MAX_BUF)
        return;
    bnn_test_fill_bits(r, in0, pixels, ca, 128);
    bnn_test_fill_bits(r, in1, pixels, cb, 128);
    bnn_concat_args_t a = {in0, same ? in0 : in1, h, w, ca, cb, out_ref};
    memset(out_ref, 0x5A, sizeof(out_ref));
    bnn_test_canary_fill(out_opt + n_out, CANARY);
    memset(out_opt, 0xFF, n_out * 4u); /* optimized must not depend on a cleared output */
    bnn_concat_reference(&a);
    a.output = out_opt;
    CHECK(bnn_concat_get_buffer_size(&a) == 0u, "no scratch");
    bnn_concat_optimized(&a, NULL);
    CHECK(memcmp(out_ref, out_opt, n_out * 4u) == 0, "ref != opt h=%d w=%d ca=%d cb=%d same=%d", (int)h, (int)w,
          (int)ca, (int)cb, (int)same);
    CHECK(bnn_test_canary_ok(out_opt + n_out, CANARY), "overrun");
    /* semantics: channel k of out is channel k of in0 (k < ca) else channel k-ca of in1 */
    const int32_t wa = bnn_words(ca), wb = bnn_words(cb), wo = bnn_words(ca + cb);
    const uint32_t *src1 = same ? in0 : in1;
    int ok = 1;
    for (size_t p = 0; p < pixels && ok; p++) {
        for (int32_t k = 0; k < 32 * wo; k++) {
            uint32_t want = 0;
            if (k < ca) want = (in0[p * wa + (k >> 5)] >> (k & 31)) & 1u;
            else if (k < ca + cb) want = (src1[p * wb + ((k - ca) >> 5)] >> ((k - ca) & 31)) & 1u;
            if (((out_ref[p * wo + (k >> 5)] >> (k & 31)) & 1u) != want) ok = 0;
        }
    }
    CHECK(ok, "reference != concat semantics ca=%d cb=%d", (int)ca, (int)cb);
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0xC0CAu);
    static const int32_t edge[] = {1, 2, 16, 20, 31, 32, 33, 40, 48, 63, 64, 65, 96, 100, 255, 256};
    const size_t ne = sizeof(edge) / sizeof(edge[0]);
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++) run(&r, 2, 3, edge[i], edge[j], 0);
    for (size_t i = 0; i < ne; i++) run(&r, 3, 2, edge[i], edge[i], 1);
    for (int i = 0; i < N_RANDOM; i++)
        run(&r, bnn_rng_range(&r, 1, 6), bnn_rng_range(&r, 1, 6), bnn_rng_range(&r, 1, 300),
            bnn_rng_range(&r, 1, 300), (int)(bnn_rng_u32(&r) % 4u == 0u));
    return bnn_test_summary();
}
