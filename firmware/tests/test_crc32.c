/* CRC-32 (IEEE): known vectors, bitwise cross-check, incremental == one-shot. */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"

static uint32_t crc_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static uint8_t buf[4096];

int main(void) {
    CHECK(bnn_crc32("123456789", 9) == 0xCBF43926u, "check value");
    CHECK(bnn_crc32("", 0) == 0u, "empty");
    CHECK(bnn_crc32("a", 1) == 0xE8B7BE43u, "'a'");
    CHECK(bnn_crc32("The quick brown fox jumps over the lazy dog", 43) == 0x414FA339u, "fox");
    bnn_rng_t r;
    bnn_rng_seed(&r, 1234);
    for (int t = 0; t < 200; t++) {
        size_t n = (size_t)bnn_rng_range(&r, 0, (int32_t)sizeof(buf));
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)bnn_rng_u32(&r);
        uint32_t one = bnn_crc32(buf, n);
        CHECK(one == crc_bitwise(buf, n), "bitwise n=%u", (unsigned)n);
        size_t cut = n ? (size_t)bnn_rng_range(&r, 0, (int32_t)n) : 0;
        uint32_t inc = bnn_crc32_update(bnn_crc32_update(0, buf, cut), buf + cut, n - cut);
        CHECK(inc == one, "incremental n=%u cut=%u", (unsigned)n, (unsigned)cut);
    }
    return bnn_test_summary();
}
