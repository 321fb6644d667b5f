/* bnn-edge: THERMO_ENCODE, reference. Output channel ci*L + l = (x[ci] < t[l]) ? 1 : 0. */
#include "bnn/bnn_ops.h"

void bnn_thermo_encode_reference(const bnn_thermo_encode_args_t *args) {
    const int32_t c = args->c, levels = args->levels;
    const size_t pixels = (size_t)args->h * (size_t)args->w;
    const int32_t out_words = bnn_words(c * levels);
    for (size_t p = 0; p < pixels; p++) {
        const uint8_t *x = args->input + p * (size_t)c;
        uint32_t *o = args->output + p * (size_t)out_words;
        for (int32_t j = 0; j < out_words; j++) o[j] = 0u;
        for (int32_t ci = 0; ci < c; ci++) {
            for (int32_t l = 0; l < levels; l++) {
                if ((int32_t)x[ci] < args->thresholds[l]) {
                    uint32_t k = (uint32_t)(ci * levels + l);
                    o[k >> 5] |= 1u << (k & 31u);
                }
            }
        }
    }
}
