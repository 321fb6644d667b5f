/* Loader/validator: a valid pack loads; every single-byte corruption, every truncation, and every
 * listed semantic error is rejected with the right code; no read goes out of bounds (ASan on the
 * host; random structural mutations with fixed CRCs must load or fail cleanly and, if they load,
 * run on both kernel families). */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"
#include "pack_builder.h"
#include "test_models.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_FUZZ 2000
#else
#define N_FUZZ 4000
#endif

#define PACK_WORDS 4096
static pack_builder_t pb;
static uint32_t good_w[PACK_WORDS], work_w[PACK_WORDS + 1];
static uint8_t *const good = (uint8_t *)good_w;
static uint8_t *const work = (uint8_t *)work_w;
static uint32_t good_len;
static uint32_t arena[16384];
static uint32_t fuzz_out[16384];

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bnn_status_t load_work(uint32_t len) {
    bnn_model_t m;
    return bnn_model_load(&m, work, len);
}

static void reset_work(void) { memcpy(work, good, good_len); }

/* Edits a u32/u16 field of the work copy, fixes the CRCs, expects `want`. */
static void expect_u32(uint32_t off, uint32_t v, bnn_status_t want, const char *what) {
    reset_work();
    pb_put_u32(work + off, v);
    pb_fix_crcs(work);
    bnn_status_t s = load_work(good_len);
    CHECK(s == want, "%s: got %s (%d), want %s (%d)", what, bnn_status_str(s), (int)s, bnn_status_str(want),
          (int)want);
}
static void expect_u16(uint32_t off, uint16_t v, bnn_status_t want, const char *what) {
    reset_work();
    pb_put_u16(work + off, v);
    pb_fix_crcs(work);
    bnn_status_t s = load_work(good_len);
    CHECK(s == want, "%s: got %s (%d), want %s (%d)", what, bnn_status_str(s), (int)s, bnn_status_str(want),
          (int)want);
}

#define TENSOR(id, field) (pb_tensor_entry_off(&pb, (id)) + (field))
#define OP(i, field) (pb_op_entry_off(&pb, (i)) + (field))
#define PARAM(k) (12u + 4u * (k))
enum { T_DTYPE = 0, T_H = 4, T_W = 8, T_C = 12, T_OFF = 16, T_SIZE = 20 };
enum { O_TYPE = 0, O_IN0 = 4, O_IN1 = 6, O_OUT = 8, O_WOFF = 44, O_WLEN = 48, O_TOFF = 52, O_TLEN = 56 };

static void test_valid(void) {
    bnn_model_t m;
    bnn_status_t s = bnn_model_load(&m, good, good_len);
    CHECK(s == BNN_OK, "valid pack: %s", bnn_status_str(s));
    CHECK(m.n_tensors == 9u && m.n_ops == 8u, "counts %u %u", (unsigned)m.n_tensors, (unsigned)m.n_ops);
    CHECK(m.input_tensor == 0 && m.latent_tensor == 6 && m.output_tensor == 8, "io ids");
    CHECK(m.arena_bytes == pb.arena_bytes, "arena_bytes");
    /* small receptive fields use the stack: no scratch */
    CHECK(m.scratch_bytes == 0u, "scratch %u", (unsigned)m.scratch_bytes);
    CHECK(bnn_model_arena_size(&m) == ((pb.arena_bytes + 3u) & ~3u), "arena size");
    uint32_t ml = 0;
    const uint8_t *meta = bnn_model_meta(&m, &ml);
    CHECK(meta && ml == strlen(pb.meta) && memcmp(meta, pb.meta, ml) == 0, "meta");
    bnn_tensor_info_t ti;
    CHECK(bnn_model_tensor(&m, 8, &ti) == BNN_OK && ti.dtype == BNN_DTYPE_INT32 && ti.c == 10u, "tensor 8");
    CHECK(bnn_model_tensor(&m, 9, &ti) != BNN_OK, "tensor id out of range");
    bnn_op_info_t op;
    CHECK(bnn_model_op(&m, 6, &op) == BNN_OK && op.type == BNN_OP_CONCAT && op.in0 == 6 && op.in1 == 6,
          "op 6");
    CHECK(bnn_model_op(&m, 8, &op) != BNN_OK, "op index out of range");
    /* trailing bytes after the pack are ignored */
    reset_work();
    memset(work + good_len, 0xEE, 4);
    CHECK(load_work(good_len + 4u) == BNN_OK, "trailing bytes");
    /* minor version bump is accepted; header scratch larger than needed is honoured */
    expect_u16(6, 7, BNN_OK, "version_minor 7");
    reset_work();
    pb_put_u32(work + 32, 5000u);
    pb_fix_crcs(work);
    CHECK(bnn_model_load(&m, work, good_len) == BNN_OK && m.scratch_bytes == 5000u, "header scratch");
    /* no latent */
    expect_u16(38, 0xFFFF, BNN_OK, "latent none");
}

static void test_flips(void) {
    static const uint8_t masks[] = {0x01, 0x80, 0xFF};
    int all = 1;
    uint32_t n = 0;
    for (size_t k = 0; k < sizeof(masks); k++) {
#ifdef BNN_TARGET_CORTEX_M
        if (k == 2) break;
#endif
        for (uint32_t i = 0; i < good_len; i++) {
            work[i] = good[i] ^ masks[k];
            bnn_status_t s = load_work(good_len);
            work[i] = good[i];
            n++;
            CHECK(s != BNN_OK, "flip of byte %u by 0x%02x accepted", (unsigned)i, (unsigned)masks[k]);
            if (s == BNN_OK) all = 0;
        }
    }
    reset_work();
    CHECK(all, "every byte flip rejected (%u flips)", (unsigned)n);
}

static void test_truncations(void) {
    reset_work();
    int ok = 1;
    for (uint32_t len = 0; len < good_len; len++) {
        bnn_status_t s = load_work(len);
        CHECK(s == BNN_ERR_TRUNCATED, "truncation to %u: %s", (unsigned)len, bnn_status_str(s));
        if (s != BNN_ERR_TRUNCATED) ok = 0;
    }
    CHECK(ok, "every truncation rejected as truncated");
}

static void test_header(void) {
    bnn_model_t m;
    CHECK(bnn_model_load(NULL, good, good_len) == BNN_ERR_NULL_ARG, "null model");
    CHECK(bnn_model_load(&m, NULL, good_len) == BNN_ERR_NULL_ARG, "null buffer");
    CHECK(m.loaded == 0u && bnn_model_arena_size(&m) == 0u, "failed load leaves model unloaded");
    memcpy((uint8_t *)work_w + 1, good, good_len);
    CHECK(bnn_model_load(&m, (uint8_t *)work_w + 1, good_len) == BNN_ERR_PACK_ALIGN, "unaligned pack");
    reset_work();
    work[0] = 'X';
    CHECK(load_work(good_len) == BNN_ERR_MAGIC, "magic");
    expect_u16(4, 2, BNN_ERR_VERSION, "version_major 2");
    expect_u16(4, 0, BNN_ERR_VERSION, "version_major 0");
    expect_u32(8, 32, BNN_ERR_HEADER_SIZE, "header_size");
    reset_work();
    work[60] ^= 1;
    CHECK(load_work(good_len) == BNN_ERR_HEADER_CRC, "header crc");
    reset_work();
    work[good_len - 1] ^= 1;
    CHECK(load_work(good_len) == BNN_ERR_PAYLOAD_CRC, "payload crc");
    static const uint32_t psizes[] = {0, 4, 100, 0x7FFFFFFFu};
    for (size_t i = 0; i < 2 + sizeof(psizes) / sizeof(psizes[0]); i++) {
        reset_work();
        uint32_t v = i == 0 ? good_len - 64u + 4u : i == 1 ? 0xFFFFFFF0u : psizes[i - 2];
        pb_put_u32(work + 12, v);
        pb_fix_header_crc(work); /* payload CRC left alone: only the size is wrong */
        bnn_status_t s = load_work(good_len);
        bnn_status_t want = v > good_len - 64u ? BNN_ERR_TRUNCATED : BNN_ERR_PAYLOAD_CRC;
        CHECK(s == want, "payload_size %u: %s", (unsigned)v, bnn_status_str(s));
    }
    expect_u32(20, 0, BNN_ERR_COUNTS, "n_tensors 0");
    expect_u32(20, 65535, BNN_ERR_COUNTS, "n_tensors 65535");
    expect_u32(24, 0, BNN_ERR_COUNTS, "n_ops 0");
    expect_u32(24, 0x10000000u, BNN_ERR_COUNTS, "n_ops huge");
    expect_u32(24, 65534, BNN_ERR_TABLES_BOUNDS, "op table past payload");
    expect_u32(20, 65534, BNN_ERR_TABLES_BOUNDS, "tensor table past payload");
    const uint32_t psize = good_len - 64u;
    reset_work();
    pb_put_u32(work + 48, psize);
    pb_put_u32(work + 52, 0u);
    pb_fix_crcs(work);
    CHECK(load_work(good_len) == BNN_OK, "meta at the very end with length 0");
    reset_work();
    pb_put_u32(work + 48, psize - 4u);
    pb_put_u32(work + 52, 8u);
    pb_fix_crcs(work);
    CHECK(load_work(good_len) == BNN_ERR_META_BOUNDS, "meta past payload");
    reset_work();
    pb_put_u32(work + 48, 0xFFFFFFFCu);
    pb_put_u32(work + 52, 8u);
    pb_fix_crcs(work);
    CHECK(load_work(good_len) == BNN_ERR_META_BOUNDS, "meta offset wraps");
    expect_u16(36, 9, BNN_ERR_IO_TENSOR, "input id");
    expect_u16(40, 0xFFFF, BNN_ERR_IO_TENSOR, "output id");
    expect_u16(38, 9, BNN_ERR_IO_TENSOR, "latent id");
    expect_u16(38, 8, BNN_ERR_IO_TENSOR, "latent not BITS");
    expect_u32(28, pb.arena_bytes - 4u, BNN_ERR_TENSOR_BOUNDS, "arena_bytes too small for tensors");
}

static void test_tensors(void) {
    expect_u32(TENSOR(3, T_DTYPE), 3, BNN_ERR_TENSOR_DTYPE, "dtype 3");
    expect_u32(TENSOR(3, T_H), 0, BNN_ERR_TENSOR_SHAPE, "h 0");
    expect_u32(TENSOR(3, T_C), 0, BNN_ERR_TENSOR_SHAPE, "c 0");
    expect_u32(TENSOR(3, T_W), 0x80000000u, BNN_ERR_TENSOR_SHAPE, "w huge");
    expect_u32(TENSOR(3, T_SIZE), pb.tensors[3].size_bytes + 4u, BNN_ERR_TENSOR_SIZE, "size +4");
    expect_u32(TENSOR(0, T_SIZE), 76u, BNN_ERR_TENSOR_SIZE, "uint8 size");
    expect_u32(TENSOR(0, T_C), 3u, BNN_ERR_TENSOR_SIZE, "uint8 shape vs size");
    expect_u32(TENSOR(3, T_OFF), pb.tensors[3].arena_offset + 2u, BNN_ERR_TENSOR_ALIGN, "offset %4");
    expect_u32(TENSOR(8, T_OFF), pb.arena_bytes, BNN_ERR_TENSOR_BOUNDS, "offset past arena");
    expect_u32(TENSOR(8, T_OFF), 0xFFFFFFFCu, BNN_ERR_TENSOR_BOUNDS, "offset wraps");
    /* h*w*words*4 that wraps 32 bits must not match a small size_bytes */
    reset_work();
    pb_put_u32(work + TENSOR(3, T_H), 65536u);
    pb_put_u32(work + TENSOR(3, T_W), 65536u);
    pb_put_u32(work + TENSOR(3, T_C), 32u);
    pb_put_u32(work + TENSOR(3, T_SIZE), 0u);
    pb_fix_crcs(work);
    CHECK(load_work(good_len) == BNN_ERR_TENSOR_SIZE, "size wrap");
}

static void test_ops(void) {
    expect_u16(OP(0, O_TYPE), 0, BNN_ERR_OP_TYPE, "op type 0");
    expect_u16(OP(0, O_TYPE), 7, BNN_ERR_OP_TYPE, "op type 7");
    expect_u16(OP(1, O_IN0), 9, BNN_ERR_OP_TENSOR_ID, "in0 id");
    expect_u16(OP(1, O_OUT), 0xFFFF, BNN_ERR_OP_TENSOR_ID, "out id");
    expect_u16(OP(6, O_IN1), 0xFFFF, BNN_ERR_OP_TENSOR_ID, "concat in1 missing");
    expect_u16(OP(1, O_IN1), 3, BNN_ERR_OP_TENSOR_ID, "in1 must be 0xFFFF for single-input ops (FORMAT.md rule 5)");
    /* dtypes */
    expect_u16(OP(0, O_IN0), 1, BNN_ERR_OP_DTYPE, "thermo in BITS");
    expect_u16(OP(1, O_IN0), 0, BNN_ERR_OP_DTYPE, "bconv in UINT8");
    expect_u16(OP(2, O_OUT), 8, BNN_ERR_OP_DTYPE, "maxpool out INT32");
    expect_u16(OP(6, O_IN1), 8, BNN_ERR_OP_DTYPE, "concat in1 INT32");
    /* bconv (op 1, 3x3 SAME on [6,6,8] -> [6,6,40]) */
    expect_u32(OP(1, PARAM(0)), 0, BNN_ERR_OP_PARAMS, "kh 0");
    expect_u32(OP(1, PARAM(2)), 0, BNN_ERR_OP_PARAMS, "stride 0");
    expect_u32(OP(1, PARAM(4)), (uint32_t)-1, BNN_ERR_OP_PARAMS, "dilation -1");
    expect_u32(OP(1, PARAM(6)), 2, BNN_ERR_OP_PARAMS, "padding 2");
    expect_u32(OP(1, PARAM(7)), 0, BNN_ERR_OP_PARAMS, "groups 0");
    expect_u32(OP(1, PARAM(7)), 2, BNN_ERR_OP_SHAPE, "groups 2 with cin_g 4");
    expect_u32(OP(1, PARAM(2)), 2, BNN_ERR_OP_SHAPE, "stride 2 -> out shape mismatch");
    expect_u32(OP(1, PARAM(6)), 1, BNN_ERR_OP_SHAPE, "VALID -> out shape mismatch");
    expect_u32(OP(1, PARAM(0)), 0x40000001, BNN_ERR_OP_SHAPE, "kh huge");
    expect_u32(OP(4, PARAM(0)), 5, BNN_ERR_OP_SHAPE, "VALID window larger than input");
    const bnn_op_info_t *o1 = &pb.ops[1];
    expect_u32(OP(1, O_WLEN), o1->weights_len - 4u, BNN_ERR_OP_WEIGHTS, "weights short");
    expect_u32(OP(1, O_WLEN), o1->weights_len + 4u, BNN_ERR_OP_WEIGHTS, "weights long");
    expect_u32(OP(1, O_WOFF), rd32(good + OP(1, O_WOFF)) + 2u, BNN_ERR_OP_WEIGHTS, "weights unaligned");
    expect_u32(OP(1, O_WOFF), good_len - 64u - 4u, BNN_ERR_OP_WEIGHTS, "weights past payload");
    expect_u32(OP(1, O_WOFF), 0xFFFFFFFCu, BNN_ERR_OP_WEIGHTS, "weights offset wraps");
    expect_u32(OP(1, O_TLEN), 4u * 39u, BNN_ERR_OP_THRESH, "thresholds short");
    expect_u32(OP(1, O_TOFF), good_len - 64u - 8u, BNN_ERR_OP_THRESH, "thresholds past payload");
    expect_u32(OP(7, O_TLEN), 40u, BNN_ERR_OP_THRESH, "int32 out with thresholds");
    expect_u32(OP(2, O_WLEN), 4u, BNN_ERR_OP_WEIGHTS, "maxpool with weights");
    /* weight tail bits: bconv op 1 has cin 8 -> 24 tail bits per word */
    reset_work();
    {
        uint32_t woff = 64u + rd32(good + OP(1, O_WOFF));
        work[woff + 3] |= 0x80;
        pb_fix_crcs(work);
        CHECK(load_work(good_len) == BNN_ERR_OP_WEIGHTS, "bconv weight tail bit");
        reset_work();
        woff = 64u + rd32(good + OP(7, O_WOFF)); /* dense cin 64: no tail -> any bit fine */
        work[woff + 7] ^= 0x80;
        pb_fix_crcs(work);
        CHECK(load_work(good_len) == BNN_OK, "dense full word weights");
        reset_work();
        woff = 64u + rd32(good + OP(3, O_WOFF)); /* depthwise c 40: tail bits must be 0 (rule 5) */
        work[woff + 7] |= 0x80;
        pb_fix_crcs(work);
        CHECK(load_work(good_len) == BNN_ERR_OP_WEIGHTS, "depthwise weight tail bit");
    }
    /* thermometer thresholds */
    reset_work();
    {
        uint32_t toff = 64u + rd32(good + OP(0, O_TOFF));
        pb_put_u32(work + toff, 300u);
        pb_fix_crcs(work);
        CHECK(load_work(good_len) == BNN_ERR_OP_THRESH, "thermo threshold > 255");
        reset_work();
        pb_put_u32(work + toff + 4u, 0u); /* t[1] = 0 < t[0] */
        pb_fix_crcs(work);
        CHECK(load_work(good_len) == BNN_ERR_OP_THRESH, "thermo thresholds decreasing");
        reset_work();
        pb_put_u32(work + toff, (uint32_t)-1);
        pb_fix_crcs(work);
        CHECK(load_work(good_len) == BNN_ERR_OP_THRESH, "thermo threshold negative");
    }
    expect_u32(OP(0, PARAM(0)), 0, BNN_ERR_OP_PARAMS, "thermo L 0");
    expect_u32(OP(0, PARAM(0)), 5, BNN_ERR_OP_SHAPE, "thermo L mismatch");
    /* maxpool */
    expect_u32(OP(2, PARAM(4)), 0, BNN_ERR_OP_PARAMS, "maxpool SAME unsupported");
    expect_u32(OP(2, PARAM(2)), 1, BNN_ERR_OP_SHAPE, "maxpool stride mismatch");
    /* depthwise */
    expect_u32(OP(3, PARAM(4)), 1, BNN_ERR_OP_SHAPE, "depthwise VALID mismatch");
    expect_u32(OP(3, PARAM(1)), 0, BNN_ERR_OP_PARAMS, "depthwise kw 0");
    /* dense */
    expect_u32(OP(5, PARAM(0)), 15, BNN_ERR_OP_SHAPE, "dense cin mismatch");
    expect_u32(OP(5, PARAM(1)), 31, BNN_ERR_OP_SHAPE, "dense cout mismatch");
    expect_u32(OP(5, PARAM(0)), 0, BNN_ERR_OP_PARAMS, "dense cin 0");
    expect_u16(OP(5, O_IN0), 4, BNN_ERR_OP_SHAPE, "dense on [3,3,40] (c %% 32 != 0)");
    /* concat */
    expect_u16(OP(6, O_IN1), 5, BNN_ERR_OP_SHAPE, "concat channel sum mismatch");
    expect_u16(OP(6, O_IN1), 4, BNN_ERR_OP_SHAPE, "concat spatial mismatch");
    /* aliasing: output placed on its input */
    expect_u32(TENSOR(2, T_OFF), pb.tensors[1].arena_offset, BNN_ERR_OP_ALIAS, "out overlaps in0");
    expect_u32(TENSOR(7, T_OFF), pb.tensors[6].arena_offset, BNN_ERR_OP_ALIAS, "concat out overlaps in");
}

static void test_grouped(void) {
    static pack_builder_t g;
    tm_build_grouped(&g, 99);
    static uint32_t buf[4096];
    uint32_t len = pb_finish(&g, (uint8_t *)buf, sizeof(buf));
    bnn_model_t m;
    CHECK(len && bnn_model_load(&m, buf, len) == BNN_OK, "grouped model loads");
    uint8_t *p = (uint8_t *)buf;
    pb_put_u32(p + pb_op_entry_off(&g, 0) + PARAM(7), 3);
    pb_fix_crcs(p);
    CHECK(bnn_model_load(&m, buf, len) == BNN_ERR_OP_SHAPE, "groups 3 does not divide 64");
    pb_put_u32(p + pb_op_entry_off(&g, 0) + PARAM(7), 4); /* cin_g 16: not a multiple of 32 */
    pb_fix_crcs(p);
    CHECK(bnn_model_load(&m, buf, len) == BNN_ERR_OP_SHAPE, "groups 4 -> cin_g 16");
}

/* A conv whose receptive field (125 words) exceeds the 96-word stack patch needs no scratch either:
 * the optimized kernel works in slices; the arena is exact (a canary right after it). */
static void test_scratch(void) {
    static pack_builder_t sp;
    static uint32_t buf[8192], w[25 * 5 * 8];
    static uint32_t sarena[2048];
    bnn_rng_t r;
    bnn_rng_seed(&r, 5);
    pb_init(&sp);
    uint16_t x = pb_tensor(&sp, BNN_DTYPE_BITS, 5, 5, 160);
    uint16_t y = pb_tensor(&sp, BNN_DTYPE_INT32, 5, 5, 8);
    const int32_t p[8] = {5, 5, 1, 1, 1, 1, BNN_PADDING_SAME, 1};
    bnn_test_fill_bits(&r, w, 8 * 25, 160, 128);
    pb_op(&sp, BNN_OP_BCONV2D, x, BNN_TENSOR_NONE, y, p, w, sizeof(w), NULL, 0);
    sp.input = x;
    sp.output = y;
    uint32_t len = pb_finish(&sp, (uint8_t *)buf, sizeof(buf));
    bnn_model_t m;
    CHECK(bnn_model_load(&m, buf, len) == BNN_OK, "scratch model loads");
    CHECK(m.scratch_bytes == 0u, "bconv 5x5x160 scratch %u", (unsigned)m.scratch_bytes);
    const uint32_t need = bnn_model_arena_size(&m);
    CHECK(need == ((sp.arena_bytes + 3u) & ~3u), "arena, no scratch");
    bnn_interpreter_t it;
    CHECK(bnn_interpreter_init(&it, &m, sarena, need - 4u) == BNN_ERR_ARENA_TOO_SMALL, "arena counted");
    CHECK(bnn_interpreter_init(&it, &m, sarena, need) == BNN_OK && it.scratch_size == 0u, "scratch size");
    bnn_test_canary_fill(sarena + need / 4u, 16);
    static uint32_t in[25 * 5], out_opt[200];
    bnn_test_fill_bits(&r, in, 25, 160, 128);
    bnn_set_input(&it, in, sizeof(in));
    bnn_invoke(&it);
    memcpy(out_opt, bnn_output_ptr(&it, NULL), sizeof(out_opt));
    bnn_interpreter_set_kernels(&it, BNN_KERNELS_REFERENCE);
    memset(sarena, 0x77, need);
    bnn_set_input(&it, in, sizeof(in));
    bnn_invoke(&it);
    CHECK(memcmp(out_opt, bnn_output_ptr(&it, NULL), sizeof(out_opt)) == 0, "sliced conv ref == opt");
    CHECK(bnn_test_canary_ok(sarena + need / 4u, 16), "arena overrun");
}

static void test_arena(void) {
    bnn_model_t m;
    CHECK(bnn_model_load(&m, good, good_len) == BNN_OK, "load");
    const uint32_t need = bnn_model_arena_size(&m);
    bnn_interpreter_t it;
    CHECK(bnn_interpreter_init(&it, &m, arena, need - 1u) == BNN_ERR_ARENA_TOO_SMALL, "arena need-1");
    CHECK(bnn_interpreter_init(&it, &m, arena, 0) == BNN_ERR_ARENA_TOO_SMALL, "arena 0");
    CHECK(bnn_interpreter_init(&it, &m, (uint8_t *)arena + 2, need) == BNN_ERR_ARENA_ALIGN, "arena align");
    CHECK(bnn_interpreter_init(&it, &m, NULL, need) == BNN_ERR_NULL_ARG, "arena NULL");
    CHECK(bnn_invoke(&it) == BNN_ERR_NOT_LOADED, "invoke after failed init");
    bnn_model_t bad;
    memset(&bad, 0, sizeof(bad));
    CHECK(bnn_interpreter_init(&it, &bad, arena, sizeof(arena)) == BNN_ERR_NOT_LOADED, "unloaded model");
    CHECK(bnn_interpreter_init(&it, &m, arena, need) == BNN_OK, "arena exact");
    CHECK(bnn_invoke(NULL) == BNN_ERR_NULL_ARG, "invoke NULL");
}

static void test_status_strings(void) {
    int ok = 1;
    for (int i = 0; i < (int)BNN_STATUS_COUNT; i++) {
        const char *s = bnn_status_str((bnn_status_t)i);
        if (!s || !*s || strcmp(s, "unknown status") == 0) ok = 0;
        for (int j = 0; j < i; j++)
            if (strcmp(s, bnn_status_str((bnn_status_t)j)) == 0) ok = 0;
    }
    CHECK(ok, "every status has its own string");
    CHECK(strcmp(bnn_status_str((bnn_status_t)999), "unknown status") == 0, "unknown status");
}

/* Random structural mutations with valid CRCs: load must not crash; if it loads, run it. */
static void test_fuzz(void) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 0xF022u);
    int loaded = 0;
    const uint32_t tables_end = 64u + pb.n_tensors * 24u + pb.n_ops * 64u;
    for (int i = 0; i < N_FUZZ; i++) {
        reset_work();
        int edits = bnn_rng_range(&r, 1, 4);
        for (int e = 0; e < edits; e++) {
            uint32_t pos = (uint32_t)bnn_rng_range(&r, 20, (int32_t)tables_end - 1);
            if (pos >= 56 && pos < 64) continue;
            switch (bnn_rng_u32(&r) % 4u) {
                case 0: work[pos] ^= (uint8_t)(1u << (bnn_rng_u32(&r) % 8u)); break;
                case 1: work[pos] = (uint8_t)bnn_rng_u32(&r); break;
                case 2: work[pos] = (uint8_t)(work[pos] + (bnn_rng_u32(&r) % 2u ? 1 : 0xFF)); break;
                default: pb_put_u32(work + (pos & ~3u), bnn_rng_u32(&r) % 2u ? 0u : 0xFFFFFFFFu); break;
            }
        }
        pb_fix_crcs(work);
        bnn_model_t m;
        if (bnn_model_load(&m, work, good_len) != BNN_OK) continue;
        loaded++;
        if (bnn_model_arena_size(&m) > sizeof(arena)) continue;
        bnn_interpreter_t it;
        if (bnn_interpreter_init(&it, &m, arena, sizeof(arena)) != BNN_OK) continue;
        /* a pack that validates runs identically on both kernel families */
        memset(arena, 0x3C, sizeof(arena));
        CHECK(bnn_invoke(&it) == BNN_OK, "fuzz invoke");
        memcpy(fuzz_out, arena, sizeof(arena));
        memset(arena, 0x3C, sizeof(arena));
        bnn_interpreter_set_kernels(&it, BNN_KERNELS_REFERENCE);
        CHECK(bnn_invoke(&it) == BNN_OK, "fuzz invoke ref");
        CHECK(memcmp(fuzz_out, arena, bnn_model_arena_size(&m) - m.scratch_bytes) == 0,
              "fuzz mutant %d: reference and optimized arenas differ", (int)i);
    }
    printf("fuzz: %d mutants, %d loaded and ran\n", (int)N_FUZZ, (int)loaded);
}

int main(void) {
    tm_build_all_ops(&pb, 7);
    good_len = pb_finish(&pb, good, sizeof(good_w));
    CHECK(good_len > 0u, "pack built");
    printf("test pack: %u bytes, %u tensors, %u ops\n", (unsigned)good_len, (unsigned)pb.n_tensors, (unsigned)pb.n_ops);
    test_valid();
    test_header();
    test_tensors();
    test_ops();
    test_grouped();
    test_arena();
    test_scratch();
    test_status_strings();
    test_truncations();
    test_flips();
    test_fuzz();
    return bnn_test_summary();
}
