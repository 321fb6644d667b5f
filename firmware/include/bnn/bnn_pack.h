/* bnn-edge firmware runtime: the .bnnpack model pack (format v1, see converters/FORMAT.md).
 *
 * bnn_model_load() validates a whole pack in place (nothing is copied, nothing is allocated);
 * afterwards weights and thresholds are read directly from the pack buffer, which must stay
 * alive, unchanged and 4-byte aligned for as long as the model is used. */
#ifndef BNN_PACK_H
#define BNN_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn_constants.h"
#include "bnn/bnn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Format constants, dtypes (bnn_dtype_t), op types (bnn_op_type_t) and paddings (bnn_padding_t) are
 * generated from Python into bnn/bnn_constants.h. */

/* One tensor table entry, decoded. */
typedef struct {
    bnn_dtype_t dtype;
    uint32_t h, w, c;      /* logical shape [h, w, c] */
    uint32_t arena_offset; /* byte offset in the activation arena */
    uint32_t size_bytes;   /* storage size */
} bnn_tensor_info_t;

/* One op table entry, decoded. */
typedef struct {
    uint16_t type;   /* bnn_op_type_t */
    uint16_t flags;
    uint16_t in0, in1, out;
    int32_t params[BNN_OP_N_PARAMS];
    uint32_t weights_off, weights_len; /* payload offsets/lengths in bytes */
    uint32_t thresh_off, thresh_len;
} bnn_op_info_t;

/* A validated pack. Fill it with bnn_model_load(); treat the fields as read-only. */
typedef struct {
    const uint8_t *pack;      /* the pack buffer (header at offset 0) */
    const uint8_t *payload;   /* pack + 64 */
    uint32_t pack_len;        /* 64 + payload_size (bytes after that are ignored) */
    uint32_t payload_size;
    uint32_t n_tensors;
    uint32_t n_ops;
    uint32_t arena_bytes;     /* activation arena the tensor offsets were planned for */
    uint32_t scratch_bytes;   /* max(header scratch_bytes, scratch this runtime's kernels need) */
    uint16_t version_minor;
    uint16_t input_tensor;
    uint16_t latent_tensor;   /* BNN_TENSOR_NONE if none */
    uint16_t output_tensor;
    uint32_t meta_off, meta_len;
    uint32_t loaded;          /* internal marker: set only by a successful bnn_model_load() */
} bnn_model_t;

/* Validates the pack in buf[0..len) (every check of FORMAT.md, plus: thermometer thresholds are
 * u8-valued and non-decreasing, weight tail bits past the logical channels are 0, an op's output
 * does not overlap its inputs in the arena). Never reads outside buf. buf must be 4-byte aligned.
 * On failure *model is marked not loaded and the first failing check's code is returned. */
bnn_status_t bnn_model_load(bnn_model_t *model, const void *buf, size_t len);

/* Bytes the caller must provide to bnn_interpreter_init(): the planned arena rounded up to 4,
 * followed by the scratch area. 0 if the model is not loaded. */
uint32_t bnn_model_arena_size(const bnn_model_t *model);

/* Decoded tensor / op table entries of a loaded model. */
bnn_status_t bnn_model_tensor(const bnn_model_t *model, uint32_t id, bnn_tensor_info_t *info);
bnn_status_t bnn_model_op(const bnn_model_t *model, uint32_t index, bnn_op_info_t *info);

/* UTF-8 JSON metadata (not NUL-terminated) or NULL with *len = 0 when the pack has none. */
const uint8_t *bnn_model_meta(const bnn_model_t *model, uint32_t *len);

#ifdef __cplusplus
}
#endif

#endif /* BNN_PACK_H */
