/* bnn-edge firmware runtime: convolution/pooling geometry (TensorFlow SAME/VALID rules). */
#include "bnn/bnn_ops.h"

#define BNN_GEOM_LIMIT ((int64_t)1 << 30)

bnn_status_t bnn_conv_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                               int32_t padding, int32_t *out, int32_t *pad_before) {
    if (kernel < 1 || stride < 1 || dilation < 1) return BNN_ERR_OP_PARAMS;
    if (padding != 0 && padding != 1) return BNN_ERR_OP_PARAMS;
    if (in < 1 || in > BNN_GEOM_LIMIT || kernel > BNN_GEOM_LIMIT || dilation > BNN_GEOM_LIMIT)
        return BNN_ERR_OP_SHAPE;
    int64_t span = (kernel - 1) * dilation + 1; /* <= 2^60, no overflow */
    if (span > BNN_GEOM_LIMIT) return BNN_ERR_OP_SHAPE;
    int64_t o, pad;
    if (padding == 0) { /* SAME */
        o = (in + stride - 1) / stride;
        int64_t total = (o - 1) * stride + span - in;
        if ((o - 1) * stride + span > 2 * BNN_GEOM_LIMIT) return BNN_ERR_OP_SHAPE;
        pad = total > 0 ? total / 2 : 0;
    } else { /* VALID */
        if (in < span) return BNN_ERR_OP_SHAPE;
        o = (in - span) / stride + 1;
        pad = 0;
    }
    if (out) *out = (int32_t)o;
    if (pad_before) *pad_before = (int32_t)pad;
    return BNN_OK;
}
