/* bnn-edge firmware runtime: running a loaded model in a caller-provided arena. */
#ifndef BNN_INTERPRETER_H
#define BNN_INTERPRETER_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn_pack.h"
#include "bnn/bnn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which kernel family the interpreter dispatches to.
 * Compile-time selection: define BNN_KERNELS to
 *   0 (default) both families are linked, optimized is the default, switch at run time;
 *   1 optimized only (bnn_interpreter_set_kernels() is a no-op);
 *   2 reference only (bnn_interpreter_set_kernels() is a no-op). */
typedef enum { BNN_KERNELS_OPTIMIZED = 0, BNN_KERNELS_REFERENCE = 1 } bnn_kernels_t;

typedef struct {
    const bnn_model_t *model;
    uint8_t *arena;        /* planned tensors at arena[arena_offset...] */
    uint8_t *scratch;      /* arena + round_up4(model->arena_bytes) */
    uint32_t scratch_size; /* what is left after the planned arena */
    bnn_kernels_t kernels;
} bnn_interpreter_t;

/* Binds a loaded model to an arena of arena_size bytes (4-byte aligned, at least
 * bnn_model_arena_size(model)). The arena is not cleared. */
bnn_status_t bnn_interpreter_init(bnn_interpreter_t *it, const bnn_model_t *model, void *arena,
                                  size_t arena_size);

/* Selects the kernel family (default BNN_KERNELS_OPTIMIZED). */
void bnn_interpreter_set_kernels(bnn_interpreter_t *it, bnn_kernels_t kernels);

/* Copies len bytes into the input tensor's storage. len must be the storage size (size_bytes)
 * or, for UINT8 inputs, the logical h*w*c bytes (the padding is then zeroed). */
bnn_status_t bnn_set_input(bnn_interpreter_t *it, const void *data, size_t len);

/* Direct pointer to the input tensor's storage (size_bytes bytes) for filling it in place. */
void *bnn_input_ptr(bnn_interpreter_t *it, bnn_tensor_info_t *info);

/* Runs every op in table order. For a BITS input tensor the tail bits past c are cleared first. */
bnn_status_t bnn_invoke(bnn_interpreter_t *it);

/* Runs op `index` alone (profiling, benchmarks): bnn_invoke() is bnn_invoke_op() for 0..n_ops-1.
 * An op reads what the earlier ops wrote, so run them in order; running one again recomputes the
 * same output. Index 0 clears the tail bits of a BITS input first, as bnn_invoke() does.
 * Returns bnn_model_op()'s error (BNN_ERR_OP_TYPE) when index >= n_ops. */
bnn_status_t bnn_invoke_op(bnn_interpreter_t *it, uint32_t index);

/* After bnn_invoke(): the output tensor's storage (int32 values for an INT32 output) and its
 * decoded table entry (info may be NULL). */
const void *bnn_output_ptr(const bnn_interpreter_t *it, bnn_tensor_info_t *info);

/* After bnn_invoke(): the latent tensor's packed words (info->size_bytes / 4 words, bit 1 = -1),
 * or NULL when the model has no latent tensor. */
const uint32_t *bnn_latent_ptr(const bnn_interpreter_t *it, bnn_tensor_info_t *info);

/* Any tensor's storage inside the arena (NULL if id is out of range). */
void *bnn_tensor_ptr(const bnn_interpreter_t *it, uint32_t id, bnn_tensor_info_t *info);

#ifdef __cplusplus
}
#endif

#endif /* BNN_INTERPRETER_H */
