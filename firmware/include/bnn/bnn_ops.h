/* bnn-edge firmware runtime: the kernels.
 *
 * Each op has a reference implementation (naive loops, obviously correct) and an optimized one
 * (same results bit for bit). Both take the same argument struct. The interpreter fills these
 * structs from a validated pack; a direct caller must respect the documented preconditions
 * (nothing is re-checked here):
 *   - BITS buffers hold words(c) = ceil(c/32) uint32 words per pixel, tail bits past c are 0;
 *   - all dimensions and kernel parameters are >= 1, products fit in int32;
 *   - the output buffer does not overlap any input buffer;
 *   - scratch points to at least bnn_<op>_get_buffer_size(args) bytes, 4-byte aligned
 *     (may be NULL when that size is 0). Reference kernels need no scratch.
 * Output modes (bconv2d, bdepthwise2d, bdense): if out_bits is non-NULL, thresholds[c_out] gives
 * bit = (accum > thresholds[c]); otherwise out_int32 gets y = K - 2*accum. */
#ifndef BNN_OPS_H
#define BNN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Words needed for c bit channels. */
static inline int32_t bnn_words(int32_t c) { return (int32_t)(((uint32_t)c + 31u) >> 5); }

/* Output size and leading padding of one spatial dimension (TensorFlow rules).
 * padding: 0 = SAME, 1 = VALID. Returns BNN_OK, BNN_ERR_OP_PARAMS for bad parameters, or
 * BNN_ERR_OP_SHAPE when the window does not fit (VALID) / the geometry exceeds 2^30. */
bnn_status_t bnn_conv_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                               int32_t padding, int32_t *out, int32_t *pad_before);

/* ---- 1 THERMO_ENCODE: UINT8 [h,w,c] -> BITS [h,w,c*levels];
 * out channel ci*L + l = (x[ci] < thresholds[l]). thresholds: u8-valued, non-decreasing. */
typedef struct {
    const uint8_t *input;
    int32_t h, w, c;
    const int32_t *thresholds;
    int32_t levels;
    uint32_t *output;
} bnn_thermo_encode_args_t;
size_t bnn_thermo_encode_get_buffer_size(const bnn_thermo_encode_args_t *args);
void bnn_thermo_encode_reference(const bnn_thermo_encode_args_t *args);
void bnn_thermo_encode_optimized(const bnn_thermo_encode_args_t *args, void *scratch);

/* ---- 2 BCONV2D: BITS [in_h,in_w,in_c] -> BITS/INT32 [out_h,out_w,out_c].
 * weights OHWI u32[out_c][kh][kw][words(in_c/groups)]; out-of-bounds taps read word 0 (+1);
 * K = kh*kw*(in_c/groups). pad_top/pad_left from bnn_conv_geometry (0 for VALID). */
typedef struct {
    const uint32_t *input;
    int32_t in_h, in_w, in_c;
    const uint32_t *weights;
    const int32_t *thresholds; /* [out_c], with out_bits */
    uint32_t *out_bits;        /* exactly one of out_bits / out_int32 is non-NULL */
    int32_t *out_int32;
    int32_t out_h, out_w, out_c;
    int32_t kh, kw, stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t groups; /* in_c/groups multiple of 32 when groups > 1; out_c % groups == 0 */
} bnn_bconv2d_args_t;
size_t bnn_bconv2d_get_buffer_size(const bnn_bconv2d_args_t *args);
void bnn_bconv2d_reference(const bnn_bconv2d_args_t *args);
void bnn_bconv2d_optimized(const bnn_bconv2d_args_t *args, void *scratch);

/* ---- 3 BMAXPOOL2D (VALID): BITS [in_h,in_w,c] -> BITS [out_h,out_w,c], AND over the window. */
typedef struct {
    const uint32_t *input;
    int32_t in_h, in_w, c;
    uint32_t *output;
    int32_t out_h, out_w;
    int32_t kh, kw, stride_h, stride_w;
} bnn_bmaxpool2d_args_t;
size_t bnn_bmaxpool2d_get_buffer_size(const bnn_bmaxpool2d_args_t *args);
void bnn_bmaxpool2d_reference(const bnn_bmaxpool2d_args_t *args);
void bnn_bmaxpool2d_optimized(const bnn_bmaxpool2d_args_t *args, void *scratch);

/* ---- 4 BDEPTHWISE2D (multiplier 1): BITS [in_h,in_w,c] -> BITS/INT32 [out_h,out_w,c].
 * weights u32[kh][kw][words(c)]; accum[c] = sum over taps of bit c of (x ^ w); K = kh*kw. */
typedef struct {
    const uint32_t *input;
    int32_t in_h, in_w, c;
    const uint32_t *weights;
    const int32_t *thresholds; /* [c], with out_bits */
    uint32_t *out_bits;
    int32_t *out_int32;
    int32_t out_h, out_w;
    int32_t kh, kw, stride_h, stride_w;
    int32_t pad_top, pad_left;
} bnn_bdepthwise2d_args_t;
size_t bnn_bdepthwise2d_get_buffer_size(const bnn_bdepthwise2d_args_t *args);
void bnn_bdepthwise2d_reference(const bnn_bdepthwise2d_args_t *args);
void bnn_bdepthwise2d_optimized(const bnn_bdepthwise2d_args_t *args, void *scratch);

/* ---- 5 BDENSE: BITS vector of cin channels (words(cin) words) -> BITS/INT32 [cout].
 * weights u32[cout][words(cin)]; K = cin. */
typedef struct {
    const uint32_t *input;
    int32_t cin;
    const uint32_t *weights;
    const int32_t *thresholds; /* [cout], with out_bits */
    uint32_t *out_bits;
    int32_t *out_int32;
    int32_t cout;
} bnn_bdense_args_t;
size_t bnn_bdense_get_buffer_size(const bnn_bdense_args_t *args);
void bnn_bdense_reference(const bnn_bdense_args_t *args);
void bnn_bdense_optimized(const bnn_bdense_args_t *args, void *scratch);

/* ---- 6 CONCAT: BITS [h,w,ca] ++ BITS [h,w,cb] -> BITS [h,w,ca+cb] (in0 may equal in1). */
typedef struct {
    const uint32_t *in0;
    const uint32_t *in1;
    int32_t h, w, ca, cb;
    uint32_t *output;
} bnn_concat_args_t;
size_t bnn_concat_get_buffer_size(const bnn_concat_args_t *args);
void bnn_concat_reference(const bnn_concat_args_t *args);
void bnn_concat_optimized(const bnn_concat_args_t *args, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* BNN_OPS_H */
