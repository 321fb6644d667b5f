/* BDENSE: optimized == reference on random cin/cout (tail bits), bits/int32 output, extreme
 * thresholds; reference against +-1 semantics; no overruns. */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_RANDOM 1500
#else
#define N_RANDOM 3000
#endif
#define MAX_CIN 4096
#define CANARY 16
#if BNN_TEST_SMALL_RAM /* fewer output channels; cout is cut to what fits in MAX_W */
#define MAX_COUT 64
#define MAX_W 1024
#else
#define MAX_COUT 300
#define MAX_W ((MAX_CIN / 32) * MAX_COUT)
#endif

static uint32_t in_buf[MAX_CIN / 32];
static uint32_t w_buf[MAX_W];
static int32_t th_buf[MAX_COUT];
static uint32_t out_ref[MAX_COUT + CANARY];
static uint32_t out_opt[MAX_COUT + CANARY];

static const int32_t cins[] = {1, 7, 16, 31, 32, 33, 40, 64, 100, 192, 255, 256, 257, 1024, 4096};

static void run(bnn_rng_t *r, int32_t cin, int32_t cout, int int_out, int32_t density) {
    const int32_t words = bnn_words(cin);
    if (cout > MAX_COUT) cout = MAX_COUT;
    if ((size_t)words * (size_t)cout > MAX_W) cout = (int32_t)(MAX_W / (size_t)words);
    bnn_test_fill_bits(r, in_buf, 1, cin, density);
    bnn_test_fill_bits(r, w_buf, (size_t)cout, cin, 128);
    for (int32_t o = 0; o < cout; o++) {
        uint32_t pick = bnn_rng_u32(r) % 10u;
        th_buf[o] = pick == 0 ? INT32_MIN : pick == 1 ? INT32_MAX : pick == 2 ? cin : pick == 3 ? -1
                                                                                          : bnn_rng_range(r, 0, cin);
    }
    const size_t n_out = int_out ? (size_t)cout : (size_t)bnn_words(cout);
    bnn_bdense_args_t a = {in_buf, cin, w_buf, int_out ? NULL : th_buf, NULL, NULL, cout};
    memset(out_ref, 0x5A, sizeof(out_ref));
    bnn_test_canary_fill(out_opt, MAX_COUT + CANARY);
    bnn_test_canary_fill(out_opt + n_out, CANARY);
    if (int_out) a.out_int32 = (int32_t *)out_ref;
    else a.out_bits = out_ref;
    bnn_bdense_reference(&a);
    if (int_out) a.out_int32 = (int32_t *)out_opt;
    else a.out_bits = out_opt;
    CHECK(bnn_bdense_get_buffer_size(&a) == 0u, "bdense needs no scratch");
    bnn_bdense_optimized(&a, NULL);
    CHECK(memcmp(out_ref, out_opt, n_out * 4u) == 0, "ref != opt: cin=%d cout=%d int=%d", (int)cin, (int)cout, (int)int_out);
    CHECK(bnn_test_canary_ok(out_opt + n_out, CANARY), "output overrun cin=%d cout=%d", (int)cin, (int)cout);
    if (int_out) {
        int ok = 1;
        for (int32_t o = 0; o < cout && ok; o++) {
            int32_t y = 0;
            for (int32_t k = 0; k < cin; k++) {
                int xv = ((in_buf[k >> 5] >> (k & 31)) & 1u) ? -1 : 1;
                int wv = ((w_buf[(size_t)o * words + (k >> 5)] >> (k & 31)) & 1u) ? -1 : 1;
                y += xv * wv;
            }
            ok = ((int32_t *)out_ref)[o] == y;
        }
        CHECK(ok, "reference != +-1 semantics (cin=%d)", (int)cin);
    } else if (cout % 32) {
        CHECK((out_opt[n_out - 1] >> (cout % 32)) == 0u, "output tail bits set");
    }
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0xDE45Eu);
    for (size_t i = 0; i < sizeof(cins) / sizeof(cins[0]); i++)
        for (int io = 0; io < 2; io++) {
            run(&r, cins[i], 1, io, 128);
            run(&r, cins[i], 10, io, 128);
            run(&r, cins[i], 33, io, 0);
            run(&r, cins[i], 64, io, 256);
        }
    for (int i = 0; i < N_RANDOM; i++) {
        int32_t cin = (i % 3 == 0) ? cins[bnn_rng_u32(&r) % 15u] : bnn_rng_range(&r, 1, 700);
        int32_t cout = bnn_rng_range(&r, 1, (cin > 1024) ? 40 : MAX_COUT);
        run(&r, cin, cout, (int)(bnn_rng_u32(&r) & 1u), 128);
    }
    return bnn_test_summary();
}
