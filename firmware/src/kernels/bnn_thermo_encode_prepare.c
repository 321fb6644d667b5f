/* bnn-edge firmware runtime: THERMO_ENCODE's table entry (FORMAT.md) -> kernel arguments.
 * in0 UINT8 [h,w,c], out BITS [h,w,c*L], params[0] = L >= 1, thresholds int32[L] u8-valued and
 * non-decreasing, no weights. */
#include "bnn_internal.h"
#include "bnn_op.h"

bnn_status_t bnn_thermo_encode_prepare(const bnn_op_ctx_t *c, bnn_op_args_t *args, size_t *scratch) {
    const bnn_tensor_info_t *in = &c->in0, *out = &c->out;
    const int32_t levels = c->op->params[0];
    BNN_OP_REQUIRE(c, in->dtype == BNN_DTYPE_UINT8 && out->dtype == BNN_DTYPE_BITS, BNN_ERR_OP_DTYPE);
    BNN_OP_REQUIRE(c, levels >= 1, BNN_ERR_OP_PARAMS);
    BNN_OP_REQUIRE(c, out->h == in->h && out->w == in->w && (uint64_t)in->c * (uint64_t)levels == out->c,
                   BNN_ERR_OP_SHAPE);
    BNN_OP_REQUIRE(c, bnn_op_thresh_ok(c, 4u * (uint64_t)levels), BNN_ERR_OP_THRESH);
    if (c->check) {
        int32_t prev = 0;
        for (int32_t l = 0; l < levels; l++) {
            const int32_t t = bnn_rd_i32(c->payload + c->op->thresh_off + 4u * (uint32_t)l);
            if (t < prev || t > 255) return BNN_ERR_OP_THRESH;
            prev = t;
        }
    }
    bnn_thermo_encode_args_t *a = &args->thermo_encode;
    a->input = (const uint8_t *)c->x0;
    a->h = (int32_t)in->h;
    a->w = (int32_t)in->w;
    a->c = (int32_t)in->c;
    a->thresholds = (const int32_t *)c->thresh;
    a->levels = levels;
    a->output = (uint32_t *)c->y;
    if (c->check) *scratch = bnn_thermo_encode_get_buffer_size(a);
    BNN_OP_REQUIRE(c, bnn_op_weights_ok(c, 0), BNN_ERR_OP_WEIGHTS);
    return BNN_OK;
}
