/* bnn-edge: xor-popcount of one vector against many rows (bnn_xpc_*, declared in bnn_internal.h):
 * count_r = sum_i popcount(x[i] ^ w[r * n + i]), the inner product of BCONV2D (x = the gathered
 * receptive field, one row per output channel) and BDENSE; either the counts, or (bits mode) the
 * thresholded output bits (count_r > th[r]) of up to 32 rows as one word.
 *
 * Portable C everywhere (Harley-Seal, bnn_internal.h). On Thumb-2 M-profile cores (Armv7-M,
 * Armv7E-M, Armv8-M Mainline, Armv8.1-M Mainline; none has a popcount instruction) a
 * hand-scheduled Harley-Seal in assembly:
 *
 *   - "leaf": 4 words of x and 4 of w with two LDMs (1 instruction each), 4 EORs, and 3 carry-save
 *     adders (5 logic ops each) into the ones/twos planes, giving one weight-4 word;
 *   - "block" (16 words): 4 leaves, the weight-4 words carry-saved into the fours plane, the
 *     weight-8 words into the eights plane (on the stack: 14 registers are in use; one LDM reads
 *     the held weight-8 word, the plane and the accumulator, one STRD writes the last two back),
 *     and the weight-16 word reduced to per-byte counts (9 ops) added to a per-byte accumulator;
 *   - the blocks of a row are unrolled 4x and entered Duff-style (no per-block loop test);
 *   - the first n % 16 words of a row are done first, from zero planes (cheaper adders), or the
 *     first whole block is when n % 16 < 4 (the last n % 4 words are counted in the epilogue);
 *   - epilogue: the four planes reduced to nibble counts, weighted, summed per byte, and the bytes
 *     summed with USAD8 (DSP cores: M4, M7, M33 with DSP) or two SWAR steps;
 *   - bits mode: the count is compared with its threshold and shifted into the output word (RRXS)
 *     in the assembly too; a sentinel bit leaving the word through the carry ends the row loop.
 *
 * That is 112 instructions per 16 words (7 per word, 4.6 binary MACs per instruction) plus ~50
 * per row: 541 per 72-word row in bits mode (4.26 binary MACs per instruction; the portable C
 * Harley-Seal takes ~760), 294 per 36-word row. The assembly handles 4 <= n <= 511 words per row
 * (the per-byte accumulator holds 31 blocks); other lengths use the C version. Define
 * BNN_XPC_NO_ASM to force the C version. */
#include <stddef.h>
#include <stdint.h>

#include "bnn_internal.h"

#if !defined(BNN_XPC_NO_MVE) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define BNN_XPC_MVE 1
#include <arm_mve.h>
#else
#define BNN_XPC_MVE 0
#endif

#if !BNN_XPC_MVE && !defined(BNN_XPC_NO_ASM) && defined(__GNUC__) && defined(__thumb2__) &&       \
    (defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) ||   \
     defined(__ARM_ARCH_8_1M_MAIN__))
#define BNN_XPC_ASM 1
#else
#define BNN_XPC_ASM 0
#endif

#if !BNN_XPC_MVE && !BNN_XPC_ASM && !defined(BNN_XPC_NO_ASM) && defined(__GNUC__) && defined(__ARM_ARCH_6M__)
#define BNN_XPC_V6M 1
#else
#define BNN_XPC_V6M 0
#endif

#if !BNN_XPC_MVE && !BNN_XPC_V6M
static void xpc_rows_c(const uint32_t *x, const uint32_t *w, int32_t n, int32_t rows, uint32_t *counts) {
    for (int32_t r = 0; r < rows; r++, w += n)
        counts[r] = n < 16 ? bnn_xor_popcount_short(x, w, n) : bnn_xor_popcount(x, w, n);
}

static uint32_t xpc_bits_c(const uint32_t *x, const uint32_t *w, int32_t n, int32_t rows, const int32_t *th) {
    uint32_t bits = 0u;
    for (int32_t r = 0; r < rows; r++, w += n) {
        const uint32_t c = n < 16 ? bnn_xor_popcount_short(x, w, n) : bnn_xor_popcount(x, w, n);
        bits |= (uint32_t)((int32_t)c > th[r]) << r;
    }
    return bits;
}
#endif

#if BNN_XPC_ASM

/* The assembly's stack frame is bnn_xpc_t.slot[], copied onto its stack at entry (13 words):
 * 0 EA (a weight-8 word held across two leaves), 1 EIGHTS (plane), 2 ACC (per-byte counts of the
 * weight-16 words) -- one LDM reads all three, one STRD writes the last two --, 3 XS (x),
 * 4 HEAD (code address, Thumb bit set, of the row prologue), 5 BENTRY (where the prologue
 * continues: a block of the unrolled pass, or FIN), 6 FIN (epilogue for the n % 4 trailing
 * words), 7 XEND (x + n - n % 4: the block passes end there), 8 PTR (counts or thresholds),
 * 9 BITS (bits mode: the output word being assembled, with a sentinel bit; returned in r0),
 * 10 END (PTR + rows, counts mode), 11 W, 12 REND (row end: counts or bits). */
enum { S_XS = 3, S_HEAD, S_BENTRY, S_FIN, S_XEND, S_PTR, S_BITS, S_END, S_W, S_REND };

uint32_t bnn_xpc_rows_asm(const uint32_t *slots);
/* code addresses: heads q0..q3, head "peel" (first whole block from zero planes), blocks 0..3 of
 * the unrolled pass, epilogues for n % 4 = 0..3, row ends counts / bits */
extern const uint32_t bnn_xpc_tab[15];

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define BNN_XPC_DSP "1"
#else
#define BNN_XPC_DSP "0"
#endif

/* Registers: r0 = x, r1 = w, r2 = ones, r3 = twos, r4 = fours, r5-r8 = x ^ w, r9-r12 = w /
 * temporaries, lr = a held carry word. */
__asm__(
    ".pushsection .text.bnn_xpc_rows_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    ".equ XPC_DSP, " BNN_XPC_DSP "\n"
    /* r5..r8 = x[0..3] ^ w[0..3] */
    ".macro XPC_XL4\n"
    "  ldmia r0!, {r5, r6, r7, r8}\n"
    "  ldmia r1!, {r9, r10, r11, r12}\n"
    "  eor r5, r5, r9\n"
    "  eor r6, r6, r10\n"
    "  eor r7, r7, r11\n"
    "  eor r8, r8, r12\n"
    ".endm\n"
    /* carry-save adder: (h, l) <- l + b + c, bitwise (h weight 2); h may be b; t temporary */
    ".macro XPC_CSA h, l, b, c, t\n"
    "  eor \\t, \\l, \\b\n"
    "  and \\h, \\l, \\b\n"
    "  eor \\l, \\t, \\c\n"
    "  and \\t, \\t, \\c\n"
    "  orr \\h, \\h, \\t\n"
    ".endm\n"
    /* leaf: (ones, twos) += 4 words; the weight-4 carry goes to d */
    ".macro XPC_LEAF d\n"
    "  XPC_XL4\n"
    "  XPC_CSA r5, r2, r5, r6, r9\n"
    "  XPC_CSA r7, r2, r7, r8, r10\n"
    "  XPC_CSA \\d, r3, r5, r7, r9\n"
    ".endm\n"
    /* the same from ones = twos = 0 */
    ".macro XPC_LEAF0 d\n"
    "  XPC_XL4\n"
    "  eor r2, r5, r6\n"
    "  and r5, r5, r6\n"
    "  XPC_CSA r7, r2, r7, r8, r10\n"
    "  eor r3, r5, r7\n"
    "  and \\d, r5, r7\n"
    ".endm\n"
    /* per-byte popcount of x (each byte <= 8) */
    ".macro XPC_POPB x, t\n"
    "  lsr \\t, \\x, #1\n"
    "  and \\t, \\t, #0x55555555\n"
    "  sub \\x, \\x, \\t\n"
    "  and \\t, \\x, #0x33333333\n"
    "  lsr \\x, \\x, #2\n"
    "  and \\x, \\x, #0x33333333\n"
    "  add \\x, \\x, \\t\n"
    "  add \\x, \\x, \\x, lsr #4\n"
    "  and \\x, \\x, #0x0f0f0f0f\n"
    ".endm\n"
    /* per-nibble popcount (<= 4); r9 = 0x55555555, r10 = 0x33333333 */
    ".macro XPC_NIB x, t\n"
    "  and \\t, r9, \\x, lsr #1\n"
    "  sub \\x, \\x, \\t\n"
    "  and \\t, r10, \\x, lsr #2\n"
    "  and \\x, \\x, r10\n"
    "  add \\x, \\x, \\t\n"
    ".endm\n"
    /* nibble pairs summed into bytes; r11 = 0x0f0f0f0f */
    ".macro XPC_BYT x, t\n"
    "  and \\t, r11, \\x, lsr #4\n"
    "  and \\x, \\x, r11\n"
    "  add \\x, \\x, \\t\n"
    ".endm\n"
    ".macro XPC_CONSTS\n"
    "  mov r9, #0x55555555\n"
    "  mov r10, #0x33333333\n"
    "  mov r11, #0x0f0f0f0f\n"
    ".endm\n"
    /* 16 words: planes ones/twos/fours in registers, EA/EIGHTS/ACC on the stack */
    ".macro XPC_BLOCK\n"
    "  XPC_LEAF lr\n"
    "  XPC_LEAF r5\n"
    "  XPC_CSA lr, r4, lr, r5, r9\n"
    "  str lr, [sp, #0]\n"
    "  XPC_LEAF lr\n"
    "  XPC_LEAF r5\n"
    "  XPC_CSA lr, r4, lr, r5, r9\n"
    "  ldmia sp, {r5, r6, r7}\n"
    "  XPC_CSA r5, r6, r5, lr, r9\n"
    "  XPC_POPB r5, r9\n"
    "  add r7, r7, r5\n"
    "  strd r6, r7, [sp, #4]\n"
    ".endm\n"
    /* epilogue: count = ones + 2 twos + 4 fours + 8 eights (+ T in r5 when hast) + 16 acc, in r2;
     * then the row end */
    ".macro XPC_FIN hast\n"
    "  XPC_NIB r2, r12\n"
    "  XPC_NIB r3, r12\n"
    "  add r2, r2, r3, lsl #1\n"
    "  ldrd r3, r6, [sp, #4]\n"
    "  XPC_NIB r4, r12\n"
    "  XPC_NIB r3, r12\n"
    "  add r4, r4, r3, lsl #1\n"
    "  XPC_BYT r2, r12\n"
    "  XPC_BYT r4, r12\n"
    "  add r2, r2, r4, lsl #2\n"
    "  .if \\hast\n"
    "  add r2, r2, r5\n"
    "  .endif\n"
    "  .if XPC_DSP\n"
    "  movs r12, #0\n"
    "  usad8 r2, r2, r12\n"
    "  usad8 r6, r6, r12\n"
    "  add r2, r2, r6, lsl #4\n"
    "  .else\n"
    "  mov r9, #0x00ff00ff\n"
    "  and r12, r9, r2, lsr #8\n"
    "  and r2, r2, r9\n"
    "  add r2, r2, r12\n"
    "  and r12, r9, r6, lsr #8\n"
    "  and r6, r6, r9\n"
    "  add r6, r6, r12\n"
    "  add r2, r2, r6, lsl #4\n"
    "  add r2, r2, r2, lsr #16\n"
    "  uxth r2, r2\n"
    "  .endif\n"
    "  ldr pc, [sp, #48]\n"
    ".endm\n"

    ".global bnn_xpc_rows_asm\n"
    ".type bnn_xpc_rows_asm, %function\n"
    ".thumb_func\n"
    ".align 2\n"
    "bnn_xpc_rows_asm:\n"
    "  push {r4-r11, lr}\n"
    "  sub sp, sp, #52\n"
    "  ldmia r0!, {r2-r8}\n"
    "  stmia sp, {r2-r8}\n"
    "  ldmia r0, {r2-r7}\n"
    "  add r8, sp, #28\n"
    "  stmia r8, {r2-r7}\n"
    "  ldr r1, [sp, #44]\n"
    ".Lxpc_row:\n"
    "  ldr r0, [sp, #12]\n"
    "  ldr pc, [sp, #16]\n"

    /* prologues: the first (n % 16) & ~3 words from zero planes; EIGHTS and ACC set */
    ".Lxpc_head_q0:\n"
    "  movs r2, #0\n"
    "  movs r3, #0\n"
    "  movs r4, #0\n"
    "  strd r4, r4, [sp, #4]\n"
    "  ldr pc, [sp, #20]\n"
    ".Lxpc_head_q1:\n"
    "  XPC_LEAF0 r4\n"
    "  movs r5, #0\n"
    "  strd r5, r5, [sp, #4]\n"
    "  ldr pc, [sp, #20]\n"
    ".Lxpc_head_q2:\n"
    "  XPC_LEAF0 r4\n"
    "  XPC_LEAF r5\n"
    "  and lr, r4, r5\n"
    "  eor r4, r4, r5\n"
    "  movs r5, #0\n"
    "  strd lr, r5, [sp, #4]\n"
    "  ldr pc, [sp, #20]\n"
    ".Lxpc_head_q3:\n"
    "  XPC_LEAF0 r4\n"
    "  XPC_LEAF r5\n"
    "  and lr, r4, r5\n"
    "  eor r4, r4, r5\n"
    "  XPC_LEAF r5\n"
    "  and r6, r4, r5\n"
    "  eor r4, r4, r5\n"
    "  orr lr, lr, r6\n"
    "  movs r5, #0\n"
    "  strd lr, r5, [sp, #4]\n"
    "  ldr pc, [sp, #20]\n"
    /* n % 16 < 4 and n >= 16: the first block from zero planes */
    ".Lxpc_head_p:\n"
    "  XPC_LEAF0 lr\n"
    "  XPC_LEAF r5\n"
    "  eor r4, lr, r5\n"
    "  and lr, lr, r5\n"
    "  str lr, [sp, #0]\n"
    "  XPC_LEAF lr\n"
    "  XPC_LEAF r5\n"
    "  XPC_CSA lr, r4, lr, r5, r9\n"
    "  ldr r5, [sp, #0]\n"
    "  eor r6, r5, lr\n"
    "  and r5, r5, lr\n"
    "  XPC_POPB r5, r9\n"
    "  strd r6, r5, [sp, #4]\n"
    "  ldr pc, [sp, #20]\n"

    /* the blocks, unrolled 4x, entered at block (4 - nblocks % 4) % 4 */
    ".Lxpc_blk0:\n"
    "  XPC_BLOCK\n"
    ".Lxpc_blk1:\n"
    "  XPC_BLOCK\n"
    ".Lxpc_blk2:\n"
    "  XPC_BLOCK\n"
    ".Lxpc_blk3:\n"
    "  XPC_BLOCK\n"
    "  ldr r9, [sp, #28]\n"
    "  cmp r0, r9\n"
    "  bne .Lxpc_blk0\n"
    "  ldr pc, [sp, #24]\n"

    /* row ends: store the count (counts mode) ... */
    ".Lxpc_rend_counts:\n"
    "  ldr r9, [sp, #32]\n"
    "  str r2, [r9], #4\n"
    "  str r9, [sp, #32]\n"
    "  ldr r10, [sp, #40]\n"
    "  cmp r9, r10\n"
    "  bne .Lxpc_row\n"
    "  add sp, sp, #52\n"
    "  pop {r4-r11, pc}\n"
    /* ... or (bits mode) shift !(count > th) into the top of BITS with RRXS: (th ^ 2^31) >=
     * (count ^ 2^31) unsigned is th >= count signed. BITS starts with a sentinel bit at rows - 1:
     * it leaves through the carry at the last row. The caller inverts and aligns the word. */
    ".Lxpc_rend_bits:\n"
    "  ldrd r9, r12, [sp, #32]\n"
    "  ldr r11, [r9], #4\n"
    "  add r2, r2, #0x80000000\n"
    "  eor r11, r11, #0x80000000\n"
    "  cmp r11, r2\n"
    "  rrxs r12, r12\n"
    "  strd r9, r12, [sp, #32]\n"
    "  bcc .Lxpc_row\n"
    "  mov r0, r12\n"
    "  add sp, sp, #52\n"
    "  pop {r4-r11, pc}\n"

    /* epilogues by n % 4: the trailing words as nibble counts T (<= 12 per nibble) */
    ".Lxpc_fin0:\n"
    "  XPC_CONSTS\n"
    "  XPC_FIN 0\n"
    ".Lxpc_fin1:\n"
    "  ldr r5, [r0]\n"
    "  ldr r7, [r1], #4\n"
    "  eor r5, r5, r7\n"
    "  XPC_CONSTS\n"
    "  XPC_NIB r5, r12\n"
    "  b .Lxpc_fint\n"
    ".Lxpc_fin2:\n"
    "  ldrd r5, r6, [r0]\n"
    "  ldrd r7, r8, [r1], #8\n"
    "  eor r5, r5, r7\n"
    "  eor r6, r6, r8\n"
    "  XPC_CONSTS\n"
    "  XPC_NIB r5, r12\n"
    "  XPC_NIB r6, r12\n"
    "  add r5, r5, r6\n"
    "  b .Lxpc_fint\n"
    ".Lxpc_fin3:\n"
    "  ldmia r0, {r5, r6, r7}\n"
    "  ldmia r1!, {r8, r12, lr}\n"
    "  eor r5, r5, r8\n"
    "  eor r6, r6, r12\n"
    "  eor r7, r7, lr\n"
    "  XPC_CONSTS\n"
    "  XPC_NIB r5, r12\n"
    "  XPC_NIB r6, r12\n"
    "  XPC_NIB r7, r12\n"
    "  add r5, r5, r6\n"
    "  add r5, r5, r7\n"
    ".Lxpc_fint:\n"
    "  XPC_BYT r5, r12\n"
    "  XPC_FIN 1\n"
    ".size bnn_xpc_rows_asm, . - bnn_xpc_rows_asm\n"

    ".purgem XPC_XL4\n"
    ".purgem XPC_CSA\n"
    ".purgem XPC_LEAF\n"
    ".purgem XPC_LEAF0\n"
    ".purgem XPC_POPB\n"
    ".purgem XPC_NIB\n"
    ".purgem XPC_BYT\n"
    ".purgem XPC_CONSTS\n"
    ".purgem XPC_BLOCK\n"
    ".purgem XPC_FIN\n"
    ".popsection\n"

    ".pushsection .rodata.bnn_xpc_tab,\"a\",%progbits\n"
    ".align 2\n"
    ".global bnn_xpc_tab\n"
    ".type bnn_xpc_tab, %object\n"
    "bnn_xpc_tab:\n"
    "  .word .Lxpc_head_q0 + 1, .Lxpc_head_q1 + 1, .Lxpc_head_q2 + 1, .Lxpc_head_q3 + 1\n"
    "  .word .Lxpc_head_p + 1\n"
    "  .word .Lxpc_blk0 + 1, .Lxpc_blk1 + 1, .Lxpc_blk2 + 1, .Lxpc_blk3 + 1\n"
    "  .word .Lxpc_fin0 + 1, .Lxpc_fin1 + 1, .Lxpc_fin2 + 1, .Lxpc_fin3 + 1\n"
    "  .word .Lxpc_rend_counts + 1, .Lxpc_rend_bits + 1\n"
    ".size bnn_xpc_tab, . - bnn_xpc_tab\n"
    ".popsection\n");

void bnn_xpc_init(bnn_xpc_t *p, int32_t n) {
    p->n = n;
    p->use_asm = n >= 4 && n <= 511; /* below 4 words the C version is shorter */
    if (!p->use_asm) return;
    uint32_t *f = p->slot;
    const int32_t c = n & 3, q = (n >> 2) & 3;
    int32_t blocks = n >> 4;
    for (int k = 0; k < 13; k++) f[k] = 0u;
    if (q == 0 && blocks > 0) {
        f[S_HEAD] = bnn_xpc_tab[4];
        blocks--;
    } else {
        f[S_HEAD] = bnn_xpc_tab[q];
    }
    f[S_FIN] = bnn_xpc_tab[9 + c];
    f[S_BENTRY] = blocks ? bnn_xpc_tab[5 + ((4 - (blocks & 3)) & 3)] : f[S_FIN];
}

static void xpc_set(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, const void *ptr, int bits) {
    uint32_t *f = p->slot;
    f[S_XS] = (uint32_t)(uintptr_t)x;
    f[S_XEND] = (uint32_t)(uintptr_t)(x + (p->n & ~3));
    f[S_W] = (uint32_t)(uintptr_t)w;
    f[S_PTR] = (uint32_t)(uintptr_t)ptr;
    f[S_END] = (uint32_t)(uintptr_t)((const uint32_t *)ptr + rows);
    f[S_BITS] = bits ? 1u << (rows - 1) : 0u; /* the sentinel */
    f[S_REND] = bnn_xpc_tab[13 + bits];
}

void bnn_xpc_counts(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, uint32_t *counts) {
    if (rows <= 0) return;
    if (!p->use_asm) {
        xpc_rows_c(x, w, p->n, rows, counts);
        return;
    }
    xpc_set(p, x, w, rows, counts, 0);
    (void)bnn_xpc_rows_asm(p->slot);
}

uint32_t bnn_xpc_bits(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, const int32_t *th) {
    if (rows <= 0) return 0u;
    if (!p->use_asm) return xpc_bits_c(x, w, p->n, rows, th);
    xpc_set(p, x, w, rows, th, 1);
    return ~bnn_xpc_rows_asm(p->slot) >> (32 - rows);
}

#elif BNN_XPC_MVE

/* Armv8.1-M MVE (Helium, Cortex-M55): the same Harley-Seal on 128-bit vectors, 4 words per
 * instruction, in assembly (GCC 12's register allocation of the intrinsics spills the planes).
 * MVE has VEOR/VAND/VORR on Q registers but no per-byte popcount (no VCNT as in Neon; its
 * VCLZ/VCLS count leading bits): a per-byte popcount is the SWAR steps on 16 byte lanes
 * (13 instructions with the 3 constants), and VADDVA.U8 sums the 16 bytes into a scalar.
 *
 *   - block (32 words = 8 vectors, a low-overhead WLS/LE loop): 16 VLDRW with writeback, 8 VEOR,
 *     7 carry-save adders (5 each) into the ones/twos/fours planes (q0-q2), the per-byte
 *     popcount of the weight-8 vector added to a scalar (VADDVA): 74 instructions, 2.3 per word
 *     (the scalar Thumb-2 assembly: 7 per word);
 *   - the last n % 32 words: a tail-predicated loop (WLSTP.32/LETP: lanes past n load as 0 and
 *     are not summed), per-byte popcount of each x ^ w vector, 16 instructions per 4 words;
 *   - epilogue (only when a block ran): ones + 2 twos + 4 fours per byte (<= 56), one VADDVA.
 * q4-q7 are callee-saved (AAPCS): one VPUSH/VPOP per row. Rows are looped over in C.
 * bnn_xpc_mve_row() is declared in bnn_internal.h (tests/test_popcount.c checks it directly). */

__asm__(
    ".pushsection .text.bnn_xpc_mve_row,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* (h, ones) = ones + (x ^ w)[0] + (x ^ w)[1]; b, u temporaries */
    ".macro XM_LEAF h, b, u\n"
    "  vldrw.u32 \\h, [r0], #16\n"
    "  vldrw.u32 \\b, [r1], #16\n"
    "  veor \\h, \\h, \\b\n"
    "  vldrw.u32 \\b, [r0], #16\n"
    "  vldrw.u32 \\u, [r1], #16\n"
    "  veor \\b, \\b, \\u\n"
    "  veor \\u, q0, \\h\n"
    "  vand \\h, q0, \\h\n"
    "  veor q0, \\u, \\b\n"
    "  vand \\u, \\u, \\b\n"
    "  vorr \\h, \\h, \\u\n"
    ".endm\n"
    /* carry-save adder: (h, l) = l + h + b bitwise (h weight 2); u temporary */
    ".macro XM_CSA h, l, b, u\n"
    "  veor \\u, \\l, \\h\n"
    "  vand \\h, \\l, \\h\n"
    "  veor \\l, \\u, \\b\n"
    "  vand \\u, \\u, \\b\n"
    "  vorr \\h, \\h, \\u\n"
    ".endm\n"
    /* per-byte popcount of x (<= 8 per byte) with constants c55, c33, c0f; t temporary */
    ".macro XM_POP8 x, t, c55, c33, c0f\n"
    "  vshr.u8 \\t, \\x, #1\n"
    "  vand \\t, \\t, \\c55\n"
    "  vsub.i8 \\x, \\x, \\t\n"
    "  vand \\t, \\x, \\c33\n"
    "  vshr.u8 \\x, \\x, #2\n"
    "  vand \\x, \\x, \\c33\n"
    "  vadd.i8 \\x, \\x, \\t\n"
    "  vshr.u8 \\t, \\x, #4\n"
    "  vadd.i8 \\x, \\x, \\t\n"
    "  vand \\x, \\x, \\c0f\n"
    ".endm\n"
    ".global bnn_xpc_mve_row\n"
    ".type bnn_xpc_mve_row, %function\n"
    ".p2align 2\n"
    ".thumb_func\n"
    "bnn_xpc_mve_row:\n"
    "  push {r4, lr}\n"
    "  vpush {d8-d15}\n"
    "  movs r4, #0\n"               /* weight-8 count (VADDVA needs an even register) */
    "  movs r12, #0\n"              /* weight-1 count of the tail */
    "  lsrs r3, r2, #5\n"           /* blocks */
    "  and r2, r2, #31\n"           /* tail words */
    "  vmov.i32 q0, #0\n"
    "  vmov.i32 q1, #0\n"
    "  vmov.i32 q2, #0\n"
    "  wls lr, r3, .Lxm_blk_end\n"
    ".Lxm_blk:\n"
    "  XM_LEAF q3, q4, q5\n"
    "  XM_LEAF q4, q5, q6\n"
    "  XM_CSA q3, q1, q4, q5\n"
    "  XM_LEAF q4, q5, q6\n"
    "  XM_LEAF q5, q6, q7\n"
    "  XM_CSA q4, q1, q5, q6\n"
    "  XM_CSA q3, q2, q4, q5\n"
    "  vmov.i8 q5, #0x55\n"
    "  vmov.i8 q6, #0x33\n"
    "  vmov.i8 q7, #0x0f\n"
    "  XM_POP8 q3, q4, q5, q6, q7\n"
    "  vaddva.u8 r4, q3\n"
    "  le lr, .Lxm_blk\n"
    ".Lxm_blk_end:\n"
    "  vmov.i8 q5, #0x55\n"
    "  vmov.i8 q6, #0x33\n"
    "  vmov.i8 q7, #0x0f\n"
    "  wlstp.32 lr, r2, .Lxm_tail_end\n"
    ".Lxm_tail:\n"
    "  vldrw.u32 q3, [r0], #16\n"
    "  vldrw.u32 q4, [r1], #16\n"
    "  veor q3, q3, q4\n"
    "  XM_POP8 q3, q4, q5, q6, q7\n"
    "  vaddva.u8 r12, q3\n"
    "  letp lr, .Lxm_tail\n"
    ".Lxm_tail_end:\n"
    "  cmp r3, #0\n"
    "  beq .Lxm_done\n"
    "  XM_POP8 q2, q4, q5, q6, q7\n"
    "  XM_POP8 q1, q4, q5, q6, q7\n"
    "  XM_POP8 q0, q4, q5, q6, q7\n"
    "  vshl.i8 q2, q2, #1\n"
    "  vadd.i8 q2, q2, q1\n"
    "  vshl.i8 q2, q2, #1\n"
    "  vadd.i8 q2, q2, q0\n"
    "  vaddva.u8 r12, q2\n"
    ".Lxm_done:\n"
    "  add r0, r12, r4, lsl #3\n"
    "  vpop {d8-d15}\n"
    "  pop {r4, pc}\n"
    ".size bnn_xpc_mve_row, . - bnn_xpc_mve_row\n"
    ".purgem XM_LEAF\n"
    ".purgem XM_CSA\n"
    ".purgem XM_POP8\n"
    ".popsection\n");

/* rows of fewer than BNN_XPC_MVE_MIN words: the C version (the vector row's fixed cost is ~30
 * instructions) */
#ifndef BNN_XPC_MVE_MIN
#define BNN_XPC_MVE_MIN 4
#endif

static uint32_t xpc_mve_row(const uint32_t *x, const uint32_t *w, int32_t n) {
    return n >= BNN_XPC_MVE_MIN ? bnn_xpc_mve_row(x, w, n) : bnn_xor_popcount_short(x, w, n);
}

void bnn_xpc_init(bnn_xpc_t *p, int32_t n) {
    p->n = n;
    p->use_asm = 0;
}

void bnn_xpc_counts(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, uint32_t *counts) {
    const int32_t n = p->n;
    for (int32_t r = 0; r < rows; r++, w += n) counts[r] = xpc_mve_row(x, w, n);
}

uint32_t bnn_xpc_bits(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, const int32_t *th) {
    const int32_t n = p->n;
    uint32_t bits = 0u;
    for (int32_t r = 0; r < rows; r++, w += n) bits |= (uint32_t)((int32_t)xpc_mve_row(x, w, n) > th[r]) << r;
    return bits;
}

#elif BNN_XPC_V6M

/* Armv6-M (Cortex-M0/M0+): the Harley-Seal tree in Thumb-1 assembly, 8 words per block. Thumb-1
 * logic instructions are two-operand and reach only r0-r7, so a carry-save adder is 7
 * instructions (a copy, then EOR/AND/EOR/AND/ORR); two-word LDMs load x and w; the fours plane,
 * the block counter and the weight-8 total live in high registers (MOV to and from them). A
 * block: 4 LDM, 8 EOR, 7 adders, the weight-8 word's SWAR popcount (MULS by 0x01010101), ~92
 * instructions (11.5 per word; the C version compiled for Armv6-M: ~16). The last n % 8 words
 * are counted in C, and so are rows shorter than 16 words. */
uint32_t bnn_xpc_v6m_blocks(const uint32_t *x, const uint32_t *w, uint32_t blocks);

__asm__(
    ".pushsection .text.bnn_xpc_v6m_blocks,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* (h in a, l) = l + a + b bitwise; t temporary */
    ".macro V6_CSA l, a, b, t\n"
    "  movs \\t, \\l\n"
    "  eors \\t, \\a\n"
    "  ands \\a, \\l\n"
    "  movs \\l, \\t\n"
    "  eors \\l, \\b\n"
    "  ands \\t, \\b\n"
    "  orrs \\a, \\t\n"
    ".endm\n"
    /* 4 words of x ^ w into ones (r2) / twos (r3): the weight-4 carry in r5 (r4, r6, r7 used) */
    ".macro V6_LEAF\n"
    "  ldm r0!, {r4, r5}\n"
    "  ldm r1!, {r6, r7}\n"
    "  eors r4, r6\n"
    "  eors r5, r7\n"
    "  V6_CSA r2, r4, r5, r6\n"
    "  mov r12, r4\n"
    "  ldm r0!, {r4, r5}\n"
    "  ldm r1!, {r6, r7}\n"
    "  eors r4, r6\n"
    "  eors r5, r7\n"
    "  V6_CSA r2, r4, r5, r6\n"
    "  mov r5, r12\n"
    "  V6_CSA r3, r5, r4, r6\n"
    ".endm\n"
    /* x = popcount(x); t, c temporaries */
    ".macro V6_POP x, t, c\n"
    "  lsrs \\t, \\x, #1\n"
    "  ldr \\c, =0x55555555\n"
    "  ands \\t, \\c\n"
    "  subs \\x, \\x, \\t\n"
    "  ldr \\c, =0x33333333\n"
    "  lsrs \\t, \\x, #2\n"
    "  ands \\x, \\c\n"
    "  ands \\t, \\c\n"
    "  adds \\x, \\x, \\t\n"
    "  lsrs \\t, \\x, #4\n"
    "  adds \\x, \\x, \\t\n"
    "  ldr \\c, =0x0f0f0f0f\n"
    "  ands \\x, \\c\n"
    "  ldr \\c, =0x01010101\n"
    "  muls \\x, \\c, \\x\n"
    "  lsrs \\x, \\x, #24\n"
    ".endm\n"
    ".global bnn_xpc_v6m_blocks\n"
    ".type bnn_xpc_v6m_blocks, %function\n"
    ".p2align 2\n"
    ".thumb_func\n"
    "bnn_xpc_v6m_blocks:\n"
    "  push {r4, r5, r6, r7, lr}\n"
    "  mov r4, r8\n"
    "  mov r5, r9\n"
    "  mov r6, r10\n"
    "  mov r7, r11\n"
    "  push {r4, r5, r6, r7}\n"
    "  mov r10, r2\n"                /* blocks (>= 1) */
    "  movs r2, #0\n"                /* ones */
    "  movs r3, #0\n"                /* twos */
    "  mov r8, r2\n"                 /* fours */
    "  mov r9, r2\n"                 /* weight-8 total */
    ".Lv6_blk:\n"
    "  V6_LEAF\n"
    "  mov r11, r5\n"
    "  V6_LEAF\n"
    "  mov r4, r11\n"
    "  mov r6, r8\n"
    "  V6_CSA r6, r4, r5, r7\n"
    "  mov r8, r6\n"
    "  V6_POP r4, r6, r7\n"
    "  add r9, r4\n"
    "  mov r4, r10\n"
    "  subs r4, #1\n"
    "  mov r10, r4\n"
    "  bne .Lv6_blk\n"
    /* count = 8 * total8 + 4 * pop(fours) + 2 * pop(twos) + pop(ones) */
    "  V6_POP r2, r6, r7\n"
    "  V6_POP r3, r6, r7\n"
    "  mov r4, r8\n"
    "  V6_POP r4, r6, r7\n"
    "  lsls r3, r3, #1\n"
    "  adds r2, r2, r3\n"
    "  lsls r4, r4, #2\n"
    "  adds r2, r2, r4\n"
    "  mov r0, r9\n"
    "  lsls r0, r0, #3\n"
    "  adds r0, r0, r2\n"
    "  pop {r4, r5, r6, r7}\n"
    "  mov r8, r4\n"
    "  mov r9, r5\n"
    "  mov r10, r6\n"
    "  mov r11, r7\n"
    "  pop {r4, r5, r6, r7, pc}\n"
    ".ltorg\n"
    ".size bnn_xpc_v6m_blocks, . - bnn_xpc_v6m_blocks\n"
    ".purgem V6_CSA\n"
    ".purgem V6_LEAF\n"
    ".purgem V6_POP\n"
    ".syntax divided\n"
    ".popsection\n");

/* rows shorter than BNN_XPC_V6M_MIN words: the C version (the assembly's fixed cost per row, its
 * register saves and plane epilogue, is ~80 instructions; measured on the tiny preset's layers:
 * C is shorter for 8- and 9-word rows, the assembly from 18 words on) */
#ifndef BNN_XPC_V6M_MIN
#define BNN_XPC_V6M_MIN 16
#endif

static uint32_t xpc_v6m_row(const uint32_t *x, const uint32_t *w, int32_t n) {
    if (n < BNN_XPC_V6M_MIN) return n < 16 ? bnn_xor_popcount_short(x, w, n) : bnn_xor_popcount(x, w, n);
    const int32_t m = n & ~7;
    const uint32_t c = m > 0 ? bnn_xpc_v6m_blocks(x, w, (uint32_t)n >> 3) : 0u;
    return c + bnn_xor_popcount_short(x + m, w + m, n - m);
}

void bnn_xpc_init(bnn_xpc_t *p, int32_t n) {
    p->n = n;
    p->use_asm = 0;
}

void bnn_xpc_counts(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, uint32_t *counts) {
    const int32_t n = p->n;
    for (int32_t r = 0; r < rows; r++, w += n) counts[r] = xpc_v6m_row(x, w, n);
}

uint32_t bnn_xpc_bits(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, const int32_t *th) {
    const int32_t n = p->n;
    uint32_t bits = 0u;
    for (int32_t r = 0; r < rows; r++, w += n) bits |= (uint32_t)((int32_t)xpc_v6m_row(x, w, n) > th[r]) << r;
    return bits;
}

#else

void bnn_xpc_init(bnn_xpc_t *p, int32_t n) {
    p->n = n;
    p->use_asm = 0;
}

void bnn_xpc_counts(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, uint32_t *counts) {
    xpc_rows_c(x, w, p->n, rows, counts);
}

uint32_t bnn_xpc_bits(bnn_xpc_t *p, const uint32_t *x, const uint32_t *w, int32_t rows, const int32_t *th) {
    return xpc_bits_c(x, w, p->n, rows, th);
}

#endif

void bnn_xor_popcount_rows(const uint32_t *x, const uint32_t *w, int32_t n, int32_t rows, uint32_t *counts) {
    bnn_xpc_t p;
    bnn_xpc_init(&p, n);
    bnn_xpc_counts(&p, x, w, rows, counts);
}
