/* bnn-edge firmware runtime: .bnnpack loader and validator (converters/FORMAT.md, version 1).
 *
 * Every read is bounds-checked against the buffer length before it happens; all size arithmetic
 * is done in 64 bits so no crafted field can wrap around a check. */
#include <string.h>

#include "bnn/bnn_crc32.h"
#include "bnn/bnn_ops.h"
#include "bnn/bnn_pack.h"
#include "bnn_internal.h"

#define BNN_DIM_LIMIT (1u << 30)

/* ---- header field offsets */
enum {
    H_MAGIC = 0, H_VMAJOR = 4, H_VMINOR = 6, H_HSIZE = 8, H_PSIZE = 12, H_PCRC = 16, H_NT = 20,
    H_NO = 24, H_ARENA = 28, H_SCRATCH = 32, H_IN = 36, H_LATENT = 38, H_OUT = 40, H_META_OFF = 48,
    H_META_LEN = 52, H_HCRC = 60
};

static void decode_tensor(const uint8_t *payload, uint32_t id, bnn_tensor_info_t *t) {
    const uint8_t *e = payload + (size_t)id * BNN_PACK_TENSOR_ENTRY_SIZE;
    t->dtype = (bnn_dtype_t)bnn_rd_u32(e + 0);
    t->h = bnn_rd_u32(e + 4);
    t->w = bnn_rd_u32(e + 8);
    t->c = bnn_rd_u32(e + 12);
    t->arena_offset = bnn_rd_u32(e + 16);
    t->size_bytes = bnn_rd_u32(e + 20);
}

static void decode_op(const uint8_t *payload, uint32_t n_tensors, uint32_t index, bnn_op_info_t *op) {
    const uint8_t *e = payload + (size_t)n_tensors * BNN_PACK_TENSOR_ENTRY_SIZE +
                       (size_t)index * BNN_PACK_OP_ENTRY_SIZE;
    op->type = bnn_rd_u16(e + 0);
    op->flags = bnn_rd_u16(e + 2);
    op->in0 = bnn_rd_u16(e + 4);
    op->in1 = bnn_rd_u16(e + 6);
    op->out = bnn_rd_u16(e + 8);
    for (int i = 0; i < BNN_OP_N_PARAMS; i++) op->params[i] = bnn_rd_i32(e + 12 + 4 * i);
    op->weights_off = bnn_rd_u32(e + 44);
    op->weights_len = bnn_rd_u32(e + 48);
    op->thresh_off = bnn_rd_u32(e + 52);
    op->thresh_len = bnn_rd_u32(e + 56);
}

/* Storage size of a tensor, or UINT64_MAX when it cannot be represented. */
static uint64_t tensor_storage(const bnn_tensor_info_t *t) {
    const uint64_t hw = (uint64_t)t->h * (uint64_t)t->w; /* dims <= 2^30: <= 2^60 */
    if (hw > 0xFFFFFFFFull) return UINT64_MAX;
    switch (t->dtype) {
        case BNN_DTYPE_BITS: return hw * (((uint64_t)t->c + 31u) / 32u) * 4u;
        case BNN_DTYPE_INT32: return hw * (uint64_t)t->c * 4u;
        case BNN_DTYPE_UINT8: return (hw * (uint64_t)t->c + 3u) & ~(uint64_t)3u;
    }
    return UINT64_MAX;
}

static bnn_status_t check_tensor(const bnn_tensor_info_t *t, uint32_t arena_bytes) {
    if ((uint32_t)t->dtype > (uint32_t)BNN_DTYPE_UINT8) return BNN_ERR_TENSOR_DTYPE;
    if (t->h == 0 || t->w == 0 || t->c == 0 || t->h > BNN_DIM_LIMIT || t->w > BNN_DIM_LIMIT ||
        t->c > BNN_DIM_LIMIT)
        return BNN_ERR_TENSOR_SHAPE;
    if (tensor_storage(t) != (uint64_t)t->size_bytes) return BNN_ERR_TENSOR_SIZE;
    if (t->arena_offset % 4u) return BNN_ERR_TENSOR_ALIGN;
    if ((uint64_t)t->arena_offset + t->size_bytes > (uint64_t)arena_bytes) return BNN_ERR_TENSOR_BOUNDS;
    return BNN_OK;
}

/* A payload range [off, off+len) of exactly `expected` bytes, 4-aligned, inside the payload. */
static int range_ok(uint32_t off, uint32_t len, uint64_t expected, uint32_t payload_size) {
    if ((uint64_t)len != expected) return 0;
    if (off % 4u) return 0;
    return (uint64_t)off + len <= (uint64_t)payload_size;
}

static int overlaps(const bnn_tensor_info_t *a, const bnn_tensor_info_t *b) {
    const uint64_t a0 = a->arena_offset, a1 = a0 + a->size_bytes;
    const uint64_t b0 = b->arena_offset, b1 = b0 + b->size_bytes;
    return a0 < b1 && b0 < a1;
}

static int is_bits_or_int32(bnn_dtype_t d) { return d == BNN_DTYPE_BITS || d == BNN_DTYPE_INT32; }

/* Weight rows of `rows` x `row_words` words whose last word must have zero bits past `c`. */
static int weight_tails_zero(const uint8_t *payload, uint32_t off, uint64_t rows, int32_t row_words,
                             int32_t c) {
    const uint32_t tail = bnn_tail_mask(c);
    if (tail == 0xFFFFFFFFu) return 1;
    for (uint64_t r = 0; r < rows; r++) {
        const uint8_t *last = payload + off + (size_t)((r * (uint64_t)row_words + (uint64_t)row_words - 1u) * 4u);
        if (bnn_rd_u32(last) & ~tail) return 0;
    }
    return 1;
}

static int32_t words32(uint32_t c) { return (int32_t)((c + 31u) / 32u); }

/* Validates one op; on success adds its scratch need to *scratch (max). */
static bnn_status_t check_op(const bnn_model_t *m, const bnn_op_info_t *op, uint64_t *scratch) {
    bnn_tensor_info_t in0, in1, out;
    const uint32_t nt = m->n_tensors;
    const int32_t *p = op->params;
    if (op->type < BNN_OP_THERMO_ENCODE || op->type > BNN_OP_CONCAT) return BNN_ERR_OP_TYPE;
    if (op->in0 >= nt || op->out >= nt) return BNN_ERR_OP_TENSOR_ID;
    if (op->type == BNN_OP_CONCAT && op->in1 >= nt) return BNN_ERR_OP_TENSOR_ID;
    decode_tensor(m->payload, op->in0, &in0);
    decode_tensor(m->payload, op->out, &out);
    if (op->type == BNN_OP_CONCAT) decode_tensor(m->payload, op->in1, &in1);

    uint64_t w_expected = 0, t_expected = 0;
    uint64_t need = 0;
    switch ((bnn_op_type_t)op->type) {
        case BNN_OP_THERMO_ENCODE: {
            if (in0.dtype != BNN_DTYPE_UINT8 || out.dtype != BNN_DTYPE_BITS) return BNN_ERR_OP_DTYPE;
            if (p[0] < 1) return BNN_ERR_OP_PARAMS;
            if (out.h != in0.h || out.w != in0.w || (uint64_t)in0.c * (uint64_t)p[0] != out.c)
                return BNN_ERR_OP_SHAPE;
            t_expected = 4u * (uint64_t)p[0];
            if (!range_ok(op->thresh_off, op->thresh_len, t_expected, m->payload_size))
                return BNN_ERR_OP_THRESH;
            int32_t prev = 0;
            for (int32_t l = 0; l < p[0]; l++) {
                const int32_t t = bnn_rd_i32(m->payload + op->thresh_off + 4u * (uint32_t)l);
                if (t < prev || t > 255) return BNN_ERR_OP_THRESH;
                prev = t;
            }
            bnn_thermo_encode_args_t args = {0};
            args.levels = p[0];
            need = bnn_thermo_encode_get_buffer_size(&args);
            break;
        }
        case BNN_OP_BCONV2D: {
            if (in0.dtype != BNN_DTYPE_BITS || !is_bits_or_int32(out.dtype)) return BNN_ERR_OP_DTYPE;
            const int32_t kh = p[0], kw = p[1], sh = p[2], sw = p[3], dh = p[4], dw = p[5];
            const int32_t pad = p[6], groups = p[7];
            if (groups < 1) return BNN_ERR_OP_PARAMS;
            int32_t oh, ow, pt, pl;
            bnn_status_t s = bnn_conv_geometry(in0.h, kh, sh, dh, pad, &oh, &pt);
            if (s != BNN_OK) return s;
            s = bnn_conv_geometry(in0.w, kw, sw, dw, pad, &ow, &pl);
            if (s != BNN_OK) return s;
            if (in0.c % (uint32_t)groups || out.c % (uint32_t)groups) return BNN_ERR_OP_SHAPE;
            const uint32_t cin_g = in0.c / (uint32_t)groups;
            if (groups > 1 && cin_g % 32u) return BNN_ERR_OP_SHAPE;
            if (out.h != (uint32_t)oh || out.w != (uint32_t)ow) return BNN_ERR_OP_SHAPE;
            const uint64_t taps = (uint64_t)kh * (uint64_t)kw;
            if (taps * cin_g > 0x7FFFFFFFull) return BNN_ERR_OP_SHAPE; /* K must fit int32 */
            const uint64_t row_words = taps * (uint64_t)words32(cin_g);
            w_expected = (uint64_t)out.c * row_words * 4u;
            if (!range_ok(op->weights_off, op->weights_len, w_expected, m->payload_size))
                return BNN_ERR_OP_WEIGHTS;
            if (!weight_tails_zero(m->payload, op->weights_off, (uint64_t)out.c * taps,
                                   words32(cin_g), (int32_t)cin_g))
                return BNN_ERR_OP_WEIGHTS;
            bnn_bconv2d_args_t args = {0};
            args.kh = kh;
            args.kw = kw;
            args.in_c = (int32_t)in0.c;
            args.groups = groups;
            need = bnn_bconv2d_get_buffer_size(&args); /* weights fit the payload: no overflow */
            break;
        }
        case BNN_OP_BMAXPOOL2D: {
            if (in0.dtype != BNN_DTYPE_BITS || out.dtype != BNN_DTYPE_BITS) return BNN_ERR_OP_DTYPE;
            if (p[4] != BNN_PADDING_VALID) return BNN_ERR_OP_PARAMS;
            int32_t oh, ow;
            bnn_status_t s = bnn_conv_geometry(in0.h, p[0], p[2], 1, p[4], &oh, 0);
            if (s != BNN_OK) return s;
            s = bnn_conv_geometry(in0.w, p[1], p[3], 1, p[4], &ow, 0);
            if (s != BNN_OK) return s;
            if (out.h != (uint32_t)oh || out.w != (uint32_t)ow || out.c != in0.c) return BNN_ERR_OP_SHAPE;
            break;
        }
        case BNN_OP_BDEPTHWISE2D: {
            if (in0.dtype != BNN_DTYPE_BITS || !is_bits_or_int32(out.dtype)) return BNN_ERR_OP_DTYPE;
            int32_t oh, ow;
            bnn_status_t s = bnn_conv_geometry(in0.h, p[0], p[2], 1, p[4], &oh, 0);
            if (s != BNN_OK) return s;
            s = bnn_conv_geometry(in0.w, p[1], p[3], 1, p[4], &ow, 0);
            if (s != BNN_OK) return s;
            if (out.h != (uint32_t)oh || out.w != (uint32_t)ow || out.c != in0.c) return BNN_ERR_OP_SHAPE;
            const uint64_t taps = (uint64_t)p[0] * (uint64_t)p[1];
            if (taps > 0x7FFFFFFFull) return BNN_ERR_OP_SHAPE;
            w_expected = taps * (uint64_t)words32(in0.c) * 4u;
            if (!range_ok(op->weights_off, op->weights_len, w_expected, m->payload_size))
                return BNN_ERR_OP_WEIGHTS;
            if (out.dtype == BNN_DTYPE_BITS) {
                bnn_bdepthwise2d_args_t args = {0};
                args.kh = p[0];
                args.kw = p[1];
                args.c = (int32_t)in0.c;
                args.out_bits = (uint32_t *)(uintptr_t)4u; /* only tested for non-NULL */
                need = bnn_bdepthwise2d_get_buffer_size(&args);
            }
            break;
        }
        case BNN_OP_BDENSE: {
            if (in0.dtype != BNN_DTYPE_BITS || !is_bits_or_int32(out.dtype)) return BNN_ERR_OP_DTYPE;
            if (p[0] < 1 || p[1] < 1) return BNN_ERR_OP_PARAMS;
            if ((uint64_t)in0.h * in0.w * in0.c != (uint64_t)p[0]) return BNN_ERR_OP_SHAPE;
            if ((uint64_t)in0.h * in0.w != 1u && in0.c % 32u) return BNN_ERR_OP_SHAPE;
            if (out.h != 1u || out.w != 1u || out.c != (uint32_t)p[1]) return BNN_ERR_OP_SHAPE;
            w_expected = (uint64_t)p[1] * (uint64_t)words32((uint32_t)p[0]) * 4u;
            if (!range_ok(op->weights_off, op->weights_len, w_expected, m->payload_size))
                return BNN_ERR_OP_WEIGHTS;
            if (!weight_tails_zero(m->payload, op->weights_off, (uint64_t)p[1], words32((uint32_t)p[0]),
                                   p[0]))
                return BNN_ERR_OP_WEIGHTS;
            break;
        }
        case BNN_OP_CONCAT: {
            if (in0.dtype != BNN_DTYPE_BITS || in1.dtype != BNN_DTYPE_BITS || out.dtype != BNN_DTYPE_BITS)
                return BNN_ERR_OP_DTYPE;
            if (in0.h != in1.h || in0.w != in1.w || out.h != in0.h || out.w != in0.w ||
                (uint64_t)in0.c + in1.c != (uint64_t)out.c)
                return BNN_ERR_OP_SHAPE;
            break;
        }
    }
    if (op->type == BNN_OP_THERMO_ENCODE) {
        if (!range_ok(op->weights_off, op->weights_len, 0, m->payload_size)) return BNN_ERR_OP_WEIGHTS;
    } else if (op->type == BNN_OP_BMAXPOOL2D || op->type == BNN_OP_CONCAT) {
        if (!range_ok(op->weights_off, op->weights_len, 0, m->payload_size)) return BNN_ERR_OP_WEIGHTS;
        if (!range_ok(op->thresh_off, op->thresh_len, 0, m->payload_size)) return BNN_ERR_OP_THRESH;
    } else { /* bconv2d, bdepthwise2d, bdense: thresholds only for bits output */
        t_expected = out.dtype == BNN_DTYPE_BITS ? 4u * (uint64_t)out.c : 0u;
        if (!range_ok(op->thresh_off, op->thresh_len, t_expected, m->payload_size))
            return BNN_ERR_OP_THRESH;
    }
    if (overlaps(&out, &in0)) return BNN_ERR_OP_ALIAS;
    if (op->type == BNN_OP_CONCAT && overlaps(&out, &in1)) return BNN_ERR_OP_ALIAS;
    if (need > *scratch) *scratch = need;
    return BNN_OK;
}

bnn_status_t bnn_model_load(bnn_model_t *m, const void *buf, size_t len) {
    if (!m) return BNN_ERR_NULL_ARG;
    memset(m, 0, sizeof(*m));
    if (!buf) return BNN_ERR_NULL_ARG;
    if ((uintptr_t)buf % 4u) return BNN_ERR_PACK_ALIGN;
    const uint8_t *h = (const uint8_t *)buf;
    if (len < BNN_PACK_HEADER_SIZE) return BNN_ERR_TRUNCATED;
    if (memcmp(h + H_MAGIC, BNN_PACK_MAGIC, 4) != 0) return BNN_ERR_MAGIC;
    if (bnn_rd_u16(h + H_VMAJOR) != BNN_PACK_VERSION_MAJOR) return BNN_ERR_VERSION;
    if (bnn_rd_u32(h + H_HSIZE) != BNN_PACK_HEADER_SIZE) return BNN_ERR_HEADER_SIZE;
    if (bnn_crc32(h, H_HCRC) != bnn_rd_u32(h + H_HCRC)) return BNN_ERR_HEADER_CRC;
    const uint32_t payload_size = bnn_rd_u32(h + H_PSIZE);
    if ((uint64_t)BNN_PACK_HEADER_SIZE + payload_size > (uint64_t)len) return BNN_ERR_TRUNCATED;
    const uint8_t *payload = h + BNN_PACK_HEADER_SIZE;
    if (bnn_crc32(payload, payload_size) != bnn_rd_u32(h + H_PCRC)) return BNN_ERR_PAYLOAD_CRC;

    const uint32_t nt = bnn_rd_u32(h + H_NT), no = bnn_rd_u32(h + H_NO);
    if (nt < 1 || nt > BNN_PACK_MAX_ENTRIES || no < 1 || no > BNN_PACK_MAX_ENTRIES) return BNN_ERR_COUNTS;
    if ((uint64_t)nt * BNN_PACK_TENSOR_ENTRY_SIZE + (uint64_t)no * BNN_PACK_OP_ENTRY_SIZE > payload_size)
        return BNN_ERR_TABLES_BOUNDS;
    const uint32_t meta_off = bnn_rd_u32(h + H_META_OFF), meta_len = bnn_rd_u32(h + H_META_LEN);
    if ((uint64_t)meta_off + meta_len > payload_size) return BNN_ERR_META_BOUNDS;

    bnn_model_t t;
    memset(&t, 0, sizeof(t));
    t.pack = h;
    t.payload = payload;
    t.pack_len = BNN_PACK_HEADER_SIZE + payload_size;
    t.payload_size = payload_size;
    t.n_tensors = nt;
    t.n_ops = no;
    t.arena_bytes = bnn_rd_u32(h + H_ARENA);
    t.version_minor = bnn_rd_u16(h + H_VMINOR);
    t.input_tensor = bnn_rd_u16(h + H_IN);
    t.latent_tensor = bnn_rd_u16(h + H_LATENT);
    t.output_tensor = bnn_rd_u16(h + H_OUT);
    t.meta_off = meta_off;
    t.meta_len = meta_len;
    if (t.input_tensor >= nt || t.output_tensor >= nt ||
        (t.latent_tensor != BNN_TENSOR_NONE && t.latent_tensor >= nt))
        return BNN_ERR_IO_TENSOR;

    for (uint32_t i = 0; i < nt; i++) {
        bnn_tensor_info_t ti;
        decode_tensor(payload, i, &ti);
        bnn_status_t s = check_tensor(&ti, t.arena_bytes);
        if (s != BNN_OK) return s;
    }
    if (t.latent_tensor != BNN_TENSOR_NONE) {
        bnn_tensor_info_t lt;
        decode_tensor(payload, t.latent_tensor, &lt);
        if (lt.dtype != BNN_DTYPE_BITS) return BNN_ERR_IO_TENSOR;
    }

    uint64_t scratch = bnn_rd_u32(h + H_SCRATCH);
    for (uint32_t i = 0; i < no; i++) {
        bnn_op_info_t op;
        decode_op(payload, nt, i, &op);
        bnn_status_t s = check_op(&t, &op, &scratch);
        if (s != BNN_OK) return s;
    }
    const uint64_t arena4 = ((uint64_t)t.arena_bytes + 3u) & ~(uint64_t)3u;
    if (arena4 + scratch > 0xFFFFFFFCull) return BNN_ERR_OP_SHAPE;
    t.scratch_bytes = (uint32_t)((scratch + 3u) & ~(uint64_t)3u);
    t.loaded = BNN_MODEL_LOADED_MARK;
    *m = t;
    return BNN_OK;
}

uint32_t bnn_model_arena_size(const bnn_model_t *m) {
    if (!m || m->loaded != BNN_MODEL_LOADED_MARK) return 0;
    return ((m->arena_bytes + 3u) & ~3u) + m->scratch_bytes;
}

bnn_status_t bnn_model_tensor(const bnn_model_t *m, uint32_t id, bnn_tensor_info_t *info) {
    if (!m || !info) return BNN_ERR_NULL_ARG;
    if (m->loaded != BNN_MODEL_LOADED_MARK) return BNN_ERR_NOT_LOADED;
    if (id >= m->n_tensors) return BNN_ERR_OP_TENSOR_ID;
    decode_tensor(m->payload, id, info);
    return BNN_OK;
}

bnn_status_t bnn_model_op(const bnn_model_t *m, uint32_t index, bnn_op_info_t *info) {
    if (!m || !info) return BNN_ERR_NULL_ARG;
    if (m->loaded != BNN_MODEL_LOADED_MARK) return BNN_ERR_NOT_LOADED;
    if (index >= m->n_ops) return BNN_ERR_OP_TYPE;
    decode_op(m->payload, m->n_tensors, index, info);
    return BNN_OK;
}

const uint8_t *bnn_model_meta(const bnn_model_t *m, uint32_t *len) {
    if (len) *len = 0;
    if (!m || m->loaded != BNN_MODEL_LOADED_MARK || m->meta_len == 0) return 0;
    if (len) *len = m->meta_len;
    return m->payload + m->meta_off;
}
