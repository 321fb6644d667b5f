/* bnn-edge head: the W2 latent update of one class row, reference and optimized
 * (bnn_head_update.h; the rule is HEAD.md § Learning). */
#include "head/bnn_head_update.h"

#include <string.h>

/* ---- reference: one latent at a time ------------------------------------------------------ */
void bnn_head_update_row_reference(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip) {
    for (uint32_t w = 0; w < c_words; w++) {
        const uint32_t cw = c[w];
        uint32_t ba = 0u, bb = 0u;
        for (uint32_t b = 0; b < 32u; b++) {
            const uint32_t j = w * 32u + b;
            const int32_t s = ((cw >> b) & 1u) ? -step : step; /* step * c_j, c_j = +-1 */
            int32_t va = (int32_t)la[j] - s;
            int32_t vb = (int32_t)lb[j] - s;
            va = va > clip ? clip : (va < -clip ? -clip : va);
            vb = vb > clip ? clip : (vb < -clip ? -clip : vb);
            la[j] = (int16_t)va;
            lb[j] = (int16_t)vb;
            ba |= (uint32_t)(va < 0) << b;
            bb |= (uint32_t)(vb < 0) << b;
        }
        wa[w] = bnn_head_deal(ba);
        wb[w] = bnn_head_deal(bb);
    }
}

/* ---- optimized: two int16 lanes per 32-bit word ----------------------------------------------
 * The clamp to [-clip, clip] is done with the saturation of the DSP's 16-bit lane arithmetic
 * alone, by moving each bound onto a lane limit (per lane, exact integers; OH = 32767 - clip,
 * s = step * c_j):
 *   u = sat16(l - s + OH)     QSUB16 by (s - OH): the upper bound clip lands on 32767, so the
 *                             signed saturation clamps it; the lower bound -clip lands on
 *                             Lu = 32767 - 2 clip.
 * Fast path (clip <= 16383 and |step| <= 32767 - 2 clip: then u >= 0, never saturated below):
 *   v = usat16(u - Lu)        UQSUB16: [Lu, 32767] -> [0, 2 clip], everything below Lu -> 0
 *   l' = v - clip             SSUB16, exact                      3 lane instructions per 2 latents
 * General path (any clip, u may have saturated at -32768):
 *   w = sat16(sat16(u - D1) - D2)   D1 + D2 = 65535 - 2 clip, each <= 32767: Lu lands on -32768
 *                             (no valid value saturates in the first step)
 *   l' = w + (32768 - clip)   SADD16, exact                      4 lane instructions
 * +-s - OH must be int16s, i.e. |step| <= min(clip + 1, 65534 - clip) (always with the defaults:
 * |step| <= 32, clip 2048, which take the fast path); a larger step takes the reference loop.
 * The 16 words of a 32-latent group give the sign bits as acc = (acc >> 1) | (x & 0x80008000):
 * low lanes (even latents) in bits 0..15, high lanes (odd latents) in bits 16..31: the lane order
 * the packed bits are stored in (bnn_head_update.h), so no shuffle. */
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
static inline uint32_t qsub16(uint32_t a, uint32_t b) { return (uint32_t)__qsub16((int16x2_t)a, (int16x2_t)b); }
static inline uint32_t uqsub16(uint32_t a, uint32_t b) { return (uint32_t)__uqsub16((uint16x2_t)a, (uint16x2_t)b); }
static inline uint32_t ssub16(uint32_t a, uint32_t b) { return (uint32_t)__ssub16((int16x2_t)a, (int16x2_t)b); }
static inline uint32_t sadd16(uint32_t a, uint32_t b) { return (uint32_t)__sadd16((int16x2_t)a, (int16x2_t)b); }
#else
/* portable lanes (host, cores without the DSP extension): the same arithmetic per lane */
static inline int32_t lane(uint32_t x, uint32_t sh) { return (int32_t)((x >> sh) & 0xFFFFu) - (int32_t)(((x >> sh) & 0x8000u) << 1); }
static inline uint32_t sat16(int32_t v) { return (uint32_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v)) & 0xFFFFu; }
static inline uint32_t qsub16(uint32_t a, uint32_t b) {
    return sat16(lane(a, 0) - lane(b, 0)) | (sat16(lane(a, 16) - lane(b, 16)) << 16);
}
static inline uint32_t usub_sat(uint32_t a, uint32_t b) { return a > b ? a - b : 0u; }
static inline uint32_t uqsub16(uint32_t a, uint32_t b) {
    return usub_sat(a & 0xFFFFu, b & 0xFFFFu) | (usub_sat(a >> 16, b >> 16) << 16);
}
static inline uint32_t ssub16(uint32_t a, uint32_t b) {
    return ((a - b) & 0xFFFFu) | ((((a >> 16) - (b >> 16)) & 0xFFFFu) << 16);
}
static inline uint32_t sadd16(uint32_t a, uint32_t b) {
    return ((a + b) & 0xFFFFu) | ((((a >> 16) + (b >> 16)) & 0xFFFFu) << 16);
}
#endif

static inline uint32_t pair(int32_t v) { return ((uint32_t)v & 0xFFFFu) * 0x10001u; }

/* One row, both halves; fast selects the 3-instruction clamp (constants k1, k2: Lu and clip) or the
 * 4-instruction one (k1 = D1, k2 = D2, k3 = 32768 - clip). Always inlined with a constant fast. */
static inline __attribute__((always_inline)) void update_lanes(uint8_t *pa, uint8_t *pb, uint32_t *wa, uint32_t *wb,
                                                               const uint32_t *c, uint32_t c_words, const uint32_t *tab,
                                                               int fast, uint32_t k1, uint32_t k2, uint32_t k3) {
    for (uint32_t w = 0; w < c_words; w++) {
        const uint32_t cw = c[w];
        uint32_t sa = 0u, sb = 0u;
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
        if (fast) {
            /* the fast path as GCC cannot schedule it (it spills, and splits the sign gathering):
             * per two words of each half LDRD, 2 x (QSUB16, UQSUB16, SSUB16), STRD, 2 x (AND, ORR),
             * plus 2 x (UBFX + LDR) of the step pairs shared by both halves: 28 instructions per 8
             * latents (the first two words' signs start the gathering: AND, no ORR; the first
             * LDRDs advance pa and pb by 64 bytes, the others address back from there) */
            uint32_t x0, x1, y0, y1, t;
            __asm__ volatile(
                "ldrd %[x0], %[x1], [%[pa]], #64\n\t"
                "ldrd %[y0], %[y1], [%[pb]], #64\n\t"
                ".irp q,0,1,2,3,4,5,6,7\n\t"
                ".if \\q\n\t"
                "ldrd %[x0], %[x1], [%[pa], #8*\\q-64]\n\t"
                "ldrd %[y0], %[y1], [%[pb], #8*\\q-64]\n\t"
                ".endif\n\t"
                "ubfx %[t], %[cw], #4*\\q, #2\n\t"
                "ldr %[t], [%[tab], %[t], lsl #2]\n\t"
                "qsub16 %[x0], %[x0], %[t]\n\t"
                "qsub16 %[y0], %[y0], %[t]\n\t"
                "ubfx %[t], %[cw], #4*\\q+2, #2\n\t"
                "ldr %[t], [%[tab], %[t], lsl #2]\n\t"
                "qsub16 %[x1], %[x1], %[t]\n\t"
                "qsub16 %[y1], %[y1], %[t]\n\t"
                "uqsub16 %[x0], %[x0], %[k1]\n\t"
                "uqsub16 %[x1], %[x1], %[k1]\n\t"
                "uqsub16 %[y0], %[y0], %[k1]\n\t"
                "uqsub16 %[y1], %[y1], %[k1]\n\t"
                "ssub16 %[x0], %[x0], %[k2]\n\t"
                "ssub16 %[x1], %[x1], %[k2]\n\t"
                "ssub16 %[y0], %[y0], %[k2]\n\t"
                "ssub16 %[y1], %[y1], %[k2]\n\t"
                "strd %[x0], %[x1], [%[pa], #8*\\q-64]\n\t"
                "strd %[y0], %[y1], [%[pb], #8*\\q-64]\n\t"
                ".if \\q\n\t"
                "and %[x0], %[x0], #0x80008000\n\t"
                "orr %[sa], %[x0], %[sa], lsr #1\n\t"
                ".else\n\t"
                "and %[sa], %[x0], #0x80008000\n\t"
                ".endif\n\t"
                "and %[x1], %[x1], #0x80008000\n\t"
                "orr %[sa], %[x1], %[sa], lsr #1\n\t"
                ".if \\q\n\t"
                "and %[y0], %[y0], #0x80008000\n\t"
                "orr %[sb], %[y0], %[sb], lsr #1\n\t"
                ".else\n\t"
                "and %[sb], %[y0], #0x80008000\n\t"
                ".endif\n\t"
                "and %[y1], %[y1], #0x80008000\n\t"
                "orr %[sb], %[y1], %[sb], lsr #1\n\t"
                ".endr"
                : [sa] "=&r"(sa), [sb] "=&r"(sb), [x0] "=&r"(x0), [x1] "=&r"(x1), [y0] "=&r"(y0), [y1] "=&r"(y1),
                  [t] "=&r"(t), [pa] "+r"(pa), [pb] "+r"(pb)
                : [cw] "r"(cw), [tab] "r"(tab), [k1] "r"(k1), [k2] "r"(k2)
                : "memory");
            wa[w] = sa;
            wb[w] = sb;
            continue;
        }
#endif
#pragma GCC unroll 16
        for (uint32_t q = 0; q < 16u; q++) {
            const uint32_t sv = tab[(cw >> (2u * q)) & 3u];
            uint32_t x, y;
            memcpy(&x, pa + 4u * q, 4);
            memcpy(&y, pb + 4u * q, 4);
            if (fast) {
                x = ssub16(uqsub16(qsub16(x, sv), k1), k2);
                y = ssub16(uqsub16(qsub16(y, sv), k1), k2);
            } else {
                x = sadd16(qsub16(qsub16(qsub16(x, sv), k1), k2), k3);
                y = sadd16(qsub16(qsub16(qsub16(y, sv), k1), k2), k3);
            }
            memcpy(pa + 4u * q, &x, 4);
            memcpy(pb + 4u * q, &y, 4);
            sa = (sa >> 1) | (x & 0x80008000u);
            sb = (sb >> 1) | (y & 0x80008000u);
        }
        pa += 64;
        pb += 64;
        wa[w] = sa;
        wb[w] = sb;
    }
}

void bnn_head_update_row_optimized(int16_t *la, int16_t *lb, uint32_t *wa, uint32_t *wb, const uint32_t *c,
                                   uint32_t c_words, int32_t step, int32_t clip) {
    const int32_t oh = 32767 - clip;
    const int32_t sp = step - oh, sm = -step - oh; /* lane value for c_j = +1 (bit 0) and -1 (bit 1) */
    if (sp < -32768 || sp > 32767 || sm < -32768 || sm > 32767) { /* |step| > min(clip + 1, 65534 - clip) */
        bnn_head_update_row_reference(la, lb, wa, wb, c, c_words, step, clip);
        return;
    }
    /* indexed by two bits of c: bit 0 = the low lane (even latent), bit 1 = the high lane */
    uint32_t t4[4];
    t4[0] = pair(sp);
    t4[3] = pair(sm);
    t4[1] = (t4[0] & 0xFFFF0000u) | (t4[3] & 0xFFFFu);
    t4[2] = (t4[3] & 0xFFFF0000u) | (t4[0] & 0xFFFFu);
    uint8_t *pa = (uint8_t *)la, *pb = (uint8_t *)lb; /* latents as words (memcpy: no aliasing) */
    const int32_t abs_step = step < 0 ? -step : step;
    if (clip <= 16383 && abs_step <= 32767 - 2 * clip) {
        update_lanes(pa, pb, wa, wb, c, c_words, t4, 1, pair(32767 - 2 * clip), pair(clip), 0u);
    } else {
        const int32_t d = 65535 - 2 * clip, d1 = d > 32767 ? 32767 : d, d2 = d - d1;
        update_lanes(pa, pb, wa, wb, c, c_words, t4, 0, pair(d1), pair(d2), pair(32768 - clip));
    }
}
