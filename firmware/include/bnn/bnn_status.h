/* bnn-edge firmware runtime: status codes. */
#ifndef BNN_STATUS_H
#define BNN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every public function that can fail returns one of these. BNN_OK is 0; every error is > 0. */
typedef enum {
    BNN_OK = 0,
    BNN_ERR_NULL_ARG,        /* a required pointer argument is NULL */
    BNN_ERR_PACK_ALIGN,      /* pack buffer is not 4-byte aligned */
    BNN_ERR_TRUNCATED,       /* buffer shorter than the header or than 64 + payload_size */
    BNN_ERR_MAGIC,           /* magic is not "BNNP" */
    BNN_ERR_VERSION,         /* version_major != 1 */
    BNN_ERR_HEADER_SIZE,     /* header_size != 64 */
    BNN_ERR_HEADER_CRC,      /* header_crc32 mismatch */
    BNN_ERR_PAYLOAD_CRC,     /* payload_crc32 mismatch */
    BNN_ERR_COUNTS,          /* n_tensors or n_ops outside 1..65534 */
    BNN_ERR_TABLES_BOUNDS,   /* tensor/op tables do not fit inside the payload */
    BNN_ERR_META_BOUNDS,     /* meta_off + meta_len > payload_size */
    BNN_ERR_IO_TENSOR,       /* input/output/latent tensor id out of range, of a wrong dtype, or
                              * (output, latent) written by no op */
    BNN_ERR_TENSOR_DTYPE,    /* unknown tensor dtype */
    BNN_ERR_TENSOR_SHAPE,    /* a tensor dimension is 0 */
    BNN_ERR_TENSOR_SIZE,     /* size_bytes differs from the size computed from dtype and shape */
    BNN_ERR_TENSOR_ALIGN,    /* arena_offset is not a multiple of 4 */
    BNN_ERR_TENSOR_BOUNDS,   /* arena_offset + size_bytes > arena_bytes */
    BNN_ERR_OP_TYPE,         /* unknown op type */
    BNN_ERR_OP_TENSOR_ID,    /* an op's tensor id is out of range */
    BNN_ERR_OP_DTYPE,        /* an op's tensors have dtypes the op does not accept */
    BNN_ERR_OP_PARAMS,       /* an op's params are invalid (zero kernel, bad padding, groups...) */
    BNN_ERR_OP_SHAPE,        /* an op's tensor shapes are inconsistent with its params */
    BNN_ERR_OP_WEIGHTS,      /* weights range outside the payload, unaligned, wrong length, or
                                non-zero tail bits */
    BNN_ERR_OP_THRESH,       /* thresholds range outside the payload, unaligned, wrong length, or
                                invalid values (thermometer: not u8 / decreasing) */
    BNN_ERR_OP_ALIAS,        /* an op's output overlaps one of its inputs in the arena */
    BNN_ERR_NOT_LOADED,      /* the model struct was not successfully loaded */
    BNN_ERR_ARENA_ALIGN,     /* arena pointer is not 4-byte aligned */
    BNN_ERR_ARENA_TOO_SMALL, /* arena smaller than bnn_model_arena_size() */
    BNN_ERR_INPUT_SIZE,      /* bnn_set_input() data length does not match the input tensor */
    BNN_ERR_NO_LATENT,       /* the model has no latent tensor */
    /* the on-device head (bnn_head*.h) */
    BNN_ERR_NOT_INIT,        /* the head was not initialised (bnn_head_init) */
    BNN_ERR_CONFIG,          /* invalid head configuration value (see bnn_head_config_t) */
    BNN_ERR_LABEL,           /* label >= cfg.max_classes (<= BNN_HEAD_MAX_CLASSES) */
    BNN_ERR_BUDGET,          /* replay buffer budget smaller than one sample (4*N/32 + 1 bytes) */
    BNN_ERR_EMPTY,           /* predict before any class exists */
    BNN_ERR_STATE_RANGE,     /* state blob offset/length outside the blob */
    BNN_ERR_STATE_CORRUPT,   /* stored state fails magic/CRC/consistency checks */
    BNN_ERR_STATE_MISMATCH,  /* stored state was made for another head shape or W1 */
    BNN_ERR_NO_STATE,        /* the flash holds no state (both slots erased) */
    BNN_ERR_FLASH,           /* the flash driver reported an error (e.g. power loss) */
    BNN_ERR_FLASH_CONFIG,    /* flash descriptor invalid (callbacks, page size, program unit) */
    BNN_ERR_FLASH_TOO_SMALL, /* a flash slot is smaller than the state */
    BNN_ERR_OP_ORDER,        /* an op reads a tensor that is neither the model input nor written
                                by an earlier op */
    BNN_STATUS_COUNT         /* number of codes (not a status) */
} bnn_status_t;

/* Short English description of a status (never NULL; "unknown status" for out-of-range). */
const char *bnn_status_str(bnn_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* BNN_STATUS_H */
