/* bnn-edge: kernel and whole-model timings, reference vs optimized (host and Cortex-M).
 *
 * Host: ticks are nanoseconds (best of several runs). Cortex-M under QEMU with -icount shift=0
 * (`make bench`): SysTick runs at the 25 MHz board clock and virtual time advances 1 ns per
 * instruction, so instructions ~= ticks * 40 (QEMU has no cycle model; on silicon, cycles per
 * instruction vary). */
#include <stdio.h>
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_port.h"
#include "bnn_test.h"
#include "pack_builder.h"
#include "test_models.h"
#include "bnn_u64s.h"

#ifdef BNN_TARGET_CORTEX_M
#define REPS 1
#define INSTR_PER_TICK 40u
#else
#define REPS 20
#define INSTR_PER_TICK 0u
#endif

static uint32_t in_buf[8192], w_buf[40000], out_buf[16384], scratch[4096];
static int32_t th[512];
static uint8_t px[4096];

typedef void (*bench_fn)(int optimized);


static uint64_t measure(bench_fn fn, int optimized) {
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = bnn_port_ticks();
        fn(optimized);
        uint64_t t = bnn_port_ticks() - t0;
        if (t < best) best = t;
    }
    return best;
}

static void report(const char *name, bench_fn fn) {
    uint64_t ref = measure(fn, 0), opt = measure(fn, 1);
    if (opt == 0) opt = 1;
    char a[24], b[24], c[24];
    printf("%-52s ref %10s  opt %10s  x%s.%02u", name, u64s(ref, a), u64s(opt, b), u64s(ref / opt, c),
           (unsigned)((ref * 100u / opt) % 100u));
    if (INSTR_PER_TICK) printf("   (opt ~%s instructions)", u64s(opt * INSTR_PER_TICK, a));
    printf("\n");
}

static bnn_bconv2d_args_t conv;
static void run_conv(int optimized) {
    if (optimized) bnn_bconv2d_optimized(&conv, scratch);
    else bnn_bconv2d_reference(&conv);
}
static void setup_conv(int32_t h, int32_t cin, int32_t cout, int32_t k, int int_out) {
    bnn_rng_t r;
    bnn_rng_seed(&r, 1);
    memset(&conv, 0, sizeof(conv));
    conv.input = in_buf;
    conv.in_h = conv.in_w = h;
    conv.in_c = cin;
    conv.weights = w_buf;
    conv.out_h = conv.out_w = h;
    conv.out_c = cout;
    conv.kh = conv.kw = k;
    conv.stride_h = conv.stride_w = conv.dilation_h = conv.dilation_w = conv.groups = 1;
    conv.pad_top = conv.pad_left = (k - 1) / 2;
    bnn_test_fill_bits(&r, in_buf, (size_t)h * h, cin, 128);
    bnn_test_fill_bits(&r, w_buf, (size_t)cout * k * k, cin, 128);
    for (int32_t o = 0; o < cout; o++) th[o] = k * k * cin / 2;
    conv.thresholds = int_out ? NULL : th;
    conv.out_bits = int_out ? NULL : out_buf;
    conv.out_int32 = int_out ? (int32_t *)out_buf : NULL;
}

static bnn_bdepthwise2d_args_t dw;
static void run_dw(int optimized) {
    if (optimized) bnn_bdepthwise2d_optimized(&dw, scratch);
    else bnn_bdepthwise2d_reference(&dw);
}

static bnn_bdense_args_t dense;
static void run_dense(int optimized) {
    if (optimized) bnn_bdense_optimized(&dense, NULL);
    else bnn_bdense_reference(&dense);
}

static bnn_bmaxpool2d_args_t pool;
static void run_pool(int optimized) {
    if (optimized) bnn_bmaxpool2d_optimized(&pool, NULL);
    else bnn_bmaxpool2d_reference(&pool);
}

static bnn_thermo_encode_args_t thermo;
static void run_thermo(int optimized) {
    if (optimized) bnn_thermo_encode_optimized(&thermo, scratch);
    else bnn_thermo_encode_reference(&thermo);
}

static bnn_concat_args_t cat;
static void run_cat(int optimized) {
    if (optimized) bnn_concat_optimized(&cat, NULL);
    else bnn_concat_reference(&cat);
}

static pack_builder_t pb;
static uint32_t pack_w[16384];
static uint32_t arena[32768];
static bnn_model_t model;
static bnn_interpreter_t interp;
static void run_model(int optimized) {
    bnn_interpreter_set_kernels(&interp, optimized ? BNN_KERNELS_OPTIMIZED : BNN_KERNELS_REFERENCE);
    bnn_invoke(&interp);
}

int main(void) {
    bnn_port_init();
    printf("bnn-edge bench on %s (%s)\n", bnn_port_name(),
           INSTR_PER_TICK ? "ticks = SysTick @25 MHz" : "ticks = ns, best of 20");
    bnn_rng_t r;
    bnn_rng_seed(&r, 2);

    setup_conv(16, 32, 32, 3, 0);
    report("bconv2d 16x16x32 -> 32, 3x3 SAME, bits", run_conv);
    setup_conv(8, 64, 64, 3, 0);
    report("bconv2d 8x8x64 -> 64, 3x3 SAME, bits", run_conv);
    setup_conv(8, 256, 64, 3, 0);
    report("bconv2d 8x8x256 -> 64, 3x3 SAME, bits", run_conv);
    setup_conv(8, 40, 32, 3, 1);
    report("bconv2d 8x8x40 -> 32, 3x3 SAME, int32", run_conv);
    setup_conv(8, 64, 64, 1, 0);
    report("bconv2d 8x8x64 -> 64, 1x1, bits", run_conv);

    bnn_test_fill_bits(&r, in_buf, 64, 64, 128);
    bnn_test_fill_bits(&r, w_buf, 9, 64, 128);
    for (int i = 0; i < 64; i++) th[i] = 4;
    dw = (bnn_bdepthwise2d_args_t){in_buf, 8, 8, 64, w_buf, th, out_buf, NULL, 8, 8, 3, 3, 1, 1, 1, 1};
    report("bdepthwise2d 8x8x64, 3x3 SAME, bits", run_dw);
    dw.thresholds = NULL;
    dw.out_bits = NULL;
    dw.out_int32 = (int32_t *)out_buf;
    report("bdepthwise2d 8x8x64, 3x3 SAME, int32", run_dw);

    bnn_test_fill_bits(&r, in_buf, 1, 1024, 128);
    bnn_test_fill_bits(&r, w_buf, 64, 1024, 128);
    for (int i = 0; i < 64; i++) th[i] = 512;
    dense = (bnn_bdense_args_t){in_buf, 1024, w_buf, th, out_buf, NULL, 64};
    report("bdense 1024 -> 64, bits", run_dense);
    dense = (bnn_bdense_args_t){in_buf, 192, w_buf, NULL, NULL, (int32_t *)out_buf, 10};
    report("bdense 192 -> 10, int32", run_dense);

    bnn_test_fill_bits(&r, in_buf, 256, 64, 200);
    pool = (bnn_bmaxpool2d_args_t){in_buf, 16, 16, 64, out_buf, 8, 8, 2, 2, 2, 2};
    report("bmaxpool2d 16x16x64, 2x2/2", run_pool);

    for (int i = 0; i < 28 * 28; i++) px[i] = (uint8_t)bnn_rng_u32(&r);
    for (int l = 0; l < 8; l++) th[l] = (l + 1) * 28;
    thermo = (bnn_thermo_encode_args_t){px, 28, 28, 1, th, 8, out_buf};
    report("thermo_encode 28x28x1, L=8", run_thermo);
    thermo = (bnn_thermo_encode_args_t){px, 10, 10, 3, th, 8, out_buf};
    report("thermo_encode 10x10x3, L=8", run_thermo);

    bnn_test_fill_bits(&r, in_buf, 1, 40, 128);
    cat = (bnn_concat_args_t){in_buf, in_buf, 1, 1, 40, 40, out_buf};
    report("concat 40 ++ 40", run_cat);

    tm_build_bench(&pb, 3);
    uint32_t len = pb_finish(&pb, (uint8_t *)pack_w, sizeof(pack_w));
    if (bnn_model_load(&model, pack_w, len) != BNN_OK ||
        bnn_interpreter_init(&interp, &model, arena, sizeof(arena)) != BNN_OK) {
        printf("bench model failed to load\n");
        return 1;
    }
    for (int i = 0; i < 256; i++) px[i] = (uint8_t)bnn_rng_u32(&r);
    bnn_set_input(&interp, px, 256);
    report("model 16x16 (thermo,2 conv,2 pool,dw,conv,2 dense)", run_model);
    printf("model: pack %u bytes, arena+scratch %u bytes\n", (unsigned)len, (unsigned)bnn_model_arena_size(&model));
    return 0;
}
