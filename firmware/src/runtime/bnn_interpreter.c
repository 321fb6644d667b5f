/* bnn-edge firmware runtime: the interpreter (runs the ops of a validated pack in table order). */
#include <string.h>

#include "bnn/bnn_interpreter.h"
#include "bnn/bnn_ops.h"
#include "bnn_internal.h"
#include "bnn_op.h"

#if BNN_KERNELS == 0
#define BNN_USE_REFERENCE(it) ((it)->kernels == BNN_KERNELS_REFERENCE)
#elif BNN_KERNELS == 1
#define BNN_USE_REFERENCE(it) ((void)(it), 0)
#else
#define BNN_USE_REFERENCE(it) ((void)(it), 1)
#endif

static int loaded(const bnn_model_t *m) { return m && m->loaded == BNN_MODEL_LOADED_MARK; }

bnn_status_t bnn_interpreter_init(bnn_interpreter_t *it, const bnn_model_t *model, void *arena,
                                  size_t arena_size) {
    if (!it) return BNN_ERR_NULL_ARG;
    memset(it, 0, sizeof(*it));
    if (!model || !arena) return BNN_ERR_NULL_ARG;
    if (!loaded(model)) return BNN_ERR_NOT_LOADED;
    if ((uintptr_t)arena % 4u) return BNN_ERR_ARENA_ALIGN;
    const uint32_t need = bnn_model_arena_size(model);
    if (arena_size < (size_t)need) return BNN_ERR_ARENA_TOO_SMALL;
    const uint32_t arena4 = (model->arena_bytes + 3u) & ~3u;
    it->model = model;
    it->arena = (uint8_t *)arena;
    it->scratch = it->arena + arena4;
    it->scratch_size = (uint32_t)(need - arena4);
    it->kernels = (BNN_KERNELS == 2) ? BNN_KERNELS_REFERENCE : BNN_KERNELS_OPTIMIZED;
    return BNN_OK;
}

void bnn_interpreter_set_kernels(bnn_interpreter_t *it, bnn_kernels_t kernels) {
    if (it && BNN_KERNELS == 0) it->kernels = kernels;
}

void *bnn_tensor_ptr(const bnn_interpreter_t *it, uint32_t id, bnn_tensor_info_t *info) {
    bnn_tensor_info_t t;
    if (!it || !it->model || bnn_model_tensor(it->model, id, &t) != BNN_OK) return 0;
    if (info) *info = t;
    return it->arena + t.arena_offset;
}

void *bnn_input_ptr(bnn_interpreter_t *it, bnn_tensor_info_t *info) {
    if (!it || !it->model) return 0;
    return bnn_tensor_ptr(it, it->model->input_tensor, info);
}

bnn_status_t bnn_set_input(bnn_interpreter_t *it, const void *data, size_t len) {
    if (!it || !data) return BNN_ERR_NULL_ARG;
    if (!it->model) return BNN_ERR_NOT_LOADED;
    bnn_tensor_info_t t;
    uint8_t *dst = (uint8_t *)bnn_input_ptr(it, &t);
    if (!dst) return BNN_ERR_NOT_LOADED;
    size_t logical = t.size_bytes;
    if (t.dtype == BNN_DTYPE_UINT8) logical = (size_t)t.h * t.w * t.c;
    if (len != t.size_bytes && len != logical) return BNN_ERR_INPUT_SIZE;
    memcpy(dst, data, len);
    if (len < t.size_bytes) memset(dst + len, 0, t.size_bytes - len);
    return BNN_OK;
}

const void *bnn_output_ptr(const bnn_interpreter_t *it, bnn_tensor_info_t *info) {
    if (!it || !it->model) return 0;
    return bnn_tensor_ptr(it, it->model->output_tensor, info);
}

const uint32_t *bnn_latent_ptr(const bnn_interpreter_t *it, bnn_tensor_info_t *info) {
    if (!it || !it->model || it->model->latent_tensor == BNN_TENSOR_NONE) return 0;
    return (const uint32_t *)bnn_tensor_ptr(it, it->model->latent_tensor, info);
}

/* Clears the tail bits past c of every pixel of a BITS tensor. */
static void clear_tails(uint32_t *words, const bnn_tensor_info_t *t) {
    const uint32_t mask = bnn_tail_mask((int32_t)t->c);
    if (mask == 0xFFFFFFFFu) return;
    const size_t wpp = (t->c + 31u) / 32u, pixels = (size_t)t->h * t->w;
    for (size_t p = 0; p < pixels; p++) words[p * wpp + wpp - 1u] &= mask;
}

/* Profiling hooks around every kernel call (benchmarks): build with -DBNN_PROFILE=1 and provide
 * bnn_profile_begin()/bnn_profile_end(); without it they compile to nothing. */
#if defined(BNN_PROFILE) && BNN_PROFILE
void bnn_profile_begin(const bnn_op_info_t *op);
void bnn_profile_end(const bnn_op_info_t *op);
#define BNN_PROFILE_BEGIN(op) bnn_profile_begin(op)
#define BNN_PROFILE_END(op) bnn_profile_end(op)
#else
#define BNN_PROFILE_BEGIN(op) ((void)0)
#define BNN_PROFILE_END(op) ((void)0)
#endif

/* Runs one op of the validated model: its prepare fills the kernel's arguments, then the selected
 * kernel family runs. */
static void run_op(bnn_interpreter_t *it, const bnn_op_info_t *op) {
    const bnn_op_kernel_t *k = bnn_op_kernel(op->type);
    bnn_op_ctx_t c;
    bnn_op_ctx_init(&c, it->model, op, k, it->arena);
    bnn_op_args_t args;
    (void)k->prepare(&c, &args, 0);
    BNN_PROFILE_BEGIN(op);
    if (BNN_USE_REFERENCE(it)) k->eval_reference(&args);
    else k->eval_optimized(&args, it->scratch);
    BNN_PROFILE_END(op);
}

bnn_status_t bnn_invoke(bnn_interpreter_t *it) {
    if (!it) return BNN_ERR_NULL_ARG;
    if (!it->model || !loaded(it->model)) return BNN_ERR_NOT_LOADED;
    for (uint32_t i = 0; i < it->model->n_ops; i++) (void)bnn_invoke_op(it, i);
    return BNN_OK;
}

bnn_status_t bnn_invoke_op(bnn_interpreter_t *it, uint32_t index) {
    if (!it) return BNN_ERR_NULL_ARG;
    if (!it->model || !loaded(it->model)) return BNN_ERR_NOT_LOADED;
    bnn_op_info_t op;
    const bnn_status_t s = bnn_model_op(it->model, index, &op);
    if (s != BNN_OK) return s;
    if (index == 0u) {
        bnn_tensor_info_t in = {0};
        void *x = bnn_input_ptr(it, &in);
        if (in.dtype == BNN_DTYPE_BITS) clear_tails((uint32_t *)x, &in);
    }
    run_op(it, &op);
    return BNN_OK;
}
