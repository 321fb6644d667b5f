/* bnn-edge: THERMO_ENCODE, optimized.
 * Thresholds are non-decreasing, so the bits of input channel ci form one run: levels
 * l >= n(x) with n(x) = #{l : t[l] <= x}. For L <= 255, n(v) of all 256 byte values is tabulated
 * once per call in a 256-byte table on the stack; otherwise n(x) is found by binary search. Each
 * channel then sets its bit range with word masks. No scratch buffer. */
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"

size_t bnn_thermo_encode_get_buffer_size(const bnn_thermo_encode_args_t *args) {
    (void)args;
    return 0;
}

/* number of thresholds <= v (upper bound in a non-decreasing array) */
static uint32_t count_le(const int32_t *t, int32_t n, int32_t v) {
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    return (uint32_t)lo;
}

void bnn_thermo_encode_optimized(const bnn_thermo_encode_args_t *args, void *scratch) {
    (void)scratch;
    const int32_t c = args->c, levels = args->levels;
    const size_t pixels = (size_t)args->h * (size_t)args->w;
    const int32_t out_words = bnn_words(c * levels);
    const int use_table = levels <= 255;
    uint8_t below[256];
    if (use_table) {
        int32_t n = 0;
        for (int32_t v = 0; v < 256; v++) {
            while (n < levels && args->thresholds[n] <= v) n++;
            below[v] = (uint8_t)n;
        }
    }
    for (size_t p = 0; p < pixels; p++) {
        const uint8_t *x = args->input + p * (size_t)c;
        uint32_t *o = args->output + p * (size_t)out_words;
        for (int32_t j = 0; j < out_words; j++) o[j] = 0u;
        uint32_t base = 0;
        for (int32_t ci = 0; ci < c; ci++, base += (uint32_t)levels) {
            const uint32_t first = use_table ? below[x[ci]] : count_le(args->thresholds, levels, x[ci]);
            bnn_set_bit_range(o, base + first, base + (uint32_t)levels);
        }
    }
}
