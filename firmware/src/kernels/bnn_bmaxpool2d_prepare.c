/* bnn-edge firmware runtime: BMAXPOOL2D's table entry (FORMAT.md) -> kernel arguments.
 * in0 BITS [h,w,c], out BITS [oh,ow,c]; params kh, kw, stride_h, stride_w, padding (VALID only);
 * no weights, no thresholds. */
#include "bnn_op.h"

bnn_status_t bnn_bmaxpool2d_prepare(const bnn_op_ctx_t *c, bnn_op_args_t *args, size_t *scratch) {
    const bnn_tensor_info_t *in = &c->in0, *out = &c->out;
    const int32_t *p = c->op->params;
    BNN_OP_REQUIRE(c, in->dtype == BNN_DTYPE_BITS && out->dtype == BNN_DTYPE_BITS, BNN_ERR_OP_DTYPE);
    BNN_OP_REQUIRE(c, p[4] == BNN_PADDING_VALID, BNN_ERR_OP_PARAMS);
    if (c->check) {
        int32_t oh, ow;
        bnn_status_t s = bnn_conv_geometry(in->h, p[0], p[2], 1, p[4], &oh, 0);
        if (s != BNN_OK) return s;
        s = bnn_conv_geometry(in->w, p[1], p[3], 1, p[4], &ow, 0);
        if (s != BNN_OK) return s;
        if (out->h != (uint32_t)oh || out->w != (uint32_t)ow || out->c != in->c) return BNN_ERR_OP_SHAPE;
    }
    bnn_bmaxpool2d_args_t *a = &args->bmaxpool2d;
    a->input = (const uint32_t *)c->x0;
    a->in_h = (int32_t)in->h;
    a->in_w = (int32_t)in->w;
    a->c = (int32_t)in->c;
    a->output = (uint32_t *)c->y;
    a->out_h = (int32_t)out->h;
    a->out_w = (int32_t)out->w;
    a->kh = p[0];
    a->kw = p[1];
    a->stride_h = p[2];
    a->stride_w = p[3];
    if (c->check) *scratch = bnn_bmaxpool2d_get_buffer_size(a);
    BNN_OP_REQUIRE(c, bnn_op_weights_ok(c, 0), BNN_ERR_OP_WEIGHTS);
    BNN_OP_REQUIRE(c, bnn_op_thresh_ok(c, 0), BNN_ERR_OP_THRESH);
    return BNN_OK;
}
