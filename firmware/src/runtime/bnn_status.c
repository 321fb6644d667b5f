/* bnn-edge firmware runtime: status strings. */
#include "bnn/bnn_status.h"

const char *bnn_status_str(bnn_status_t status) {
    switch (status) {
        case BNN_OK: return "ok";
        case BNN_ERR_NULL_ARG: return "null argument";
        case BNN_ERR_PACK_ALIGN: return "pack buffer not 4-byte aligned";
        case BNN_ERR_TRUNCATED: return "pack truncated";
        case BNN_ERR_MAGIC: return "bad magic (not a .bnnpack)";
        case BNN_ERR_VERSION: return "unsupported pack version_major";
        case BNN_ERR_HEADER_SIZE: return "bad header_size";
        case BNN_ERR_HEADER_CRC: return "header CRC mismatch";
        case BNN_ERR_PAYLOAD_CRC: return "payload CRC mismatch";
        case BNN_ERR_COUNTS: return "n_tensors or n_ops out of range";
        case BNN_ERR_TABLES_BOUNDS: return "tensor/op tables exceed the payload";
        case BNN_ERR_META_BOUNDS: return "metadata range exceeds the payload";
        case BNN_ERR_IO_TENSOR: return "bad input/output/latent tensor id or dtype, or an output no op writes";
        case BNN_ERR_TENSOR_DTYPE: return "unknown tensor dtype";
        case BNN_ERR_TENSOR_SHAPE: return "tensor has a zero dimension";
        case BNN_ERR_TENSOR_SIZE: return "tensor size_bytes does not match its shape";
        case BNN_ERR_TENSOR_ALIGN: return "tensor arena_offset not 4-byte aligned";
        case BNN_ERR_TENSOR_BOUNDS: return "tensor exceeds arena_bytes";
        case BNN_ERR_OP_TYPE: return "unknown op type";
        case BNN_ERR_OP_TENSOR_ID: return "op tensor id out of range";
        case BNN_ERR_OP_DTYPE: return "op tensor dtypes not accepted by the op";
        case BNN_ERR_OP_PARAMS: return "invalid op params";
        case BNN_ERR_OP_SHAPE: return "op tensor shapes inconsistent with its params";
        case BNN_ERR_OP_WEIGHTS: return "invalid op weights range/length/tail bits";
        case BNN_ERR_OP_THRESH: return "invalid op thresholds range/length/values";
        case BNN_ERR_OP_ALIAS: return "op output overlaps an input in the arena";
        case BNN_ERR_NOT_LOADED: return "model not loaded";
        case BNN_ERR_ARENA_ALIGN: return "arena not 4-byte aligned";
        case BNN_ERR_ARENA_TOO_SMALL: return "arena too small";
        case BNN_ERR_INPUT_SIZE: return "input length does not match the input tensor";
        case BNN_ERR_NO_LATENT: return "model has no latent tensor";
        case BNN_ERR_NOT_INIT: return "head not initialised";
        case BNN_ERR_CONFIG: return "invalid head configuration";
        case BNN_ERR_LABEL: return "label beyond max_classes";
        case BNN_ERR_BUDGET: return "buffer budget smaller than one sample";
        case BNN_ERR_EMPTY: return "no class learned yet";
        case BNN_ERR_STATE_RANGE: return "state offset/length out of range";
        case BNN_ERR_STATE_CORRUPT: return "stored state corrupted";
        case BNN_ERR_STATE_MISMATCH: return "stored state made for another head configuration";
        case BNN_ERR_NO_STATE: return "no stored state";
        case BNN_ERR_FLASH: return "flash error";
        case BNN_ERR_FLASH_CONFIG: return "invalid flash descriptor";
        case BNN_ERR_FLASH_TOO_SMALL: return "flash slot too small for the state";
        case BNN_ERR_OP_ORDER: return "op reads a tensor before any op writes it";
        case BNN_STATUS_COUNT: break;
    }
    return "unknown status";
}
