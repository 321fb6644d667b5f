/* bnn-edge firmware runtime: BDENSE's table entry (FORMAT.md) -> kernel arguments.
 * in0 BITS of params[0] = cin channels ([1,1,cin], or [h,w,c] with c % 32 == 0), out BITS/INT32
 * [1,1,cout = params[1]]; weights u32[cout][words(cin)] with zero tail bits; thresholds
 * int32[cout] with a BITS output, none otherwise. */
#include "bnn_op.h"

bnn_status_t bnn_bdense_prepare(const bnn_op_ctx_t *c, bnn_op_args_t *args, size_t *scratch) {
    const bnn_tensor_info_t *in = &c->in0, *out = &c->out;
    const int32_t cin = c->op->params[0], cout = c->op->params[1];
    BNN_OP_REQUIRE(c, in->dtype == BNN_DTYPE_BITS && bnn_is_bits_or_int32(out->dtype), BNN_ERR_OP_DTYPE);
    BNN_OP_REQUIRE(c, cin >= 1 && cout >= 1, BNN_ERR_OP_PARAMS);
    if (c->check) {
        if ((uint64_t)in->h * in->w * in->c != (uint64_t)cin) return BNN_ERR_OP_SHAPE;
        if ((uint64_t)in->h * in->w != 1u && in->c % 32u) return BNN_ERR_OP_SHAPE;
        if (out->h != 1u || out->w != 1u || out->c != (uint32_t)cout) return BNN_ERR_OP_SHAPE;
        const int32_t row_words = bnn_words_u32((uint32_t)cin);
        if (!bnn_op_weights_ok(c, (uint64_t)cout * (uint64_t)row_words * 4u)) return BNN_ERR_OP_WEIGHTS;
        if (!bnn_op_weight_tails_zero(c, (uint64_t)cout, row_words, cin)) return BNN_ERR_OP_WEIGHTS;
    }
    bnn_bdense_args_t *a = &args->bdense;
    a->input = (const uint32_t *)c->x0;
    a->cin = cin;
    a->weights = (const uint32_t *)c->weights;
    bnn_op_outputs(c, &a->out_bits, &a->out_int32, &a->thresholds);
    a->cout = cout;
    if (c->check) *scratch = bnn_bdense_get_buffer_size(a);
    BNN_OP_REQUIRE(c, bnn_op_thresh_ok(c, out->dtype == BNN_DTYPE_BITS ? 4u * (uint64_t)out->c : 0u),
                   BNN_ERR_OP_THRESH);
    return BNN_OK;
}
