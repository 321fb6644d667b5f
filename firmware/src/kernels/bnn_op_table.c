/* bnn-edge firmware runtime: the op table (src/bnn_op.h), one row per op of BNN_OP_LIST. */
#include "bnn_op.h"

/* kernels taking the op's own argument struct, called with the union */
#if BNN_KERNELS != 1
#define BNN_OP_EVAL_REFERENCE(code, name, inputs) \
    static void name##_reference(const bnn_op_args_t *a) { bnn_##name##_reference(&a->name); }
BNN_OP_LIST(BNN_OP_EVAL_REFERENCE)
#define BNN_OP_REFERENCE(name) name##_reference
#else
#define BNN_OP_REFERENCE(name) 0
#endif
#if BNN_KERNELS != 2
#define BNN_OP_EVAL_OPTIMIZED(code, name, inputs) \
    static void name##_optimized(const bnn_op_args_t *a, void *s) { bnn_##name##_optimized(&a->name, s); }
BNN_OP_LIST(BNN_OP_EVAL_OPTIMIZED)
#define BNN_OP_OPTIMIZED(name) name##_optimized
#else
#define BNN_OP_OPTIMIZED(name) 0
#endif

#define BNN_OP_ROW(code, name, inputs) \
    {code, inputs, bnn_##name##_prepare, BNN_OP_REFERENCE(name), BNN_OP_OPTIMIZED(name)},
static const bnn_op_kernel_t bnn_op_table[] = {BNN_OP_LIST(BNN_OP_ROW)};

const bnn_op_kernel_t *bnn_op_kernel(uint32_t code) {
    for (size_t i = 0; i < sizeof(bnn_op_table) / sizeof(bnn_op_table[0]); i++)
        if (bnn_op_table[i].code == code) return &bnn_op_table[i];
    return 0;
}
