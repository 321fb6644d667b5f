/* bnn-edge: per-kernel and whole-model timings of a compiled-in model pack (benchmarks/run.py).
 *
 * Built like the example app (same model_data.c / input_data.c convention) with
 *     make -C firmware app APP_MAIN=$PWD/firmware/tests/tools/model_bench.c APP_DEFS=-DBNN_PROFILE=1 ...
 * The interpreter's profiling hooks (-DBNN_PROFILE=1) time each kernel call alone (argument
 * decoding and dispatch excluded). For input 0, every op runs in table order with the reference
 * kernels, then with the optimized ones (same inputs: the earlier ops have run); an op whose
 * first run is shorter than BENCH_MIN_TICKS is repeated until the total reaches it (a kernel
 * recomputes the same output from the same input), so that the +-1 tick resolution of the timer
 * is small against the total. Prints, on stdout:
 *     BENCH port=<name> ops=<n> hook=<ticks of an empty begin/end pair>
 *     OP <i> <type> ref <reps> <ticks> opt <reps> <ticks> equal <0|1>
 *     MODEL ref <ticks> opt <ticks> equal <0|1>
 * where <ticks> is the total over <reps> runs, hook overhead not subtracted. On Cortex-M under
 * QEMU with -icount shift=0 a tick is 40 instructions (see ports/bnn_port.h); on the host a tick
 * is a nanosecond. MODEL is bnn_invoke() on input 0 (hooks idle: a call and a return each). */
#include <stdio.h>
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_port.h"
#include "input_data.h"
#include "model_data.h"
#include "bnn_u64s.h"

#ifndef BNN_APP_ARENA_BYTES
#define BNN_APP_ARENA_BYTES (256u * 1024u)
#endif
#ifndef BENCH_MIN_TICKS
#define BENCH_MIN_TICKS 5000u /* 200000 instructions under QEMU -icount shift=0 */
#endif
#ifndef BENCH_MAX_REPS
#define BENCH_MAX_REPS 2000u
#endif

static uint32_t arena[(BNN_APP_ARENA_BYTES + 3u) / 4u];
static uint32_t saved[(BNN_APP_ARENA_BYTES + 3u) / 4u];
static bnn_model_t model;
static bnn_interpreter_t interp;

static int hook_on;
static uint64_t hook_t0, hook_total;

void bnn_profile_begin(const bnn_op_info_t *op);
void bnn_profile_end(const bnn_op_info_t *op);
void bnn_profile_begin(const bnn_op_info_t *op) {
    (void)op;
    if (hook_on) hook_t0 = bnn_port_ticks();
}
void bnn_profile_end(const bnn_op_info_t *op) {
    (void)op;
    if (hook_on) hook_total += bnn_port_ticks() - hook_t0;
}


/* Runs op i (reps times); returns the kernel ticks summed by the hooks. */
static uint64_t run_op(uint32_t i, uint32_t reps) {
    hook_total = 0;
    hook_on = 1;
    for (uint32_t r = 0; r < reps; r++) (void)bnn_invoke_op(&interp, i);
    hook_on = 0;
    return hook_total;
}

static void time_op(uint32_t i, uint32_t *reps, uint64_t *ticks) {
    uint64_t t = run_op(i, 1u);
    uint32_t n = 1u;
    if (t < BENCH_MIN_TICKS) {
        n = (uint32_t)(BENCH_MIN_TICKS / (t + 1u)) + 1u;
        if (n > BENCH_MAX_REPS) n = BENCH_MAX_REPS;
        t = run_op(i, n);
    }
    *reps = n;
    *ticks = t;
}

int main(void) {
    bnn_port_init();
    bnn_status_t s = bnn_model_load(&model, bnn_model_data, bnn_model_data_len);
    if (s == BNN_OK) s = bnn_interpreter_init(&interp, &model, arena, sizeof(arena));
    if (s == BNN_OK) s = bnn_set_input(&interp, bnn_inputs, bnn_input_len);
    if (s != BNN_OK) {
        fprintf(stderr, "model_bench: %s\n", bnn_status_str(s));
        return 2;
    }
    char a[24], b[24];
    /* the hooks' own cost: an empty begin/end pair */
    hook_total = 0;
    hook_on = 1;
    for (int r = 0; r < 1000; r++) {
        bnn_profile_begin(NULL);
        bnn_profile_end(NULL);
    }
    hook_on = 0;
    printf("BENCH port=%s ops=%u hook=%s/1000\n", bnn_port_name(), (unsigned)model.n_ops, u64s(hook_total, a));

    for (uint32_t i = 0; i < model.n_ops; i++) {
        bnn_op_info_t op;
        bnn_tensor_info_t out;
        (void)bnn_model_op(&model, i, &op);
        const uint8_t *y = (const uint8_t *)bnn_tensor_ptr(&interp, op.out, &out);
        uint32_t reps_ref, reps_opt;
        uint64_t t_ref, t_opt;
        bnn_interpreter_set_kernels(&interp, BNN_KERNELS_REFERENCE);
        time_op(i, &reps_ref, &t_ref);
        memcpy(saved, y, out.size_bytes);
        bnn_interpreter_set_kernels(&interp, BNN_KERNELS_OPTIMIZED);
        time_op(i, &reps_opt, &t_opt);
        const int equal = memcmp(saved, y, out.size_bytes) == 0;
        printf("OP %u %u ref %u %s", (unsigned)i, (unsigned)op.type, (unsigned)reps_ref, u64s(t_ref, a));
        printf(" opt %u %s equal %d\n", (unsigned)reps_opt, u64s(t_opt, b), equal);
    }

    bnn_tensor_info_t oi;
    const uint8_t *yo = (const uint8_t *)bnn_output_ptr(&interp, &oi);
    uint64_t tm[2];
    for (int k = 0; k < 2; k++) {
        bnn_interpreter_set_kernels(&interp, k == 0 ? BNN_KERNELS_REFERENCE : BNN_KERNELS_OPTIMIZED);
        (void)bnn_set_input(&interp, bnn_inputs, bnn_input_len);
        const uint64_t t0 = bnn_port_ticks();
        (void)bnn_invoke(&interp);
        tm[k] = bnn_port_ticks() - t0;
        if (k == 0) memcpy(saved, yo, oi.size_bytes);
    }
    printf("MODEL ref %s opt %s equal %d\n", u64s(tm[0], a), u64s(tm[1], b), memcmp(saved, yo, oi.size_bytes) == 0);
    return 0;
}
