/* bnn-edge firmware tests: tiny test harness (seeded PRNG, checks, the summary line).
 * Every test program ends with `return bnn_test_summary();`, which prints exactly
 * "N passed, M failed" and returns nonzero when a check failed. */
#ifndef BNN_TEST_H
#define BNN_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* BNN_TEST_SMALL_RAM: set (to 1) by a core whose whole RAM is small (targets/m0.mk: 16 KiB for
 * stack, newlib and the test program together). The kernel tests then size their static buffers
 * and random shapes for it; tests that cannot shrink carry the token BNN_TEST_LARGE_RAM and are
 * not built for such a core. */
#ifndef BNN_TEST_SMALL_RAM
#define BNN_TEST_SMALL_RAM 0
#endif

extern int bnn_test_passed;
extern int bnn_test_failed;

/* Records one check; prints the message (printf-style) for the first failures only. */
void bnn_test_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond, ...) bnn_test_check((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

/* Prints "N passed, M failed"; returns 0 if nothing failed, 1 otherwise. */
int bnn_test_summary(void);

/* xorshift64* PRNG (never rand()). */
typedef struct {
    uint64_t s;
} bnn_rng_t;

static inline void bnn_rng_seed(bnn_rng_t *r, uint64_t seed) {
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}
static inline uint32_t bnn_rng_u32(bnn_rng_t *r) {
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}
/* Uniform integer in [lo, hi] (hi - lo < 2^32). */
static inline int32_t bnn_rng_range(bnn_rng_t *r, int32_t lo, int32_t hi) {
    uint32_t span = (uint32_t)(hi - lo) + 1u;
    return span ? lo + (int32_t)(bnn_rng_u32(r) % span) : (int32_t)bnn_rng_u32(r);
}
/* Random word with roughly `density`/256 of its bits set (density 0..256). */
static inline uint32_t bnn_rng_bits(bnn_rng_t *r, int32_t density) {
    if (density >= 256) return 0xFFFFFFFFu;
    if (density <= 0) return 0u;
    if (density == 128) return bnn_rng_u32(r);
    uint32_t w = 0;
    for (int b = 0; b < 32; b++)
        if ((int32_t)(bnn_rng_u32(r) & 255u) < density) w |= 1u << b;
    return w;
}

/* Fills a BITS tensor ([pixels][words(c)]) with random bits, tails zero. */
void bnn_test_fill_bits(bnn_rng_t *r, uint32_t *buf, size_t pixels, int32_t c, int32_t density);

/* Fills n words with a canary pattern / checks it is intact. */
void bnn_test_canary_fill(uint32_t *buf, size_t n);
int bnn_test_canary_ok(const uint32_t *buf, size_t n);

#endif /* BNN_TEST_H */
