/* GENERATED — do not edit.
 * Generator: python -m bnn_edge.codegen.constants --out firmware/include/bnn/bnn_constants.h
 * Inputs: converters/bnnpack.py, converters/ops.py, bnn_edge/sim/head.py; sha256 e17baeb84a62a0a3
 * The constants the Python side and the firmware share: the .bnnpack format (converters/FORMAT.md)
 * and the on-device head's exp table (firmware/HEAD.md). Change them in Python and regenerate.
 */
#ifndef BNN_CONSTANTS_H
#define BNN_CONSTANTS_H

/* ---- .bnnpack format */
#define BNN_PACK_MAGIC "BNNP"
#define BNN_PACK_VERSION_MAJOR 1u
#define BNN_PACK_VERSION_MINOR 0u
#define BNN_PACK_HEADER_SIZE 64u
#define BNN_PACK_TENSOR_ENTRY_SIZE 24u
#define BNN_PACK_OP_ENTRY_SIZE 64u
#define BNN_PACK_MAX_ENTRIES 65534u
#define BNN_TENSOR_NONE 0xFFFFu /* "no tensor" id (latent_tensor, unused in1) */
#define BNN_OP_N_PARAMS 8

/* Tensor dtypes (tensor table field dtype). */
typedef enum {
    BNN_DTYPE_BITS = 0,  /* packed u32 words, bit 1 = -1, channel k = bit k%32 of word k/32 */
    BNN_DTYPE_INT32 = 1, /* int32 per element */
    BNN_DTYPE_UINT8 = 2  /* uint8 per element, storage padded to a multiple of 4 bytes */
} bnn_dtype_t;

/* Op types (op table field type); BNN_OP_FIRST..BNN_OP_LAST are all defined. */
typedef enum {
    BNN_OP_THERMO_ENCODE = 1, /* UINT8 [h,w,c] -> BITS [h,w,c*levels] */
    BNN_OP_BCONV2D = 2,       /* BITS [h,w,cin] -> BITS/INT32 [ho,wo,cout], binary convolution (LceBconv2d) */
    BNN_OP_BMAXPOOL2D = 3,    /* BITS [h,w,c] -> BITS [ho,wo,c], AND over the window (LceBMaxPool2d) */
    BNN_OP_BDEPTHWISE2D = 4,  /* BITS [h,w,c] -> BITS/INT32 [ho,wo,c], depth multiplier 1 */
    BNN_OP_BDENSE = 5,        /* BITS [h,w,c] (flat cin = h*w*c) -> BITS/INT32 [1,1,cout] */
    BNN_OP_CONCAT = 6         /* BITS [h,w,ca] ++ BITS [h,w,cb] -> BITS [h,w,ca+cb] */
} bnn_op_type_t;
#define BNN_OP_FIRST 1u
#define BNN_OP_LAST 6u

/* The padding param of the spatial ops; SAME pads with +1 (bit 0), as LCE's one-padding. */
typedef enum {
    BNN_PADDING_SAME = 0,
    BNN_PADDING_VALID = 1
} bnn_padding_t;

/* ---- on-device head: BNN_HEAD_EXP_LUT[j] = round(32768 * exp(-j/16)), j < BNN_HEAD_EXP_LUT_LEN;
 * 0 beyond (a brace initializer: static const uint16_t lut[BNN_HEAD_EXP_LUT_LEN] = BNN_HEAD_EXP_LUT;) */
#define BNN_HEAD_EXP_LUT_LEN 178u
#define BNN_HEAD_EXP_LUT { \
    32768, 30783, 28918, 27166, 25520, 23974, 22521, 21157, 19875, 18671, 17539, 16477, \
    15479, 14541, 13660, 12832, 12055, 11324, 10638, 9994, 9388, 8819, 8285, 7783, \
    7312, 6869, 6452, 6061, 5694, 5349, 5025, 4721, 4435, 4166, 3914, 3676, \
    3454, 3244, 3048, 2863, 2690, 2527, 2374, 2230, 2095, 1968, 1849, 1737, \
    1631, 1533, 1440, 1352, 1271, 1194, 1121, 1053, 990, 930, 873, 820, \
    771, 724, 680, 639, 600, 564, 530, 498, 467, 439, 412, 387, \
    364, 342, 321, 302, 283, 266, 250, 235, 221, 207, 195, 183, \
    172, 162, 152, 143, 134, 126, 118, 111, 104, 98, 92, 86, \
    81, 76, 72, 67, 63, 59, 56, 52, 49, 46, 43, 41, \
    38, 36, 34, 32, 30, 28, 26, 25, 23, 22, 21, 19, \
    18, 17, 16, 15, 14, 13, 12, 12, 11, 10, 10, 9, \
    9, 8, 8, 7, 7, 6, 6, 6, 5, 5, 5, 4, \
    4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, \
    2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, \
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1 \
}

#endif /* BNN_CONSTANTS_H */
