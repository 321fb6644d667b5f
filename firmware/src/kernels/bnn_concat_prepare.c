/* bnn-edge firmware runtime: CONCAT's table entry (FORMAT.md) -> kernel arguments.
 * in0 BITS [h,w,ca], in1 BITS [h,w,cb] (may be in0), out BITS [h,w,ca+cb]; no weights, no
 * thresholds. */
#include "bnn_op.h"

bnn_status_t bnn_concat_prepare(const bnn_op_ctx_t *c, bnn_op_args_t *args, size_t *scratch) {
    const bnn_tensor_info_t *in0 = &c->in0, *in1 = &c->in1, *out = &c->out;
    BNN_OP_REQUIRE(c, in0->dtype == BNN_DTYPE_BITS && in1->dtype == BNN_DTYPE_BITS && out->dtype == BNN_DTYPE_BITS,
                   BNN_ERR_OP_DTYPE);
    BNN_OP_REQUIRE(c, in0->h == in1->h && in0->w == in1->w && out->h == in0->h && out->w == in0->w &&
                          (uint64_t)in0->c + in1->c == (uint64_t)out->c,
                   BNN_ERR_OP_SHAPE);
    bnn_concat_args_t *a = &args->concat;
    a->in0 = (const uint32_t *)c->x0;
    a->in1 = (const uint32_t *)c->x1;
    a->h = (int32_t)in0->h;
    a->w = (int32_t)in0->w;
    a->ca = (int32_t)in0->c;
    a->cb = (int32_t)in1->c;
    a->output = (uint32_t *)c->y;
    if (c->check) *scratch = bnn_concat_get_buffer_size(a);
    BNN_OP_REQUIRE(c, bnn_op_weights_ok(c, 0), BNN_ERR_OP_WEIGHTS);
    BNN_OP_REQUIRE(c, bnn_op_thresh_ok(c, 0), BNN_ERR_OP_THRESH);
    return BNN_OK;
}
