/* bnn-edge firmware runtime: BDEPTHWISE2D's table entry (FORMAT.md) -> kernel arguments.
 * in0 BITS [h,w,c], out BITS/INT32 [oh,ow,c]; params kh, kw, stride_h, stride_w, padding;
 * weights u32[kh][kw][words(c)]; thresholds int32[c] with a BITS output, none otherwise. */
#include "bnn_op.h"

bnn_status_t bnn_bdepthwise2d_prepare(const bnn_op_ctx_t *c, bnn_op_args_t *args, size_t *scratch) {
    const bnn_tensor_info_t *in = &c->in0, *out = &c->out;
    const int32_t *p = c->op->params;
    bnn_bdepthwise2d_args_t *a = &args->bdepthwise2d;
    BNN_OP_REQUIRE(c, in->dtype == BNN_DTYPE_BITS && bnn_is_bits_or_int32(out->dtype), BNN_ERR_OP_DTYPE);
    int32_t oh, ow;
    bnn_status_t s = bnn_conv_geometry(in->h, p[0], p[2], 1, p[4], &oh, &a->pad_top);
    BNN_OP_REQUIRE(c, s == BNN_OK, s);
    s = bnn_conv_geometry(in->w, p[1], p[3], 1, p[4], &ow, &a->pad_left);
    BNN_OP_REQUIRE(c, s == BNN_OK, s);
    if (c->check) {
        if (out->h != (uint32_t)oh || out->w != (uint32_t)ow || out->c != in->c) return BNN_ERR_OP_SHAPE;
        const uint64_t taps = (uint64_t)p[0] * (uint64_t)p[1];
        if (taps > 0x7FFFFFFFull) return BNN_ERR_OP_SHAPE;
        if (!bnn_op_weights_ok(c, taps * (uint64_t)bnn_words_u32(in->c) * 4u)) return BNN_ERR_OP_WEIGHTS;
    }
    a->input = (const uint32_t *)c->x0;
    a->in_h = (int32_t)in->h;
    a->in_w = (int32_t)in->w;
    a->c = (int32_t)in->c;
    a->weights = (const uint32_t *)c->weights;
    bnn_op_outputs(c, &a->out_bits, &a->out_int32, &a->thresholds);
    a->out_h = (int32_t)out->h;
    a->out_w = (int32_t)out->w;
    a->kh = p[0];
    a->kw = p[1];
    a->stride_h = p[2];
    a->stride_w = p[3];
    if (c->check) *scratch = bnn_bdepthwise2d_get_buffer_size(a);
    BNN_OP_REQUIRE(c, bnn_op_thresh_ok(c, out->dtype == BNN_DTYPE_BITS ? 4u * (uint64_t)out->c : 0u),
                   BNN_ERR_OP_THRESH);
    return BNN_OK;
}
