/* Internal bit helpers (src/bnn_internal.h): SWAR popcount, Harley-Seal and byte-accumulating
 * xor-popcounts over every length 0..300 (random, all-ones and sparse data), bit ranges, and
 * bnn_xor_popcount_rows() (assembly on Cortex-M) over every length 1..600 and 1..4 rows (lengths
 * 1..300 and fewer rows where they do not fit under BNN_TEST_SMALL_RAM); on MVE cores the
 * vector row kernel alone over every length 0..300. */
#include <string.h>

#include "bnn_internal.h"
#include "bnn_test.h"

#if BNN_TEST_SMALL_RAM /* rows of up to 300 words, as many rows as fit in 6 KB */
#define ROWS_N_MAX 300
#define RW_WORDS 1500
#else
#define ROWS_N_MAX 600
#define RW_WORDS (32 * ROWS_N_MAX + 8)
#endif

/* the Harley-Seal lengths (0..300) use rx and rw as their two vectors */
static uint32_t w1[16], w2[16];
static uint32_t rx[ROWS_N_MAX], rw[RW_WORDS], rc[32];
static int32_t th[32];

static uint32_t naive(const uint32_t *x, const uint32_t *y, int32_t n) {
    uint32_t s = 0;
    for (int32_t i = 0; i < n; i++) s += (uint32_t)bnn_popcount_ref(x[i] ^ y[i]);
    return s;
}

int main(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0x9090u);
    int ok = 1;
    for (int i = 0; i < 5000; i++) {
        uint32_t x = bnn_rng_bits(&r, bnn_rng_range(&r, 0, 256));
        if (bnn_popcount32(x) != (uint32_t)bnn_popcount_ref(x)) ok = 0;
    }
    CHECK(ok && bnn_popcount32(0xFFFFFFFFu) == 32u && bnn_popcount32(0) == 0u, "popcount32");
    uint32_t *a = rx, *b = rw;
    for (int mode = 0; mode < 3; mode++)
        for (int32_t n = 0; n <= 300; n++) {
            for (int32_t i = 0; i < n; i++) {
                a[i] = mode == 1 ? 0xFFFFFFFFu : bnn_rng_bits(&r, mode == 2 ? 10 : 128);
                b[i] = mode == 1 ? 0u : bnn_rng_u32(&r);
            }
            const uint32_t want = naive(a, b, n);
            CHECK(bnn_xor_popcount(a, b, n) == want, "harley-seal n=%d mode=%d", (int)n, mode);
            CHECK(bnn_xor_popcount_short(a, b, n) == want, "short n=%d mode=%d", (int)n, mode);
        }
#if defined(BNN_HAVE_XPC_MVE)
    /* the MVE row directly, every length 0..300 (bnn_xpc_* take it from 4 words on) */
    for (int mode = 0; mode < 3; mode++)
        for (int32_t n = 0; n <= 300; n++) {
            for (int32_t i = 0; i < n + 4; i++) {
                a[i] = mode == 1 ? 0xFFFFFFFFu : bnn_rng_bits(&r, mode == 2 ? 10 : 128);
                b[i] = mode == 1 ? 0u : bnn_rng_u32(&r);
            }
            CHECK(bnn_xpc_mve_row(a, b, n) == naive(a, b, n), "mve row n=%d mode=%d", (int)n, mode);
        }
#endif
    for (int mode = 0; mode < 3; mode++)
        for (int32_t n = 1; n <= ROWS_N_MAX; n++) {
            int32_t rows = (n % 7 == 3) ? 32 : 1 + (int32_t)((n + mode) % 4);
            if (rows > (RW_WORDS - 8) / n) rows = (RW_WORDS - 8) / n;
            for (int32_t i = 0; i < n; i++) rx[i] = mode == 1 ? 0xFFFFFFFFu : bnn_rng_bits(&r, mode == 2 ? 10 : 128);
            for (int32_t i = 0; i < rows * n + 8; i++) rw[i] = mode == 1 ? 0u : bnn_rng_u32(&r);
            for (int32_t k = 0; k < 32; k++) rc[k] = 0xA5A5A5A5u;
            bnn_xor_popcount_rows(rx, rw, n, rows, rc);
            int good = 1;
            for (int32_t k = 0; k < rows; k++) good &= rc[k] == naive(rx, rw + (size_t)k * (size_t)n, n);
            for (int32_t k = rows; k < 32; k++) good &= rc[k] == 0xA5A5A5A5u;
            CHECK(good, "xor_popcount_rows n=%d rows=%d mode=%d", (int)n, (int)rows, mode);
            /* bits mode: thresholds around the counts, INT32_MIN/MAX, -1 */
            bnn_xpc_t p;
            bnn_xpc_init(&p, n);
            for (int32_t k = 0; k < rows; k++) {
                const uint32_t v = bnn_rng_u32(&r) % 8u;
                th[k] = v == 0 ? INT32_MIN : v == 1 ? INT32_MAX : v == 2 ? -1 : (int32_t)rc[k] + (int32_t)v - 5;
            }
            uint32_t want_bits = 0u;
            for (int32_t k = 0; k < rows; k++) want_bits |= (uint32_t)((int32_t)rc[k] > th[k]) << k;
            CHECK(bnn_xpc_bits(&p, rx, rw, rows, th) == want_bits, "xpc bits n=%d rows=%d", (int)n, (int)rows);
        }
    for (int i = 0; i < 3000; i++) {
        uint32_t lo = (uint32_t)bnn_rng_range(&r, 0, 500), hi = (uint32_t)bnn_rng_range(&r, 0, 512);
        memset(w1, 0, sizeof(w1));
        memset(w2, 0, sizeof(w2));
        bnn_set_bit_range(w1, lo, hi);
        for (uint32_t k = lo; k < hi; k++) w2[k >> 5] |= 1u << (k & 31u);
        CHECK(memcmp(w1, w2, sizeof(w1)) == 0, "bit range [%u, %u)", (unsigned)lo, (unsigned)hi);
    }
    CHECK(bnn_tail_mask(32) == 0xFFFFFFFFu && bnn_tail_mask(33) == 1u && bnn_tail_mask(40) == 0xFFu,
          "tail masks");
    return bnn_test_summary();
}
