/* bnn-edge firmware tests: a tiny .bnnpack writer (format v1) for building test models in C.
 * Tensors get consecutive arena offsets (no reuse); blob items are 4-byte aligned. */
#ifndef BNN_PACK_BUILDER_H
#define BNN_PACK_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn.h"
#include "bnn/bnn_le.h"

#define PB_MAX_TENSORS 32
#define PB_MAX_OPS 32
#define PB_MAX_BLOB (96u * 1024u)

typedef struct {
    uint32_t n_tensors, n_ops;
    bnn_tensor_info_t tensors[PB_MAX_TENSORS];
    bnn_op_info_t ops[PB_MAX_OPS];
    uint8_t blob[PB_MAX_BLOB];
    uint32_t blob_len;
    uint32_t arena_bytes;
    uint32_t scratch_bytes;
    uint16_t input, latent, output;
    uint16_t version_major, version_minor;
    const char *meta; /* optional JSON */
    int error;        /* set when a limit was exceeded */
} pack_builder_t;

void pb_init(pack_builder_t *pb);

/* Adds a tensor with a planned arena offset; returns its id. */
uint16_t pb_tensor(pack_builder_t *pb, bnn_dtype_t dtype, uint32_t h, uint32_t w, uint32_t c);

/* Adds an op; weights/thresholds (may be NULL/0) are copied into the blob. Returns its index. */
uint32_t pb_op(pack_builder_t *pb, bnn_op_type_t type, uint16_t in0, uint16_t in1, uint16_t out,
               const int32_t params[8], const void *weights, uint32_t weights_len,
               const int32_t *thresh, uint32_t thresh_count);

/* Storage size of a tensor per FORMAT.md. */
uint32_t pb_storage(bnn_dtype_t dtype, uint32_t h, uint32_t w, uint32_t c);

/* Serialises into out (cap bytes): header, tables, blob, both CRCs. Returns the length or 0. */
uint32_t pb_finish(const pack_builder_t *pb, uint8_t *out, uint32_t cap);

/* Offsets of interest inside a finished pack. */
#define PB_HEADER 64u
uint32_t pb_tensor_entry_off(const pack_builder_t *pb, uint32_t id); /* from pack start */
uint32_t pb_op_entry_off(const pack_builder_t *pb, uint32_t index);  /* from pack start */

/* Re-computes the header and payload CRCs of a pack after it was edited. */
void pb_fix_crcs(uint8_t *pack);
/* Re-computes only the header CRC (e.g. after editing payload_size). */
void pb_fix_header_crc(uint8_t *pack);

static inline void pb_put_u16(uint8_t *p, uint16_t v) { bnn_wr_u16(p, v); }
static inline void pb_put_u32(uint8_t *p, uint32_t v) { bnn_wr_u32(p, v); }

#endif /* BNN_PACK_BUILDER_H */
