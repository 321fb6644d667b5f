/* bnn-edge firmware runtime: internal helpers shared by the kernels, the loader and the head. */
#ifndef BNN_INTERNAL_H
#define BNN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn_le.h" /* bnn_rd_u16/u32/i32, bnn_wr_u16/u32 */

/* bnn_model_t.loaded value after a successful bnn_model_load() */
#define BNN_MODEL_LOADED_MARK 0x4C4E4E42u

#if defined(__GNUC__)
#define BNN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define BNN_ALWAYS_INLINE inline
#endif

/* ---- bits */
/* Mask of the valid bits of the last word of a c-channel BITS pixel (all ones if c%32 == 0). */
static inline uint32_t bnn_tail_mask(int32_t c) {
    uint32_t r = (uint32_t)c & 31u;
    return r ? ((1u << r) - 1u) : 0xFFFFFFFFu;
}

/* Obviously-correct popcount (one iteration per set bit): for the reference kernels. */
static inline int32_t bnn_popcount_ref(uint32_t x) {
    int32_t n = 0;
    while (x) {
        x &= x - 1u;
        n++;
    }
    return n;
}

/* Branch-free SWAR popcount (Armv7-M has no popcount instruction). */
static inline uint32_t bnn_popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
}

/* Carry-save adder: (h, l) = a + b + c bitwise, h weight 2, l weight 1. */
#define BNN_CSA(h, l, a, b, c)                   \
    do {                                         \
        uint32_t bnn_u_ = (a) ^ (b);             \
        (h) = ((a) & (b)) | (bnn_u_ & (c));      \
        (l) = bnn_u_ ^ (c);                      \
    } while (0)

/* popcount(a[i] ^ b[i]) summed over n words with SWAR popcounts that stop at per-byte counts
 * (<= 8 per word): the byte counters are accumulated for up to 31 words and only then summed
 * horizontally, so each word costs ~8 logic operations and no multiply. */
static BNN_ALWAYS_INLINE uint32_t bnn_xor_popcount_short(const uint32_t *a, const uint32_t *b, int32_t n) {
    uint32_t total = 0;
    int32_t i = 0;
    while (i < n) {
        const int32_t end = (n - i > 31) ? i + 31 : n;
        uint32_t bytes = 0;
        for (; i < end; i++) {
            uint32_t x = a[i] ^ b[i];
            x = x - ((x >> 1) & 0x55555555u);
            x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
            bytes += (x + (x >> 4)) & 0x0F0F0F0Fu;
        }
        bytes = (bytes & 0x00FF00FFu) + ((bytes >> 8) & 0x00FF00FFu);
        total += (bytes + (bytes >> 16)) & 0xFFFFu;
    }
    return total;
}

/* popcount(a[i] ^ b[i]) summed over n words, Harley-Seal over blocks of 8 words (one real
 * popcount per 8 words; the carry-save state costs 5 logic operations per word). */
static BNN_ALWAYS_INLINE uint32_t bnn_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n) {
    uint32_t ones = 0, twos = 0, fours = 0, eights_total = 0;
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint32_t twos_a, twos_b, fours_a, fours_b, eights;
        BNN_CSA(twos_a, ones, ones, a[i + 0] ^ b[i + 0], a[i + 1] ^ b[i + 1]);
        BNN_CSA(twos_b, ones, ones, a[i + 2] ^ b[i + 2], a[i + 3] ^ b[i + 3]);
        BNN_CSA(fours_a, twos, twos, twos_a, twos_b);
        BNN_CSA(twos_a, ones, ones, a[i + 4] ^ b[i + 4], a[i + 5] ^ b[i + 5]);
        BNN_CSA(twos_b, ones, ones, a[i + 6] ^ b[i + 6], a[i + 7] ^ b[i + 7]);
        BNN_CSA(fours_b, twos, twos, twos_a, twos_b);
        BNN_CSA(eights, fours, fours, fours_a, fours_b);
        eights_total += bnn_popcount32(eights);
    }
    if (i + 4 <= n) {
        uint32_t twos_a, twos_b, fours_a;
        BNN_CSA(twos_a, ones, ones, a[i + 0] ^ b[i + 0], a[i + 1] ^ b[i + 1]);
        BNN_CSA(twos_b, ones, ones, a[i + 2] ^ b[i + 2], a[i + 3] ^ b[i + 3]);
        BNN_CSA(fours_a, twos, twos, twos_a, twos_b);
        eights_total += bnn_popcount32(fours & fours_a);
        fours ^= fours_a;
        i += 4;
    }
    uint32_t total = 8u * eights_total + 4u * bnn_popcount32(fours) + 2u * bnn_popcount32(twos) +
                     bnn_popcount32(ones);
    for (; i < n; i++) total += bnn_popcount32(a[i] ^ b[i]);
    return total;
}

/* ---- xor-popcount of one vector x (n words) against rows of n words (src/kernels/bnn_xpc.c): the inner
 * products of BCONV2D (x = gathered receptive field, a row per output channel) and BDENSE.
 * Hand-scheduled Thumb-2 assembly on Armv7-M/Armv7E-M/Armv8-M Mainline, portable Harley-Seal
 * elsewhere. x and w 4-byte aligned, rows contiguous in w. */
typedef struct {
    uint32_t slot[13]; /* the assembly's frame */
    int32_t n;
    int use_asm;
} bnn_xpc_t;
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(BNN_XPC_NO_MVE)
/* Armv8.1-M MVE (Cortex-M55): sum_{i<n} popcount(x[i] ^ w[i]) for any n >= 0, vector assembly
 * (what bnn_xpc_* use there for rows of 4 words or more). */
#define BNN_HAVE_XPC_MVE 1
uint32_t bnn_xpc_mve_row(const uint32_t *x, const uint32_t *w, int32_t n);
#endif
/* Prepares for rows of n words (n >= 0). */
void bnn_xpc_init(bnn_xpc_t *p, int32_t n);
/* counts[r] = sum_{i<n} popcount(x[i] ^ w[r * n + i]) for r < rows. */
void bnn_xpc_counts(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, uint32_t *counts);
/* rows <= 32: bit r = ((int32_t)count_r > th[r]), bits >= rows are 0. */
uint32_t bnn_xpc_bits(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, const int32_t *th);
/* bnn_xpc_init() + bnn_xpc_counts(). */
void bnn_xor_popcount_rows(const uint32_t *x, const uint32_t *w, int32_t n, int32_t rows, uint32_t *counts);

/* Sets bits [lo, hi) of a word array (lo <= hi). */
static inline void bnn_set_bit_range(uint32_t *words, uint32_t lo, uint32_t hi) {
    if (lo >= hi) return;
    uint32_t wlo = lo >> 5, whi = (hi - 1u) >> 5;
    uint32_t mlo = 0xFFFFFFFFu << (lo & 31u);
    uint32_t mhi = 0xFFFFFFFFu >> (31u - ((hi - 1u) & 31u));
    if (wlo == whi) {
        words[wlo] |= mlo & mhi;
        return;
    }
    words[wlo] |= mlo;
    for (uint32_t k = wlo + 1u; k < whi; k++) words[k] = 0xFFFFFFFFu;
    words[whi] |= mhi;
}

#endif /* BNN_INTERNAL_H */
