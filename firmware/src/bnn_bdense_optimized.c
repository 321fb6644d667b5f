/* bnn-edge: BDENSE, optimized: each output is one Harley-Seal xor-popcount over the contiguous
 * weight row (tail bits are 0 on both sides, so no masking is needed); output bits are assembled
 * in a register and stored once per 32 outputs. */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

size_t bnn_bdense_get_buffer_size(const bnn_bdense_args_t *a) {
    (void)a;
    return 0;
}

void bnn_bdense_optimized(const bnn_bdense_args_t *a, void *scratch) {
    (void)scratch;
    const int32_t words = bnn_words(a->cin);
    const uint32_t *w = a->weights;
    if (a->out_bits) {
        uint32_t bits = 0u;
        int32_t o = 0;
        for (; o < a->cout; o++, w += words) {
            const int32_t accum = (int32_t)bnn_xor_popcount(a->input, w, words);
            bits |= (uint32_t)(accum > a->thresholds[o]) << (o & 31);
            if ((o & 31) == 31) {
                a->out_bits[o >> 5] = bits;
                bits = 0u;
            }
        }
        if (a->cout & 31) a->out_bits[(a->cout - 1) >> 5] = bits;
    } else {
        const uint32_t k_total = (uint32_t)a->cin;
        for (int32_t o = 0; o < a->cout; o++, w += words)
            a->out_int32[o] = (int32_t)(k_total - 2u * bnn_xor_popcount(a->input, w, words));
    }
}
