/* bnn-edge firmware runtime: BCONV2D's table entry (FORMAT.md) -> kernel arguments.
 * in0 BITS [h,w,cin], out BITS/INT32 [oh,ow,cout]; params kh, kw, stride_h, stride_w,
 * dilation_h, dilation_w, padding, groups; weights OHWI words with zero tail bits; thresholds
 * int32[cout] with a BITS output, none otherwise. */
#include "bnn_op.h"

bnn_status_t bnn_bconv2d_prepare(const bnn_op_ctx_t *c, bnn_op_args_t *args, size_t *scratch) {
    const bnn_tensor_info_t *in = &c->in0, *out = &c->out;
    const int32_t *p = c->op->params;
    const int32_t kh = p[0], kw = p[1], sh = p[2], sw = p[3], dh = p[4], dw = p[5];
    const int32_t pad = p[6], groups = p[7];
    bnn_bconv2d_args_t *a = &args->bconv2d;
    BNN_OP_REQUIRE(c, in->dtype == BNN_DTYPE_BITS && bnn_is_bits_or_int32(out->dtype), BNN_ERR_OP_DTYPE);
    BNN_OP_REQUIRE(c, groups >= 1, BNN_ERR_OP_PARAMS);
    int32_t oh, ow;
    bnn_status_t s = bnn_conv_geometry(in->h, kh, sh, dh, pad, &oh, &a->pad_top);
    BNN_OP_REQUIRE(c, s == BNN_OK, s);
    s = bnn_conv_geometry(in->w, kw, sw, dw, pad, &ow, &a->pad_left);
    BNN_OP_REQUIRE(c, s == BNN_OK, s);
    if (c->check) {
        if (in->c % (uint32_t)groups || out->c % (uint32_t)groups) return BNN_ERR_OP_SHAPE;
        const uint32_t cin_g = in->c / (uint32_t)groups;
        if (groups > 1 && cin_g % 32u) return BNN_ERR_OP_SHAPE;
        if (out->h != (uint32_t)oh || out->w != (uint32_t)ow) return BNN_ERR_OP_SHAPE;
        const uint64_t taps = (uint64_t)kh * (uint64_t)kw;
        if (taps * cin_g > 0x7FFFFFFFull) return BNN_ERR_OP_SHAPE; /* K must fit int32 */
        const uint64_t row_words = taps * (uint64_t)bnn_words_u32(cin_g);
        if (!bnn_op_weights_ok(c, (uint64_t)out->c * row_words * 4u)) return BNN_ERR_OP_WEIGHTS;
        if (!bnn_op_weight_tails_zero(c, (uint64_t)out->c * taps, bnn_words_u32(cin_g), (int32_t)cin_g))
            return BNN_ERR_OP_WEIGHTS;
    }
    a->input = (const uint32_t *)c->x0;
    a->in_h = (int32_t)in->h;
    a->in_w = (int32_t)in->w;
    a->in_c = (int32_t)in->c;
    a->weights = (const uint32_t *)c->weights;
    bnn_op_outputs(c, &a->out_bits, &a->out_int32, &a->thresholds);
    a->out_h = (int32_t)out->h;
    a->out_w = (int32_t)out->w;
    a->out_c = (int32_t)out->c;
    a->kh = kh;
    a->kw = kw;
    a->stride_h = sh;
    a->stride_w = sw;
    a->dilation_h = dh;
    a->dilation_w = dw;
    a->groups = groups;
    if (c->check) *scratch = bnn_bconv2d_get_buffer_size(a); /* weights fit the payload: no overflow */
    BNN_OP_REQUIRE(c, bnn_op_thresh_ok(c, out->dtype == BNN_DTYPE_BITS ? 4u * (uint64_t)out->c : 0u),
                   BNN_ERR_OP_THRESH);
    return BNN_OK;
}
