/* bnn-edge on-device head: non-linear ternarized classifier, integer SGD, latent replay.
 * The math is in bnn_head.h / HEAD.md; bnn_edge/sim/head.py is the bit-exact Python twin. */
#include "bnn/bnn_head.h"

#include <stddef.h>
#include <string.h>

#include "bnn/bnn_constants.h"
#include "bnn/bnn_crc32.h"
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_head_store.h"
#include "bnn_internal.h" /* bnn_popcount32, bnn_xpc (xor-popcount rows), little-endian access */
#include "bnn_op.h"       /* BNN_KERNELS (compile-time kernel family) */
#include "head/bnn_head_update.h"

/* EXP_LUT[j] = round(32768 * exp(-j/16)), j = 0..177; 0 beyond (exp(-178/16) * 32768 < 0.5).
 * Generated from bnn_edge/sim/head.py into bnn/bnn_constants.h. */
#define EXP_LUT_LEN BNN_HEAD_EXP_LUT_LEN
static const uint16_t EXP_LUT[EXP_LUT_LEN] = BNN_HEAD_EXP_LUT;

#define Q15_ONE 32768

static uint32_t a4(uint32_t x) { return (x + 3u) & ~3u; }

/* BNN_OK for an initialised head and a non-NULL p (pass h itself when there is no other pointer). */
static bnn_status_t head_args(const bnn_head_t *h, const void *p) {
    if (h == NULL || p == NULL) return BNN_ERR_NULL_ARG;
    return h->magic == BNN_HEAD_MAGIC ? BNN_OK : BNN_ERR_NOT_INIT;
}

void bnn_head_config_default(bnn_head_config_t *cfg) {
    if (cfg == NULL) return;
    cfg->n_latent = 256u;
    cfg->n_hidden = 128u;
    cfg->max_classes = 10u;
    cfg->replay_k = 2u;
    cfg->epochs = 6u;
    cfg->buffer_bytes = 4096u;
    cfg->lr_mul = 1u;
    cfg->lr_shift = 10u;
    cfg->temp_shift = 5u;
    cfg->latent_clip = 2048;
    cfg->init_range = 512;
    cfg->seed = 1u;
    cfg->w1 = NULL;
}

bnn_status_t bnn_head_memory_required(const bnn_head_config_t *cfg, bnn_head_mem_t *mem) {
    if (cfg == NULL || mem == NULL) return BNN_ERR_NULL_ARG;
    uint32_t n = cfg->n_latent, hid = cfg->n_hidden, k = cfg->max_classes;
    if (n == 0u || n % 32u != 0u || hid % 32u != 0u || n + hid > 32768u) return BNN_ERR_CONFIG;
    if (k < 1u || k > BNN_HEAD_MAX_CLASSES) return BNN_ERR_CONFIG;
    if (cfg->lr_mul < 1u || cfg->lr_mul > 32768u || cfg->lr_shift > 30u || cfg->temp_shift > 16u)
        return BNN_ERR_CONFIG;
    if (cfg->latent_clip < 1 || cfg->init_range < 1 || cfg->init_range > cfg->latent_clip)
        return BNN_ERR_CONFIG;
    uint32_t slots = bnn_replay_slots(n, cfg->buffer_bytes);
    if (slots < 1u) return BNN_ERR_BUDGET;
    if (slots > 0xFFFFu) return BNN_ERR_CONFIG;
    uint32_t wn = n / 32u, c = n + hid, wc = c / 32u;
    mem->w1_bits = cfg->w1 != NULL ? 0u : hid * wn * 4u;
    mem->w2_bits = k * 2u * wc * 4u;
    mem->w2_latent = k * 2u * c * 2u;
    mem->buffer = slots * wn * 4u + a4(slots);
    mem->buffer_meta = k * 4u + a4(2u * k);
    mem->scratch = wc * 4u + 2u * k * 4u + a4(2u * slots) + a4(2u * cfg->replay_k);
    mem->arena = mem->w1_bits + mem->w2_bits + mem->w2_latent + mem->buffer + mem->buffer_meta +
                 mem->scratch;
    mem->control = (uint32_t)sizeof(bnn_head_t);
    mem->total = mem->arena + mem->control;
    return BNN_OK;
}

bnn_status_t bnn_head_memory(const bnn_head_t *h, bnn_head_mem_t *mem) {
    const bnn_status_t st = head_args(h, mem);
    if (st != BNN_OK) return st;
    *mem = h->mem;
    return BNN_OK;
}

/* Recomputes the packed W2 row k from its latents (bit 1 where the latent is negative), in the
 * lane order of head/bnn_head_update.h. */
static void sync_row(bnn_head_t *h, uint32_t k) {
    const uint32_t two_wc = 2u * h->words_c;
    const int16_t *lat = h->lat + (size_t)k * 2u * h->n_channels;
    uint32_t *row = h->w2 + (size_t)k * two_wc;
    for (uint32_t w = 0; w < two_wc; w++) {
        uint32_t bits = 0u;
        for (uint32_t b = 0; b < 32u; b++)
            if (lat[w * 32u + b] < 0) bits |= 1u << b;
        row[w] = bnn_head_deal(bits);
    }
}

static uint32_t w1_crc(const bnn_head_t *h) {
    uint32_t crc = 0u;
    uint32_t n = (uint32_t)h->cfg.n_hidden * h->words_n;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b[4];
        bnn_wr_u32(b, h->w1[i]);
        crc = bnn_crc32_update(crc, b, 4u);
    }
    return crc;
}

/* 32x32 bit-matrix transpose in place: bit r of out[b] = bit b of in[r] (Hacker's Delight 7-3). */
static void transpose32(uint32_t *a) {
    uint32_t m = 0x0000FFFFu;
    for (uint32_t j = 16u; j != 0u; j >>= 1, m ^= m << j)
        for (uint32_t k = 0; k < 32u; k = (k + j + 1u) & ~j) {
            const uint32_t t = ((a[k] >> j) ^ a[k + j]) & m;
            a[k] ^= t << j;
            a[k + j] ^= t;
        }
}

/* The PRNG W1 in RAM is kept bit-transposed per group of 32 rows (W1·z is then a vertical
 * bit-sliced count, compute_c): word [g][i] holds bit i (input i, 0..N-1) of the rows
 * 32g..32g+31 (bit r = row 32g+r). From the row-major group (rows x N/32 words): an in-place
 * rectangular transpose of the 32 x N/32 word matrix (cycle leaders), then a bit transpose of
 * each 32x32 block. */
static void w1_to_vertical(uint32_t *grp, uint32_t wn) {
    const uint32_t n = 32u * wn; /* word (r, w) at r*wn + w moves to w*32 + r */
    for (uint32_t s = 1u; s + 1u < n; s++) {
        uint32_t k = s;
        do k = (k % wn) * 32u + k / wn; while (k > s);
        if (k != s) continue; /* s is not the smallest index of its cycle */
        uint32_t v = grp[s];
        k = s;
        for (;;) { /* the value at k goes to P(k) */
            const uint32_t nk = (k % wn) * 32u + k / wn;
            const uint32_t t = grp[nk];
            grp[nk] = v;
            v = t;
            k = nk;
            if (k == s) break;
        }
    }
    for (uint32_t w = 0; w < wn; w++) transpose32(grp + 32u * w);
}

bnn_status_t bnn_head_reset(bnn_head_t *h) {
    const bnn_status_t st = head_args(h, h);
    if (st != BNN_OK) return st;
    const bnn_head_config_t *cfg = &h->cfg;
    if (cfg->w1 == NULL) {
        uint32_t *w1 = (uint32_t *)(uintptr_t)h->w1; /* owned: it lives in the arena */
        uint32_t rng = bnn_prng_seed(cfg->seed, BNN_PRNG_STREAM_W1);
        uint32_t n = (uint32_t)cfg->n_hidden * h->words_n;
        for (uint32_t i = 0; i < n; i++) w1[i] = bnn_prng_next(&rng);
        h->w1_crc = w1_crc(h); /* of the row-major words, as with a caller's W1 */
        for (uint32_t g = 0; g < cfg->n_hidden / 32u; g++) w1_to_vertical(w1 + (size_t)g * 32u * h->words_n, h->words_n);
    } else {
        h->w1_crc = w1_crc(h);
    }
    uint32_t rng = bnn_prng_seed(cfg->seed, BNN_PRNG_STREAM_INIT);
    uint32_t r = (uint32_t)cfg->init_range;
    uint32_t n_lat = (uint32_t)cfg->max_classes * 2u * h->n_channels;
    for (uint32_t i = 0; i < n_lat; i++) {
        int32_t v = (int32_t)bnn_prng_below(&rng, 2u * r) - (int32_t)r;
        h->lat[i] = (int16_t)(v < 0 ? v : v + 1);
    }
    for (uint32_t k = 0; k < cfg->max_classes; k++) sync_row(h, k);
    bnn_replay_t *rb = &h->buf;
    for (uint32_t i = 0; i < (uint32_t)rb->n_slots * rb->words; i++) rb->data[i] = 0u;
    for (uint32_t i = 0; i < rb->n_slots; i++) rb->labels[i] = 0u;
    for (uint32_t i = 0; i < rb->max_classes; i++) {
        rb->seen[i] = 0u;
        rb->count[i] = 0u;
    }
    rb->fill = 0u;
    rb->rng = bnn_prng_seed(cfg->seed, BNN_PRNG_STREAM_BUFFER);
    h->n_classes = 0u;
    h->tasks = 0u;
    h->steps = 0u;
    h->learned = 0u;
    return BNN_OK;
}

bnn_status_t bnn_head_init(bnn_head_t *h, const bnn_head_config_t *cfg, void *arena, uint32_t arena_bytes) {
    if (h == NULL || cfg == NULL || arena == NULL) return BNN_ERR_NULL_ARG;
    if (((uintptr_t)arena & 3u) != 0u) return BNN_ERR_ARENA_ALIGN;
    h->magic = 0u;
    bnn_head_mem_t mem;
    const bnn_status_t st = bnn_head_memory_required(cfg, &mem);
    if (st != BNN_OK) return st;
    if (arena_bytes < mem.arena) return BNN_ERR_ARENA_TOO_SMALL;
    uint8_t *p = (uint8_t *)arena;
    uint32_t k = cfg->max_classes;
    uint32_t slots = bnn_replay_slots(cfg->n_latent, cfg->buffer_bytes);
    h->cfg = *cfg;
    h->mem = mem;
    h->words_n = (uint16_t)(cfg->n_latent / 32u);
    h->n_channels = (uint16_t)(cfg->n_latent + cfg->n_hidden);
    h->words_c = (uint16_t)(h->n_channels / 32u);
    h->kernels = (BNN_KERNELS == 2) ? (uint16_t)BNN_KERNELS_REFERENCE : (uint16_t)BNN_KERNELS_OPTIMIZED;
    /* carve, in the order of bnn_head_mem_t; every block is a multiple of 4 bytes */
    if (cfg->w1 == NULL) {
        h->w1 = (const uint32_t *)(void *)p;
        p += mem.w1_bits;
    } else {
        h->w1 = cfg->w1;
    }
    h->w2 = (uint32_t *)(void *)p;
    p += mem.w2_bits;
    h->lat = (int16_t *)(void *)p;
    p += mem.w2_latent;
    h->buf.data = (uint32_t *)(void *)p;
    p += slots * h->words_n * 4u;
    h->buf.labels = p;
    p += a4(slots);
    h->buf.seen = (uint32_t *)(void *)p;
    p += k * 4u;
    h->buf.count = (uint16_t *)(void *)p;
    p += a4(2u * k);
    h->sc_c = (uint32_t *)(void *)p;
    p += h->words_c * 4u;
    h->sc_logit = (int32_t *)(void *)p;
    p += k * 4u;
    h->sc_step = (int32_t *)(void *)p;
    p += k * 4u;
    h->sc_perm = (uint16_t *)(void *)p;
    p += a4(2u * slots);
    h->sc_draw = (uint16_t *)(void *)p;
    h->buf.n_slots = (uint16_t)slots;
    h->buf.words = h->words_n;
    h->buf.max_classes = (uint16_t)k;
    h->magic = BNN_HEAD_MAGIC;
    return bnn_head_reset(h);
}

/* One word of h from the vertical W1 (w1_to_vertical): bit r = (popcount(w1_{32g+r} ^ z) > N/2),
 * counted for the 32 rows at once. Input i contributes the vector t[i] ^ (z_i ? ~0 : 0); the N
 * vectors are summed bit-sliced, 16 at a time by a Harley-Seal carry-save tree (planes ones,
 * twos, fours, eights) whose carries out ("sixteens") are rippled into a bit-sliced counter;
 * then count >= N/2 + 1 is one bit-sliced comparison with that constant. */
/* 16 inputs (v[0..15], input j flipped when bit j of zb is 1) into the ones..eights planes; returns
 * the carry out (the "sixteens"). Inlined with constant shifts: SBFX, LDR, EOR per input. */
static inline __attribute__((always_inline)) uint32_t hs16(const uint32_t *v, uint32_t zb, uint32_t *ones,
                                                           uint32_t *twos, uint32_t *fours, uint32_t *eights) {
#define BNN_V(j) (v[j] ^ (uint32_t)((int32_t)(zb << (31 - (j))) >> 31))
    uint32_t o = *ones, t = *twos, f = *fours, e = *eights, ta, tb, fa, fb, ea, eb, sixteens;
    BNN_CSA(ta, o, o, BNN_V(0), BNN_V(1));
    BNN_CSA(tb, o, o, BNN_V(2), BNN_V(3));
    BNN_CSA(fa, t, t, ta, tb);
    BNN_CSA(ta, o, o, BNN_V(4), BNN_V(5));
    BNN_CSA(tb, o, o, BNN_V(6), BNN_V(7));
    BNN_CSA(fb, t, t, ta, tb);
    BNN_CSA(ea, f, f, fa, fb);
    BNN_CSA(ta, o, o, BNN_V(8), BNN_V(9));
    BNN_CSA(tb, o, o, BNN_V(10), BNN_V(11));
    BNN_CSA(fa, t, t, ta, tb);
    BNN_CSA(ta, o, o, BNN_V(12), BNN_V(13));
    BNN_CSA(tb, o, o, BNN_V(14), BNN_V(15));
    BNN_CSA(fb, t, t, ta, tb);
    BNN_CSA(eb, f, f, fa, fb);
    BNN_CSA(sixteens, e, e, ea, eb);
#undef BNN_V
    *ones = o;
    *twos = t;
    *fours = f;
    *eights = e;
    return sixteens;
}

/* adds a carry vector into a bit-sliced counter */
static inline void ripple(uint32_t *cnt, uint32_t carry) {
    for (uint32_t j = 0; carry != 0u; j++) {
        const uint32_t c2 = cnt[j] & carry;
        cnt[j] ^= carry;
        carry = c2;
    }
}

#if !defined(BNN_HEAD_NO_ASM) && defined(__GNUC__) && defined(__thumb2__) &&                      \
    (defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) ||   \
     defined(__ARM_ARCH_8_1M_MAIN__))
#define BNN_HEAD_VERT_ASM 1
/* Thumb-2 (Armv7-M and later): the 32 inputs of one word of z in assembly, hs16's carry-save tree
 * twice on registers, then the two weight-16 carries into the weight-16 plane:
 * returns the weight-32 carry; planes[0..4] = ones, twos, fours, eights, sixteens (in and out).
 * The inputs come 4 at a time with LDM; the input bits are reversed (RBIT) so that the next
 * one's bit is bit 31: its flip mask is the operand `zr, asr #31` (EOR), then zr <<= 1. Per word:
 * 8 LDM, 32 x (EOR, LSL), 31 carry-save adders of 5 instructions, 235 instructions with the
 * entry and exit (hs16 in C and its glue: ~270). */
uint32_t bnn_head_vert_word(const uint32_t *t, uint32_t zw, uint32_t *planes);
__asm__(
    ".pushsection .text.bnn_head_vert_word,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* flip input x by the next bit of z */
    ".macro HV_M x\n"
    "  eor \\x, \\x, r1, asr #31\n"
    "  lsl r1, r1, #1\n"
    ".endm\n"
    ".macro HV_M4 a, b, c, d\n"
    "  HV_M \\a\n"
    "  HV_M \\b\n"
    "  HV_M \\c\n"
    "  HV_M \\d\n"
    ".endm\n"
    /* carry-save adder: (h, l) <- l + b + c bitwise (h weight 2); h may be b, not c; t temporary */
    ".macro HV_CSA h, l, b, c, t\n"
    "  eor \\t, \\l, \\b\n"
    "  and \\h, \\l, \\b\n"
    "  eor \\l, \\t, \\c\n"
    "  and \\t, \\t, \\c\n"
    "  orr \\h, \\h, \\t\n"
    ".endm\n"
    /* r0 = t (advances), r1 = z bits reversed, r3-r6 = ones, twos, fours, eights, r12 temporary */
    "  .p2align 2\n"
    "  .global bnn_head_vert_word\n"
    "  .type bnn_head_vert_word, %function\n"
    "  .thumb_func\n"
    "bnn_head_vert_word:\n"
    "  push {r2, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
    "  ldm r2, {r3, r4, r5, r6}\n"
    "  rbit r1, r1\n"
    /* inputs 0..15 -> r7 = weight-16 carry */
    "  ldmia r0!, {r7, r8, r9, r10}\n"
    "  HV_M4 r7, r8, r9, r10\n"
    "  HV_CSA r7, r3, r7, r8, r12\n"
    "  HV_CSA r9, r3, r9, r10, r12\n"
    "  HV_CSA r7, r4, r7, r9, r12\n"   /* r7 = fours a */
    "  ldmia r0!, {r8, r9, r10, r11}\n"
    "  HV_M4 r8, r9, r10, r11\n"
    "  HV_CSA r8, r3, r8, r9, r12\n"
    "  HV_CSA r10, r3, r10, r11, r12\n"
    "  HV_CSA r8, r4, r8, r10, r12\n"
    "  HV_CSA r7, r5, r7, r8, r12\n"   /* r7 = eights a */
    "  ldmia r0!, {r8, r9, r10, r11}\n"
    "  HV_M4 r8, r9, r10, r11\n"
    "  HV_CSA r8, r3, r8, r9, r12\n"
    "  HV_CSA r10, r3, r10, r11, r12\n"
    "  HV_CSA r8, r4, r8, r10, r12\n"  /* r8 = fours a */
    "  ldmia r0!, {r9, r10, r11, lr}\n"
    "  HV_M4 r9, r10, r11, lr\n"
    "  HV_CSA r9, r3, r9, r10, r12\n"
    "  HV_CSA r11, r3, r11, lr, r12\n"
    "  HV_CSA r9, r4, r9, r11, r12\n"
    "  HV_CSA r8, r5, r8, r9, r12\n"   /* r8 = eights b */
    "  HV_CSA r7, r6, r7, r8, r12\n"   /* r7 = sixteens of inputs 0..15 */
    /* inputs 16..31 -> r8 */
    "  ldmia r0!, {r8, r9, r10, r11}\n"
    "  HV_M4 r8, r9, r10, r11\n"
    "  HV_CSA r8, r3, r8, r9, r12\n"
    "  HV_CSA r10, r3, r10, r11, r12\n"
    "  HV_CSA r8, r4, r8, r10, r12\n"
    "  ldmia r0!, {r9, r10, r11, lr}\n"
    "  HV_M4 r9, r10, r11, lr\n"
    "  HV_CSA r9, r3, r9, r10, r12\n"
    "  HV_CSA r11, r3, r11, lr, r12\n"
    "  HV_CSA r9, r4, r9, r11, r12\n"
    "  HV_CSA r8, r5, r8, r9, r12\n"   /* r8 = eights a */
    "  ldmia r0!, {r9, r10, r11, lr}\n"
    "  HV_M4 r9, r10, r11, lr\n"
    "  HV_CSA r9, r3, r9, r10, r12\n"
    "  HV_CSA r11, r3, r11, lr, r12\n"
    "  HV_CSA r9, r4, r9, r11, r12\n"  /* r9 = fours a */
    "  ldmia r0!, {r2, r10, r11, lr}\n"
    "  HV_M4 r2, r10, r11, lr\n"
    "  HV_CSA r2, r3, r2, r10, r12\n"
    "  HV_CSA r11, r3, r11, lr, r12\n"
    "  HV_CSA r2, r4, r2, r11, r12\n"
    "  HV_CSA r9, r5, r9, r2, r12\n"   /* r9 = eights b */
    "  HV_CSA r8, r6, r8, r9, r12\n"   /* r8 = sixteens of inputs 16..31 */
    "  ldr r2, [sp]\n"
    "  ldr r9, [r2, #16]\n"
    "  HV_CSA r7, r9, r7, r8, r12\n"   /* r7 = weight-32 carry, r9 = sixteens plane */
    "  stm r2, {r3, r4, r5, r6, r9}\n"
    "  mov r0, r7\n"
    "  pop {r2, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
    "  .size bnn_head_vert_word, . - bnn_head_vert_word\n"
    ".purgem HV_M\n"
    ".purgem HV_M4\n"
    ".purgem HV_CSA\n"
    ".popsection\n");
#else
#define BNN_HEAD_VERT_ASM 0
/* The 32 inputs of one word of z (hs16 twice), their weight-16 carries into the plane s; returns
 * the weight-32 carry. */
static inline uint32_t vert_word_c(const uint32_t *t, uint32_t zw, uint32_t *o, uint32_t *tw, uint32_t *f,
                                   uint32_t *e, uint32_t *s) {
    const uint32_t sa = hs16(t, zw, o, tw, f, e);
    const uint32_t sb = hs16(t + 16, zw >> 16, o, tw, f, e);
    uint32_t c;
    BNN_CSA(c, *s, *s, sa, sb);
    return c;
}
#endif

/* The bit-sliced sum starts at 2^P - K instead of 0, K = N/2 + 1 and 2^P the smallest power of 2
 * >= K (P >= 5): the bit of weight 2^P of the final sum is then count >= K (the sum stays below
 * 2^(P+1): count <= N = 2K - 2), no comparison. The planes: pl[0..4] of weight 1, 2, 4, 8, 16,
 * pl[5] of weight 32, pl[6..P] a counter of the carries of weight 64 (one per two words of z).
 * vert_init() fills init[0..P+1] with those start values and returns P. */
#define BNN_HEAD_VERT_PLANES 17u
static uint32_t vert_init(uint32_t wn, uint32_t *init) {
    const uint32_t k = wn * 16u + 1u;
    uint32_t p = 5u;
    while ((1u << p) < k) p++;
    const uint32_t off = (1u << p) - k;
    for (uint32_t j = 0; j <= p + 1u; j++) init[j] = (off >> j) & 1u ? 0xFFFFFFFFu : 0u;
    return p;
}

static uint32_t hidden_word_vertical(const uint32_t *t, const uint32_t *z, uint32_t wn, uint32_t p,
                                     const uint32_t *init) {
    uint32_t pl[BNN_HEAD_VERT_PLANES];
    for (uint32_t j = 0; j <= p + 1u; j++) pl[j] = init[j];
    uint32_t s32 = pl[5];
#if BNN_HEAD_VERT_ASM
#define BNN_VERT_WORD(tp, zw) bnn_head_vert_word(tp, zw, pl)
#else
    uint32_t o = pl[0], tw = pl[1], f = pl[2], e = pl[3], s = pl[4];
#define BNN_VERT_WORD(tp, zw) vert_word_c(tp, zw, &o, &tw, &f, &e, &s)
#endif
    uint32_t w = 0u;
    for (; w + 2u <= wn; w += 2u, t += 64) {
        const uint32_t ca = BNN_VERT_WORD(t, z[w]);
        const uint32_t cb = BNN_VERT_WORD(t + 32, z[w + 1u]);
        uint32_t c64;
        BNN_CSA(c64, s32, s32, ca, cb);
        ripple(pl + 6, c64);
    }
    if (w < wn) { /* odd wn: the last word */
        const uint32_t ca = BNN_VERT_WORD(t, z[w]);
        ripple(pl + 6, s32 & ca);
        s32 ^= ca;
    }
#undef BNN_VERT_WORD
    return p == 5u ? s32 : pl[p];
}

/* sc_c = [z; sign(W1 z)] (bit 1 where W1_i . z < 0, i.e. popcount(w1_i ^ z) > N/2). W1 in RAM (the
 * PRNG one): the vertical count above; the caller's W1 (row-major, e.g. in flash): the
 * xor-popcount of z against 32 rows at a time (bnn_xpc, as BDENSE), thresholded at N/2. */
static void compute_c(bnn_head_t *h, const uint32_t *z) {
    const uint32_t wn = h->words_n;
    uint32_t *c = h->sc_c;
    for (uint32_t w = 0; w < wn; w++) c[w] = z[w];
    if (h->cfg.w1 == NULL) {
        uint32_t init[BNN_HEAD_VERT_PLANES];
        const uint32_t p = vert_init(wn, init);
        for (uint32_t w = wn; w < h->words_c; w++)
            c[w] = hidden_word_vertical(h->w1 + (size_t)(w - wn) * 32u * wn, z, wn, p, init);
        return;
    }
    int32_t half[32];
    for (uint32_t r = 0; r < 32u; r++) half[r] = (int32_t)(h->cfg.n_latent / 2u);
    bnn_xpc_t xpc;
    bnn_xpc_init(&xpc, (int32_t)wn);
    for (uint32_t w = wn; w < h->words_c; w++) /* n_hidden is a multiple of 32 */
        c[w] = bnn_xpc_bits(&xpc, z, h->w1 + (size_t)(w - wn) * 32u * wn, 32, half);
}

/* logit_k = 2C - 2 * (popcount(c ^ a_k) + popcount(c ^ b_k)) over the active classes. W2's bits
 * are in lane order (head/bnn_head_update.h), c is brought into the same order (bnn_head_deal),
 * which leaves every popcount unchanged. Selected with the update (bnn_head_set_kernels):
 *   reference: per class and word, bnn_popcount32 of each half;
 *   optimized: a class's row [a_k; b_k] is 2 C/32 contiguous words, the rows of all classes are
 *   contiguous: one bnn_xpc_counts of x = [c; c] (dealt, on the stack) against them (the
 *   Thumb-2 / MVE xor-popcount rows of BDENSE). c longer than BNN_HEAD_XPC_WORDS / 2 words
 *   (C > 1152): c in chunks of up to BNN_HEAD_XPC_WORDS words, two single-row calls per class and
 *   chunk. */
#define BNN_HEAD_XPC_WORDS 72u /* x on the stack: the paper-size head (C = 1152) in one call */
#if BNN_KERNELS != 1
static void logits_reference(bnn_head_t *h, uint32_t *pc) {
    const uint32_t wc = h->words_c, n = h->n_classes;
    for (uint32_t k = 0; k < n; k++) {
        const uint32_t *a = h->w2 + (size_t)k * 2u * wc, *b = a + wc;
        uint32_t cnt = 0u;
        for (uint32_t w = 0; w < wc; w++) {
            const uint32_t cd = bnn_head_deal(h->sc_c[w]);
            cnt += bnn_popcount32(cd ^ a[w]) + bnn_popcount32(cd ^ b[w]);
        }
        pc[k] = cnt;
    }
}
#endif

#if BNN_KERNELS != 2
static void logits_optimized(bnn_head_t *h, uint32_t *pc) {
    const uint32_t wc = h->words_c, n = h->n_classes;
    uint32_t x[BNN_HEAD_XPC_WORDS];
    bnn_xpc_t xpc;
    if (2u * wc <= BNN_HEAD_XPC_WORDS) {
        for (uint32_t w = 0; w < wc; w++) x[w] = x[wc + w] = bnn_head_deal(h->sc_c[w]);
        bnn_xpc_init(&xpc, (int32_t)(2u * wc));
        bnn_xpc_counts(&xpc, x, h->w2, (int32_t)n, pc);
        return;
    }
    for (uint32_t k = 0; k < n; k++) pc[k] = 0u;
    for (uint32_t w0 = 0; w0 < wc; w0 += BNN_HEAD_XPC_WORDS) {
        const uint32_t m = wc - w0 < BNN_HEAD_XPC_WORDS ? wc - w0 : BNN_HEAD_XPC_WORDS;
        for (uint32_t i = 0; i < m; i++) x[i] = bnn_head_deal(h->sc_c[w0 + i]);
        bnn_xpc_init(&xpc, (int32_t)m);
        for (uint32_t k = 0; k < n; k++) {
            const uint32_t *a = h->w2 + (size_t)k * 2u * wc + w0;
            uint32_t ca, cb;
            bnn_xpc_counts(&xpc, x, a, 1, &ca);
            bnn_xpc_counts(&xpc, x, a + wc, 1, &cb);
            pc[k] += ca + cb;
        }
    }
}
#endif

static int32_t compute_logits(bnn_head_t *h, uint32_t *argmax) {
    const uint32_t n = h->n_classes;
    uint32_t *pc = (uint32_t *)h->sc_logit; /* the popcounts first, then the logits in place */
#if BNN_KERNELS == 0
    if (h->kernels == (uint16_t)BNN_KERNELS_REFERENCE)
        logits_reference(h, pc);
    else
        logits_optimized(h, pc);
#elif BNN_KERNELS == 1
    logits_optimized(h, pc);
#else
    logits_reference(h, pc);
#endif
    const int32_t two_c = 2 * (int32_t)h->n_channels;
    int32_t best = INT32_MIN;
    uint32_t best_k = 0u;
    for (uint32_t k = 0; k < n; k++) {
        const int32_t l = two_c - 2 * (int32_t)pc[k];
        h->sc_logit[k] = l;
        if (l > best) {
            best = l;
            best_k = k;
        }
    }
    if (argmax != NULL) *argmax = best_k;
    return best;
}

/* x / 2^s rounded to nearest, ties away from zero. */
static int32_t rshift_round(int32_t x, uint32_t s) {
    if (s == 0u) return x;
    uint32_t a = x < 0 ? (uint32_t)(-(int64_t)x) : (uint32_t)x;
    a = (a + (1u << (s - 1u))) >> s;
    return x < 0 ? -(int32_t)a : (int32_t)a;
}

/* l = clamp(l - step * d, -clip, clip) for both halves of row k, and the row's bits
 * (head/bnn_head_update.c: the reference loop or the optimized one, selected as the kernels are). */
static void update_row(bnn_head_t *h, uint32_t k, int32_t step) {
    const uint32_t wc = h->words_c;
    int16_t *la = h->lat + (size_t)k * 2u * h->n_channels;
    uint32_t *wa = h->w2 + (size_t)k * 2u * wc;
#if BNN_KERNELS == 0
    const bnn_head_update_fn fn = h->kernels == (uint16_t)BNN_KERNELS_REFERENCE ? bnn_head_update_row_reference
                                                                               : bnn_head_update_row_optimized;
#elif BNN_KERNELS == 1
    const bnn_head_update_fn fn = bnn_head_update_row_optimized;
#else
    const bnn_head_update_fn fn = bnn_head_update_row_reference;
#endif
    fn(la, la + h->n_channels, wa, wa + wc, h->sc_c, wc, step, h->cfg.latent_clip);
}

bnn_status_t bnn_head_set_kernels(bnn_head_t *h, bnn_kernels_t kernels) {
    const bnn_status_t st = head_args(h, h);
    if (st != BNN_OK) return st;
    if (kernels != BNN_KERNELS_OPTIMIZED && kernels != BNN_KERNELS_REFERENCE) return BNN_ERR_CONFIG;
    if (BNN_KERNELS == 0) h->kernels = (uint16_t)kernels;
    return BNN_OK;
}

/* One SGD step on (z, y): Q15 LUT softmax over the active classes, g = p - onehot(y),
 * step_k = round(g_k * lr_mul / 2^lr_shift), saturating latent update. */
static void sgd_step(bnn_head_t *h, const uint32_t *z, uint32_t y) {
    compute_c(h, z);
    const int32_t m = compute_logits(h, NULL);
    const uint32_t n = h->n_classes;
    const uint32_t ts = h->cfg.temp_shift;
    uint32_t sum = 0u;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t j = ((uint32_t)(m - h->sc_logit[k]) << 4) >> ts;
        uint32_t e = j < EXP_LUT_LEN ? EXP_LUT[j] : 0u;
        h->sc_step[k] = (int32_t)e;
        sum += e;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t p = ((uint32_t)h->sc_step[k] * (uint32_t)Q15_ONE + sum / 2u) / sum;
        int32_t g = (int32_t)p - (k == y ? Q15_ONE : 0);
        h->sc_step[k] = rshift_round(g * (int32_t)h->cfg.lr_mul, h->cfg.lr_shift);
    }
    for (uint32_t k = 0; k < n; k++)
        if (h->sc_step[k] != 0) update_row(h, k, h->sc_step[k]);
    h->steps++;
}

static void activate(bnn_head_t *h, uint32_t label) {
    if (label + 1u > h->n_classes) h->n_classes = (uint16_t)(label + 1u);
}

bnn_status_t bnn_head_buffer_add(bnn_head_t *h, const uint32_t *latent, uint32_t label, int32_t *slot) {
    const bnn_status_t st = head_args(h, latent);
    if (st != BNN_OK) return st;
    if (label >= h->cfg.max_classes) return BNN_ERR_LABEL;
    activate(h, label);
    int32_t s = bnn_replay_insert(&h->buf, latent, (uint8_t)label);
    if (slot != NULL) *slot = s;
    return BNN_OK;
}

bnn_status_t bnn_head_learn(bnn_head_t *h, const uint32_t *latent, uint32_t label) {
    const bnn_status_t st = head_args(h, latent);
    if (st != BNN_OK) return st;
    if (label >= h->cfg.max_classes) return BNN_ERR_LABEL;
    activate(h, label);
    bnn_replay_t *rb = &h->buf;
    const uint32_t nd = rb->fill != 0u ? h->cfg.replay_k : 0u;
    for (uint32_t i = 0; i < nd; i++) h->sc_draw[i] = bnn_replay_draw(rb);
    sgd_step(h, latent, label);
    for (uint32_t i = 0; i < nd; i++) {
        const uint32_t s = h->sc_draw[i];
        sgd_step(h, rb->data + s * rb->words, rb->labels[s]);
    }
    (void)bnn_replay_insert(rb, latent, (uint8_t)label);
    h->learned++;
    return BNN_OK;
}

bnn_status_t bnn_head_end_task(bnn_head_t *h) {
    const bnn_status_t st = head_args(h, h);
    if (st != BNN_OK) return st;
    bnn_replay_t *rb = &h->buf;
    for (uint32_t e = 0; e < h->cfg.epochs; e++) {
        bnn_replay_shuffle(rb, h->sc_perm);
        for (uint32_t i = 0; i < rb->fill; i++) {
            const uint32_t s = h->sc_perm[i];
            sgd_step(h, rb->data + s * rb->words, rb->labels[s]);
        }
    }
    h->tasks++;
    return BNN_OK;
}

bnn_status_t bnn_head_predict(bnn_head_t *h, const uint32_t *latent, uint32_t *label, int32_t *logits) {
    const bnn_status_t st = head_args(h, latent);
    if (st != BNN_OK) return st;
    if (h->n_classes == 0u) return BNN_ERR_EMPTY;
    uint32_t best;
    compute_c(h, latent);
    (void)compute_logits(h, &best);
    if (label != NULL) *label = best;
    if (logits != NULL)
        for (uint32_t k = 0; k < h->n_classes; k++) logits[k] = h->sc_logit[k];
    return BNN_OK;
}

/* ---- state blob --------------------------------------------------------------------------- */

typedef struct {
    void *ptr;
    uint32_t n_elem;
    uint32_t esize; /* 1, 2 or 4 */
    uint32_t bytes; /* padded to 4 */
} section_t;

#define N_SECTIONS 6u

static void sections(const bnn_head_t *h, section_t *s) {
    const bnn_replay_t *rb = &h->buf;
    const uint32_t k = h->cfg.max_classes;
    s[0] = (section_t){(void *)(uintptr_t)h->load_hdr, BNN_HEAD_STATE_HEADER, 1u, BNN_HEAD_STATE_HEADER};
    s[1] = (section_t){rb->seen, k, 4u, 4u * k};
    s[2] = (section_t){rb->count, k, 2u, a4(2u * k)};
    s[3] = (section_t){h->lat, k * 2u * h->n_channels, 2u, k * 4u * h->n_channels};
    s[4] = (section_t){rb->data, (uint32_t)rb->n_slots * rb->words, 4u, 4u * rb->n_slots * rb->words};
    s[5] = (section_t){rb->labels, rb->n_slots, 1u, a4(rb->n_slots)};
}

uint32_t bnn_head_state_size(const bnn_head_t *h) {
    if (head_args(h, h) != BNN_OK) return 0u;
    section_t s[N_SECTIONS];
    sections(h, s);
    uint32_t n = 0u;
    for (uint32_t i = 0; i < N_SECTIONS; i++) n += s[i].bytes;
    return n;
}


static void build_header(const bnn_head_t *h, uint8_t *o) {
    for (uint32_t i = 0; i < BNN_HEAD_STATE_HEADER; i++) o[i] = 0u;
    bnn_wr_u32(o + 0, BNN_HEAD_STATE_MAGIC);
    bnn_wr_u16(o + 4, (uint16_t)BNN_HEAD_STATE_VERSION);
    bnn_wr_u16(o + 6, (uint16_t)BNN_HEAD_STATE_HEADER);
    bnn_wr_u16(o + 8, h->cfg.n_latent);
    bnn_wr_u16(o + 10, h->cfg.n_hidden);
    bnn_wr_u16(o + 12, h->cfg.max_classes);
    bnn_wr_u16(o + 14, h->buf.n_slots);
    bnn_wr_u32(o + 16, h->w1_crc);
    bnn_wr_u32(o + 20, h->cfg.seed);
    bnn_wr_u16(o + 24, h->n_classes);
    bnn_wr_u16(o + 26, h->tasks);
    bnn_wr_u32(o + 28, h->steps);
    bnn_wr_u32(o + 32, h->buf.rng);
    bnn_wr_u16(o + 36, h->buf.fill);
    bnn_wr_u32(o + 40, h->learned);
}

static uint8_t elem_byte(const section_t *s, uint32_t i) {
    const uint32_t e = i / s->esize, b = i % s->esize;
    if (e >= s->n_elem) return 0u; /* padding */
    uint32_t v;
    if (s->esize == 1u)
        v = ((const uint8_t *)s->ptr)[e];
    else if (s->esize == 2u)
        v = ((const uint16_t *)s->ptr)[e];
    else
        v = ((const uint32_t *)s->ptr)[e];
    return (uint8_t)(v >> (8u * b));
}

static void elem_set_byte(const section_t *s, uint32_t i, uint8_t byte) {
    const uint32_t e = i / s->esize, b = i % s->esize;
    if (e >= s->n_elem) return; /* padding */
    if (s->esize == 1u) {
        ((uint8_t *)s->ptr)[e] = byte;
    } else if (s->esize == 2u) {
        uint16_t *p = (uint16_t *)s->ptr + e;
        *p = (uint16_t)((*p & ~(0xFFu << (8u * b))) | ((uint32_t)byte << (8u * b)));
    } else {
        uint32_t *p = (uint32_t *)s->ptr + e;
        *p = (*p & ~(0xFFu << (8u * b))) | ((uint32_t)byte << (8u * b));
    }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(BNN_HEAD_PORTABLE_IO)
#define BNN_HEAD_LE 1 /* the blob is little-endian: memory can be copied as it is */
#else
#define BNN_HEAD_LE 0
#endif

/* Copies bytes [lo, hi) of section s (relative to the section) out of / into the blob. */
static void section_io(const section_t *s, uint32_t lo, uint32_t hi, uint8_t *out, const uint8_t *in) {
    const uint32_t data_end = s->n_elem * s->esize;
    uint32_t i = lo;
    if (BNN_HEAD_LE && i < data_end) {
        const uint32_t e = hi < data_end ? hi : data_end;
        if (out != NULL)
            memcpy(out, (const uint8_t *)s->ptr + i, e - i);
        else
            memcpy((uint8_t *)s->ptr + i, in, e - i);
        i = e;
    }
    for (; i < hi; i++) {
        if (out != NULL)
            out[i - lo] = elem_byte(s, i);
        else
            elem_set_byte(s, i, in[i - lo]);
    }
}

static bnn_status_t state_io(bnn_head_t *h, uint32_t offset, uint8_t *out, const uint8_t *in, uint32_t len) {
    const uint32_t size = bnn_head_state_size(h);
    if (offset > size || len > size - offset) return BNN_ERR_STATE_RANGE;
    section_t s[N_SECTIONS];
    sections(h, s);
    uint8_t hdr[BNN_HEAD_STATE_HEADER];
    if (out != NULL) {
        build_header(h, hdr);
        s[0].ptr = hdr;
    }
    uint32_t base = 0u, done = 0u;
    for (uint32_t i = 0; i < N_SECTIONS && done < len; i++) {
        const uint32_t end = base + s[i].bytes;
        const uint32_t lo = offset + done;
        if (lo < end) {
            const uint32_t hi = offset + len < end ? offset + len : end;
            section_io(&s[i], lo - base, hi - base, out != NULL ? out + done : NULL,
                       in != NULL ? in + done : NULL);
            done += hi - lo;
        }
        base = end;
    }
    return BNN_OK;
}

bnn_status_t bnn_head_state_read(const bnn_head_t *h, uint32_t offset, uint8_t *dst, uint32_t len) {
    const bnn_status_t st = head_args(h, len != 0u ? (const void *)dst : (const void *)h);
    if (st != BNN_OK) return st;
    if (len == 0u) return offset <= bnn_head_state_size(h) ? BNN_OK : BNN_ERR_STATE_RANGE;
    return state_io((bnn_head_t *)(uintptr_t)h, offset, dst, NULL, len);
}

bnn_status_t bnn_head_state_write(bnn_head_t *h, uint32_t offset, const uint8_t *src, uint32_t len) {
    const bnn_status_t st = head_args(h, len != 0u ? (const void *)src : (const void *)h);
    if (st != BNN_OK) return st;
    if (len == 0u) return offset <= bnn_head_state_size(h) ? BNN_OK : BNN_ERR_STATE_RANGE;
    return state_io(h, offset, NULL, src, len);
}

bnn_status_t bnn_head_state_check_header(const bnn_head_t *h, const uint8_t *hdr) {
    const bnn_status_t st = head_args(h, hdr);
    if (st != BNN_OK) return st;
    if (bnn_rd_u32(hdr) != BNN_HEAD_STATE_MAGIC || bnn_rd_u16(hdr + 4) != BNN_HEAD_STATE_VERSION ||
        bnn_rd_u16(hdr + 6) != BNN_HEAD_STATE_HEADER)
        return BNN_ERR_STATE_CORRUPT;
    if (bnn_rd_u16(hdr + 8) != h->cfg.n_latent || bnn_rd_u16(hdr + 10) != h->cfg.n_hidden ||
        bnn_rd_u16(hdr + 12) != h->cfg.max_classes || bnn_rd_u16(hdr + 14) != h->buf.n_slots ||
        bnn_rd_u32(hdr + 16) != h->w1_crc)
        return BNN_ERR_STATE_MISMATCH;
    if (bnn_rd_u16(hdr + 24) > h->cfg.max_classes || bnn_rd_u32(hdr + 32) == 0u ||
        bnn_rd_u16(hdr + 36) > h->buf.n_slots || bnn_rd_u16(hdr + 38) != 0u || bnn_rd_u32(hdr + 44) != 0u)
        return BNN_ERR_STATE_CORRUPT;
    return BNN_OK;
}

static bnn_status_t finish(bnn_head_t *h) {
    const uint8_t *hdr = h->load_hdr;
    const bnn_status_t st = bnn_head_state_check_header(h, hdr);
    if (st != BNN_OK) return st;
    bnn_replay_t *rb = &h->buf;
    h->n_classes = (uint16_t)bnn_rd_u16(hdr + 24);
    h->tasks = (uint16_t)bnn_rd_u16(hdr + 26);
    h->steps = bnn_rd_u32(hdr + 28);
    rb->rng = bnn_rd_u32(hdr + 32);
    rb->fill = (uint16_t)bnn_rd_u16(hdr + 36);
    h->learned = bnn_rd_u32(hdr + 40);
    /* the buffer's bookkeeping must match its labels, and only active classes may be stored */
    uint32_t total = 0u;
    for (uint32_t c = 0; c < rb->max_classes; c++) {
        uint32_t n = 0u;
        for (uint32_t s = 0; s < rb->fill; s++) n += rb->labels[s] == c;
        if (n != rb->count[c] || n > rb->seen[c] || (n != 0u && c >= h->n_classes))
            return BNN_ERR_STATE_CORRUPT;
        total += n;
    }
    if (total != rb->fill) return BNN_ERR_STATE_CORRUPT;
    const int16_t clip = h->cfg.latent_clip;
    const uint32_t n_lat = (uint32_t)h->cfg.max_classes * 2u * h->n_channels;
    for (uint32_t i = 0; i < n_lat; i++) {
        if (h->lat[i] > clip) h->lat[i] = clip;
        if (h->lat[i] < -clip) h->lat[i] = (int16_t)-clip;
    }
    for (uint32_t k = 0; k < h->cfg.max_classes; k++) sync_row(h, k);
    return BNN_OK;
}

bnn_status_t bnn_head_state_finish(bnn_head_t *h) {
    bnn_status_t st = head_args(h, h);
    if (st != BNN_OK) return st;
    st = finish(h);
    if (st != BNN_OK) (void)bnn_head_reset(h);
    return st;
}
