/* bnn-edge: CONCAT, reference: copies channel bits one at a time (in0's then in1's). */
#include "bnn/bnn_ops.h"

void bnn_concat_reference(const bnn_concat_args_t *a) {
    const int32_t wa = bnn_words(a->ca), wb = bnn_words(a->cb), wo = bnn_words(a->ca + a->cb);
    const size_t pixels = (size_t)a->h * (size_t)a->w;
    for (size_t p = 0; p < pixels; p++) {
        const uint32_t *x0 = a->in0 + p * (size_t)wa;
        const uint32_t *x1 = a->in1 + p * (size_t)wb;
        uint32_t *o = a->output + p * (size_t)wo;
        for (int32_t j = 0; j < wo; j++) o[j] = 0u;
        for (int32_t k = 0; k < a->ca; k++)
            if ((x0[k >> 5] >> (k & 31)) & 1u) o[k >> 5] |= 1u << (k & 31);
        for (int32_t k = 0; k < a->cb; k++) {
            const int32_t d = a->ca + k;
            if ((x1[k >> 5] >> (k & 31)) & 1u) o[d >> 5] |= 1u << (d & 31);
        }
    }
}
