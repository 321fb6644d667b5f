/* bnn-edge: BDENSE, optimized: 32 outputs at a time, each one xor-popcount over its contiguous
 * weight row (tail bits are 0 on both sides, so no masking is needed) by bnn_xor_popcount_rows()
 * (Harley-Seal; hand-scheduled Thumb-2 assembly on Cortex-M, see bnn_xpc.c), which also
 * thresholds the 32 counts into one output word. No scratch. */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

size_t bnn_bdense_get_buffer_size(const bnn_bdense_args_t *a) {
    (void)a;
    return 0;
}

void bnn_bdense_optimized(const bnn_bdense_args_t *a, void *scratch) {
    (void)scratch;
    uint32_t cnt[32];
    const int32_t words = bnn_words(a->cin);
    const uint32_t k_total = (uint32_t)a->cin;
    bnn_xpc_t xpc;
    bnn_xpc_init(&xpc, words);
    for (int32_t o0 = 0; o0 < a->cout; o0 += 32) {
        const int32_t nr = a->cout - o0 < 32 ? a->cout - o0 : 32;
        const uint32_t *w = a->weights + (size_t)o0 * (size_t)words;
        if (a->out_bits) {
            a->out_bits[o0 >> 5] = bnn_xpc_bits(&xpc, a->input, w, nr, a->thresholds + o0);
        } else {
            bnn_xpc_counts(&xpc, a->input, w, nr, cnt);
            for (int32_t j = 0; j < nr; j++) a->out_int32[o0 + j] = (int32_t)(k_total - 2u * cnt[j]);
        }
    }
}
