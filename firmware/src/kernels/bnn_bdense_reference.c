/* bnn-edge: BDENSE, reference: accum[o] = popcount(x ^ w[o]) over the cin real channels. */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

void bnn_bdense_reference(const bnn_bdense_args_t *a) {
    const int32_t words = bnn_words(a->cin);
    const uint32_t tail = bnn_tail_mask(a->cin);
    if (a->out_bits)
        for (int32_t j = 0; j < bnn_words(a->cout); j++) a->out_bits[j] = 0u;
    for (int32_t o = 0; o < a->cout; o++) {
        int32_t accum = 0;
        for (int32_t k = 0; k < words; k++) {
            uint32_t d = a->input[k] ^ a->weights[(size_t)o * (size_t)words + (size_t)k];
            if (k == words - 1) d &= tail;
            accum += bnn_popcount_ref(d);
        }
        if (a->out_bits) {
            if (accum > a->thresholds[o]) a->out_bits[o >> 5] |= 1u << (o & 31);
        } else {
            a->out_int32[o] = (int32_t)((int64_t)a->cin - 2 * (int64_t)accum);
        }
    }
}
