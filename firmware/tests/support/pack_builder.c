/* bnn-edge firmware tests: .bnnpack writer. */
#include "pack_builder.h"

#include <string.h>

void pb_init(pack_builder_t *pb) {
    memset(pb, 0, sizeof(*pb));
    pb->latent = BNN_TENSOR_NONE;
    pb->version_major = 1;
}

uint32_t pb_storage(bnn_dtype_t dtype, uint32_t h, uint32_t w, uint32_t c) {
    switch (dtype) {
        case BNN_DTYPE_BITS: return h * w * ((c + 31u) / 32u) * 4u;
        case BNN_DTYPE_INT32: return h * w * c * 4u;
        case BNN_DTYPE_UINT8: return (h * w * c + 3u) & ~3u;
    }
    return 0;
}

uint16_t pb_tensor(pack_builder_t *pb, bnn_dtype_t dtype, uint32_t h, uint32_t w, uint32_t c) {
    if (pb->n_tensors >= PB_MAX_TENSORS) {
        pb->error = 1;
        return 0;
    }
    bnn_tensor_info_t *t = &pb->tensors[pb->n_tensors];
    t->dtype = dtype;
    t->h = h;
    t->w = w;
    t->c = c;
    t->arena_offset = pb->arena_bytes;
    t->size_bytes = pb_storage(dtype, h, w, c);
    pb->arena_bytes += (t->size_bytes + 3u) & ~3u;
    return (uint16_t)pb->n_tensors++;
}

static uint32_t blob_add(pack_builder_t *pb, const void *data, uint32_t len) {
    if (!data || !len) return UINT32_MAX;
    if (pb->blob_len + len > PB_MAX_BLOB) {
        pb->error = 1;
        return UINT32_MAX;
    }
    uint32_t off = pb->blob_len;
    memcpy(pb->blob + off, data, len);
    pb->blob_len = (off + len + 3u) & ~3u;
    return off;
}

uint32_t pb_op(pack_builder_t *pb, bnn_op_type_t type, uint16_t in0, uint16_t in1, uint16_t out,
               const int32_t params[8], const void *weights, uint32_t weights_len,
               const int32_t *thresh, uint32_t thresh_count) {
    if (pb->n_ops >= PB_MAX_OPS) {
        pb->error = 1;
        return 0;
    }
    bnn_op_info_t *op = &pb->ops[pb->n_ops];
    memset(op, 0, sizeof(*op));
    op->type = (uint16_t)type;
    op->in0 = in0;
    op->in1 = in1;
    op->out = out;
    for (int i = 0; i < 8; i++) op->params[i] = params ? params[i] : 0;
    /* blob offsets are relative to the blob here; pb_finish rebases them */
    op->weights_off = blob_add(pb, weights, weights_len);
    op->weights_len = weights ? weights_len : 0u;
    op->thresh_off = blob_add(pb, thresh, thresh_count * 4u);
    op->thresh_len = thresh ? thresh_count * 4u : 0u;
    return pb->n_ops++;
}

uint32_t pb_tensor_entry_off(const pack_builder_t *pb, uint32_t id) {
    (void)pb;
    return PB_HEADER + id * 24u;
}

uint32_t pb_op_entry_off(const pack_builder_t *pb, uint32_t index) {
    return PB_HEADER + pb->n_tensors * 24u + index * 64u;
}

void pb_fix_crcs(uint8_t *pack) {
    uint32_t payload_size = bnn_rd_u32(pack + 12);
    pb_put_u32(pack + 16, bnn_crc32(pack + 64, payload_size));
    pb_put_u32(pack + 60, bnn_crc32(pack, 60));
}

void pb_fix_header_crc(uint8_t *pack) { pb_put_u32(pack + 60, bnn_crc32(pack, 60)); }

uint32_t pb_finish(const pack_builder_t *pb, uint8_t *out, uint32_t cap) {
    if (pb->error) return 0;
    const uint32_t tables = pb->n_tensors * 24u + pb->n_ops * 64u;
    const uint32_t meta_len = pb->meta ? (uint32_t)strlen(pb->meta) : 0u;
    const uint32_t meta_off = meta_len ? tables + pb->blob_len : 0u;
    const uint32_t payload = tables + pb->blob_len + ((meta_len + 3u) & ~3u);
    const uint32_t total = 64u + payload;
    if (total > cap) return 0;
    memset(out, 0, total);
    memcpy(out, "BNNP", 4);
    pb_put_u16(out + 4, pb->version_major);
    pb_put_u16(out + 6, pb->version_minor);
    pb_put_u32(out + 8, 64u);
    pb_put_u32(out + 12, payload);
    pb_put_u32(out + 20, pb->n_tensors);
    pb_put_u32(out + 24, pb->n_ops);
    pb_put_u32(out + 28, pb->arena_bytes);
    pb_put_u32(out + 32, pb->scratch_bytes);
    pb_put_u16(out + 36, pb->input);
    pb_put_u16(out + 38, pb->latent);
    pb_put_u16(out + 40, pb->output);
    pb_put_u32(out + 48, meta_off);
    pb_put_u32(out + 52, meta_len);
    uint8_t *p = out + 64;
    for (uint32_t i = 0; i < pb->n_tensors; i++, p += 24) {
        const bnn_tensor_info_t *t = &pb->tensors[i];
        pb_put_u32(p + 0, (uint32_t)t->dtype);
        pb_put_u32(p + 4, t->h);
        pb_put_u32(p + 8, t->w);
        pb_put_u32(p + 12, t->c);
        pb_put_u32(p + 16, t->arena_offset);
        pb_put_u32(p + 20, t->size_bytes);
    }
    for (uint32_t i = 0; i < pb->n_ops; i++, p += 64) {
        const bnn_op_info_t *op = &pb->ops[i];
        pb_put_u16(p + 0, op->type);
        pb_put_u16(p + 2, op->flags);
        pb_put_u16(p + 4, op->in0);
        pb_put_u16(p + 6, op->in1);
        pb_put_u16(p + 8, op->out);
        for (int k = 0; k < 8; k++) pb_put_u32(p + 12 + 4 * k, (uint32_t)op->params[k]);
        pb_put_u32(p + 44, op->weights_len ? tables + op->weights_off : 0u);
        pb_put_u32(p + 48, op->weights_len);
        pb_put_u32(p + 52, op->thresh_len ? tables + op->thresh_off : 0u);
        pb_put_u32(p + 56, op->thresh_len);
    }
    memcpy(p, pb->blob, pb->blob_len);
    if (meta_len) memcpy(out + 64 + meta_off, pb->meta, meta_len);
    pb_fix_crcs(out);
    return total;
}
