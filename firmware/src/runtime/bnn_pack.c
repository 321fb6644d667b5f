/* bnn-edge firmware runtime: .bnnpack loader and validator (converters/FORMAT.md, version 1).
 *
 * Every read is bounds-checked against the buffer length before it happens; all size arithmetic
 * is done in 64 bits so no crafted field can wrap around a check. */
#include <string.h>

#include "bnn/bnn_crc32.h"
#include "bnn/bnn_ops.h"
#include "bnn/bnn_pack.h"
#include "bnn_internal.h"
#include "bnn_op.h"

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
#error "bnn-edge reads weights in place and needs a little-endian target"
#endif

#define BNN_DIM_LIMIT BNN_PACK_MAX_DIM

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
    if (t->size_bytes > BNN_PACK_MAX_TENSOR_BYTES) return BNN_ERR_TENSOR_SIZE;
    if (t->arena_offset % 4u) return BNN_ERR_TENSOR_ALIGN;
    if ((uint64_t)t->arena_offset + t->size_bytes > (uint64_t)arena_bytes) return BNN_ERR_TENSOR_BOUNDS;
    return BNN_OK;
}

static int overlaps(const bnn_tensor_info_t *a, const bnn_tensor_info_t *b) {
    const uint64_t a0 = a->arena_offset, a1 = a0 + a->size_bytes;
    const uint64_t b0 = b->arena_offset, b1 = b0 + b->size_bytes;
    return a0 < b1 && b0 < a1;
}

int bnn_op_weight_tails_zero(const bnn_op_ctx_t *c, uint64_t rows, int32_t row_words, int32_t c_bits) {
    const uint32_t tail = bnn_tail_mask(c_bits);
    if (tail == 0xFFFFFFFFu) return 1;
    const uint8_t *w = c->payload + c->op->weights_off;
    for (uint64_t r = 0; r < rows; r++) {
        const uint8_t *last = w + (size_t)((r * (uint64_t)row_words + (uint64_t)row_words - 1u) * 4u);
        if (bnn_rd_u32(last) & ~tail) return 0;
    }
    return 1;
}

static const void *payload_at(const bnn_model_t *m, uint32_t off, uint32_t len) {
    return len ? (const void *)(m->payload + off) : 0;
}

void bnn_op_ctx_init(bnn_op_ctx_t *c, const bnn_model_t *m, const bnn_op_info_t *op,
                     const bnn_op_kernel_t *k, uint8_t *arena) {
    memset(c, 0, sizeof(*c));
    c->op = op;
    decode_tensor(m->payload, op->in0, &c->in0);
    decode_tensor(m->payload, op->out, &c->out);
    if (k->inputs > 1) decode_tensor(m->payload, op->in1, &c->in1);
    c->payload = m->payload;
    c->payload_size = m->payload_size;
    c->weights = payload_at(m, op->weights_off, op->weights_len);
    c->thresh = payload_at(m, op->thresh_off, op->thresh_len);
    c->check = arena == 0;
    if (arena) {
        c->x0 = arena + c->in0.arena_offset;
        if (k->inputs > 1) c->x1 = arena + c->in1.arena_offset;
        c->y = arena + c->out.arena_offset;
    }
}

/* 1 when tensor id is the model input or the output of one of the ops before `index`. O(index):
 * no table of written tensors (no RAM proportional to the pack); packs hold few ops. */
static int written_before(const bnn_model_t *m, uint32_t index, uint32_t id) {
    if (id == m->input_tensor) return 1;
    const uint8_t *ops = m->payload + (size_t)m->n_tensors * BNN_PACK_TENSOR_ENTRY_SIZE;
    for (uint32_t j = 0; j < index; j++)
        if (bnn_rd_u16(ops + (size_t)j * BNN_PACK_OP_ENTRY_SIZE + 8) == id) return 1;
    return 0;
}

/* Validates one op (the generic checks here, the op's own in its prepare, src/kernels/); on
 * success raises *scratch to its kernel's scratch need. */
static bnn_status_t check_op(const bnn_model_t *m, uint32_t index, const bnn_op_info_t *op, uint64_t *scratch) {
    const uint32_t nt = m->n_tensors;
    const bnn_op_kernel_t *k = bnn_op_kernel(op->type);
    if (!k) return BNN_ERR_OP_TYPE;
    if (op->in0 >= nt || op->out >= nt) return BNN_ERR_OP_TENSOR_ID;
    if (k->inputs > 1 && op->in1 >= nt) return BNN_ERR_OP_TENSOR_ID;
    if (k->inputs < 2 && op->in1 != BNN_TENSOR_NONE) return BNN_ERR_OP_TENSOR_ID;
    bnn_op_ctx_t c;
    bnn_op_ctx_init(&c, m, op, k, 0);
    bnn_op_args_t args;
    size_t need = 0;
    const bnn_status_t s = k->prepare(&c, &args, &need);
    if (s != BNN_OK) return s;
    if (!written_before(m, index, op->in0)) return BNN_ERR_OP_ORDER;
    if (k->inputs > 1 && !written_before(m, index, op->in1)) return BNN_ERR_OP_ORDER;
    if (overlaps(&c.out, &c.in0)) return BNN_ERR_OP_ALIAS;
    if (k->inputs > 1 && overlaps(&c.out, &c.in1)) return BNN_ERR_OP_ALIAS;
    if ((uint64_t)need > *scratch) *scratch = need;
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
    if (t.arena_bytes > BNN_PACK_MAX_ARENA_BYTES) return BNN_ERR_TENSOR_BOUNDS;
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
        bnn_status_t s = check_op(&t, i, &op, &scratch);
        if (s != BNN_OK) return s;
    }
    /* the output and the latent are what the caller reads: each must be written by an op (or be
     * the input), or bnn_invoke would hand back whatever the arena held */
    if (!written_before(&t, no, t.output_tensor)) return BNN_ERR_IO_TENSOR;
    if (t.latent_tensor != BNN_TENSOR_NONE && !written_before(&t, no, t.latent_tensor)) return BNN_ERR_IO_TENSOR;
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
