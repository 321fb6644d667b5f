/* bnn-edge firmware runtime: the op table (internal).
 *
 * Everything the runtime knows about one op sits beside its kernels: bnn_<op>_prepare()
 * (src/kernels/bnn_<op>_prepare.c) validates the op's table entry against FORMAT.md, fills the
 * kernel's argument struct and reports the kernel's scratch size; the op table
 * (src/kernels/bnn_op_table.c) lists {code, inputs, prepare, reference, optimized} per op. The
 * loader (check_op, bnn_pack.c) and the interpreter (run_op, bnn_interpreter.c) are loops over it.
 * Adding an op: its kernel pair, its prepare, one row of BNN_OP_LIST. */
#ifndef BNN_OP_H
#define BNN_OP_H

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn_ops.h"
#include "bnn/bnn_pack.h"

/* Kernel families linked in: 0 both (default, switch at run time), 1 optimized only, 2 reference
 * only (see bnn/bnn_interpreter.h). */
#ifndef BNN_KERNELS
#define BNN_KERNELS 0
#endif
#if BNN_KERNELS != 0 && BNN_KERNELS != 1 && BNN_KERNELS != 2
#error "BNN_KERNELS must be 0 (both), 1 (optimized only) or 2 (reference only)"
#endif

/* X-macro of the ops: X(code, name, inputs) with the kernels bnn_<name>_reference/_optimized, the
 * argument struct bnn_<name>_args_t and bnn_<name>_prepare(). */
#define BNN_OP_LIST(X)                         \
    X(BNN_OP_THERMO_ENCODE, thermo_encode, 1)  \
    X(BNN_OP_BCONV2D, bconv2d, 1)              \
    X(BNN_OP_BMAXPOOL2D, bmaxpool2d, 1)        \
    X(BNN_OP_BDEPTHWISE2D, bdepthwise2d, 1)    \
    X(BNN_OP_BDENSE, bdense, 1)                \
    X(BNN_OP_CONCAT, concat, 2)

/* The argument struct of any op. */
#define BNN_OP_ARGS_MEMBER(code, name, inputs) bnn_##name##_args_t name;
typedef union {
    BNN_OP_LIST(BNN_OP_ARGS_MEMBER)
} bnn_op_args_t;
#undef BNN_OP_ARGS_MEMBER

/* One op of a pack as prepare() sees it. The tensors are decoded from the table (in1 only for a
 * two-input op; their ids are in range). `check`: at load time (bnn_model_load) nonzero and the
 * arena pointers x0, x1, y are NULL: prepare validates the entry and reports the scratch size; at
 * run time (the entry is already validated) zero and the pointers are set: prepare only fills the
 * arguments. */
typedef struct {
    const bnn_op_info_t *op;
    bnn_tensor_info_t in0, in1, out;
    const uint8_t *payload;  /* the pack's payload, payload_size bytes */
    uint32_t payload_size;
    const void *weights;     /* payload + weights_off, NULL when weights_len is 0 */
    const void *thresh;      /* payload + thresh_off, NULL when thresh_len is 0 */
    const void *x0, *x1;     /* the inputs' storage in the arena (run time) */
    void *y;                 /* the output's storage in the arena (run time) */
    int check;
} bnn_op_ctx_t;

/* bnn_<op>_prepare(): BNN_OK, or the first failing check's status (check mode only). *scratch
 * gets the optimized kernel's scratch bytes (check mode only; scratch may be NULL otherwise). */
typedef bnn_status_t (*bnn_op_prepare_fn)(const bnn_op_ctx_t *ctx, bnn_op_args_t *args, size_t *scratch);

typedef struct {
    uint16_t code;   /* bnn_op_type_t */
    uint16_t inputs; /* 1 or 2 */
    bnn_op_prepare_fn prepare;
    void (*eval_reference)(const bnn_op_args_t *args);              /* NULL if not linked in */
    void (*eval_optimized)(const bnn_op_args_t *args, void *scratch); /* NULL if not linked in */
} bnn_op_kernel_t;

/* The table entry of an op code, or NULL for an unknown code. */
const bnn_op_kernel_t *bnn_op_kernel(uint32_t code);

#define BNN_OP_PREPARE_DECL(code, name, inputs) \
    bnn_status_t bnn_##name##_prepare(const bnn_op_ctx_t *ctx, bnn_op_args_t *args, size_t *scratch);
BNN_OP_LIST(BNN_OP_PREPARE_DECL)
#undef BNN_OP_PREPARE_DECL

/* Fills ctx for op (bnn_pack.c): decodes its tensors, points at its payload ranges and, with a
 * non-NULL arena, at its tensors' storage; check = (arena == NULL). */
void bnn_op_ctx_init(bnn_op_ctx_t *ctx, const bnn_model_t *m, const bnn_op_info_t *op,
                     const bnn_op_kernel_t *k, uint8_t *arena);

/* ---- helpers of the prepare functions */
/* In check mode, fails with `status` unless `ok`. */
#define BNN_OP_REQUIRE(ctx, ok, status)          \
    do {                                         \
        if ((ctx)->check && !(ok)) return status; \
    } while (0)

/* A payload range [off, off+len) of exactly `expected` bytes, 4-aligned, inside the payload. */
static inline int bnn_op_range_ok(const bnn_op_ctx_t *c, uint32_t off, uint32_t len, uint64_t expected) {
    if ((uint64_t)len != expected) return 0;
    if (off % 4u) return 0;
    return (uint64_t)off + len <= (uint64_t)c->payload_size;
}
static inline int bnn_op_weights_ok(const bnn_op_ctx_t *c, uint64_t expected) {
    return bnn_op_range_ok(c, c->op->weights_off, c->op->weights_len, expected);
}
static inline int bnn_op_thresh_ok(const bnn_op_ctx_t *c, uint64_t expected) {
    return bnn_op_range_ok(c, c->op->thresh_off, c->op->thresh_len, expected);
}

static inline int bnn_is_bits_or_int32(bnn_dtype_t d) { return d == BNN_DTYPE_BITS || d == BNN_DTYPE_INT32; }

/* Words needed for c (< 2^32) bit channels. */
static inline int32_t bnn_words_u32(uint32_t c) { return (int32_t)((c + 31u) / 32u); }

/* Weight rows (at weights_off) of `rows` x `row_words` words whose last word must have zero bits
 * past `c` (bnn_pack.c). */
int bnn_op_weight_tails_zero(const bnn_op_ctx_t *c, uint64_t rows, int32_t row_words, int32_t c_bits);

/* The output arguments of a BITS/INT32-output op (bconv2d, bdepthwise2d, bdense): out_bits and
 * thresholds for a BITS output, out_int32 otherwise. */
static inline void bnn_op_outputs(const bnn_op_ctx_t *c, uint32_t **out_bits, int32_t **out_int32,
                                  const int32_t **thresholds) {
    const int bits = c->out.dtype == BNN_DTYPE_BITS;
    *out_bits = bits ? (uint32_t *)c->y : 0;
    *out_int32 = bits ? 0 : (int32_t *)c->y;
    *thresholds = bits ? (const int32_t *)c->thresh : 0;
}

#endif /* BNN_OP_H */
