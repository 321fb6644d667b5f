/* bnn-edge: THERMO_ENCODE, optimized.
 * Thresholds are non-decreasing, so the bits of input channel ci form one run: levels
 * l >= n(x) with n(x) = #{l : t[l] <= x}. n(v) for all 256 byte values is tabulated once per call
 * in the scratch buffer; each channel then sets its bit range with word masks. */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

size_t bnn_thermo_encode_get_buffer_size(const bnn_thermo_encode_args_t *args) {
    (void)args;
    return 256u * sizeof(uint32_t);
}

void bnn_thermo_encode_optimized(const bnn_thermo_encode_args_t *args, void *scratch) {
    const int32_t c = args->c, levels = args->levels;
    const size_t pixels = (size_t)args->h * (size_t)args->w;
    const int32_t out_words = bnn_words(c * levels);
    uint32_t *below = (uint32_t *)scratch; /* below[v] = number of thresholds <= v */
    int32_t n = 0;
    for (int32_t v = 0; v < 256; v++) {
        while (n < levels && args->thresholds[n] <= v) n++;
        below[v] = (uint32_t)n;
    }
    for (size_t p = 0; p < pixels; p++) {
        const uint8_t *x = args->input + p * (size_t)c;
        uint32_t *o = args->output + p * (size_t)out_words;
        for (int32_t j = 0; j < out_words; j++) o[j] = 0u;
        uint32_t base = 0;
        for (int32_t ci = 0; ci < c; ci++, base += (uint32_t)levels)
            bnn_set_bit_range(o, base + below[x[ci]], base + (uint32_t)levels);
    }
}
