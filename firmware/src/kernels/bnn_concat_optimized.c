/* bnn-edge: CONCAT, optimized: in0's words are copied, in1's words are funnel-shifted into place
 * (two word operations per 32 channels). Relies on zero tail bits in the inputs. */
#include "bnn/bnn_ops.h"

size_t bnn_concat_get_buffer_size(const bnn_concat_args_t *a) {
    (void)a;
    return 0;
}

void bnn_concat_optimized(const bnn_concat_args_t *a, void *scratch) {
    (void)scratch;
    const int32_t wa = bnn_words(a->ca), wb = bnn_words(a->cb), wo = bnn_words(a->ca + a->cb);
    const int32_t base = a->ca >> 5;
    const uint32_t shift = (uint32_t)a->ca & 31u;
    const size_t pixels = (size_t)a->h * (size_t)a->w;
    const uint32_t *x0 = a->in0, *x1 = a->in1;
    uint32_t *o = a->output;
    for (size_t p = 0; p < pixels; p++, x0 += wa, x1 += wb, o += wo) {
        for (int32_t j = 0; j < wa; j++) o[j] = x0[j];
        if (shift == 0u) {
            for (int32_t k = 0; k < wb; k++) o[base + k] = x1[k];
        } else {
            /* o[base] already holds in0's partial last word */
            uint32_t carry = o[base];
            for (int32_t k = 0; k < wb; k++) {
                const uint32_t v = x1[k];
                o[base + k] = carry | (v << shift);
                carry = v >> (32u - shift);
            }
            if (base + wb < wo) o[base + wb] = carry;
        }
    }
}
