/* Interpreter: inputs/outputs/latent accessors, exact arena size with a canary after it,
 * independence from arena garbage, BITS input tail masking, both kernel families equal,
 * two interpreters sharing one model, op-by-op invocation. */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"
#include "pack_builder.h"
#include "test_models.h"

#ifdef BNN_TARGET_CORTEX_M
#define N_INPUTS 150
#else
#define N_INPUTS 300
#endif
#define CANARY 32

static pack_builder_t pb;
static uint32_t pack_w[4096];
static uint32_t arena_a[8192 + CANARY], arena_b[8192 + CANARY];
static int32_t out_a[64], out_b[64];
static uint32_t lat_a[8];

static void test_all_ops(void) {
    tm_build_all_ops(&pb, 11);
    uint32_t len = pb_finish(&pb, (uint8_t *)pack_w, sizeof(pack_w));
    bnn_model_t m;
    CHECK(bnn_model_load(&m, pack_w, len) == BNN_OK, "load");
    const uint32_t need = bnn_model_arena_size(&m);
    CHECK(need + CANARY * 4u <= sizeof(arena_a), "arena fits");
    bnn_interpreter_t a, b;
    CHECK(bnn_interpreter_init(&a, &m, arena_a, need) == BNN_OK, "init a");
    CHECK(bnn_interpreter_init(&b, &m, arena_b, need) == BNN_OK, "init b");
    bnn_interpreter_set_kernels(&b, BNN_KERNELS_REFERENCE);
    CHECK(a.kernels == BNN_KERNELS_OPTIMIZED, "optimized is the default");
    bnn_test_canary_fill(arena_a + need / 4u, CANARY);
    bnn_test_canary_fill(arena_b + need / 4u, CANARY);

    bnn_tensor_info_t ti;
    uint8_t *in = (uint8_t *)bnn_input_ptr(&a, &ti);
    CHECK(in == (uint8_t *)arena_a + pb.tensors[0].arena_offset && ti.dtype == BNN_DTYPE_UINT8, "input ptr");
    CHECK(bnn_tensor_ptr(&a, 9, NULL) == NULL, "tensor_ptr out of range");
    uint8_t img[72];
    CHECK(bnn_set_input(&a, img, 71) == BNN_ERR_INPUT_SIZE, "input 71 bytes");
    CHECK(bnn_set_input(&a, img, 76) == BNN_ERR_INPUT_SIZE, "input 76 bytes");
    CHECK(bnn_set_input(&a, NULL, 72) == BNN_ERR_NULL_ARG, "input NULL");

    bnn_rng_t r;
    bnn_rng_seed(&r, 4242);
    for (int i = 0; i < N_INPUTS; i++) {
        for (int k = 0; k < 72; k++) img[k] = (uint8_t)bnn_rng_u32(&r);
        memset(arena_a, 0x11 * (i % 15), need);
        memset(arena_b, 0xFF - 3 * i, need);
        CHECK(bnn_set_input(&a, img, 72) == BNN_OK, "set_input");
        CHECK(bnn_set_input(&b, img, 72) == BNN_OK, "set_input");
        CHECK(bnn_invoke(&a) == BNN_OK && bnn_invoke(&b) == BNN_OK, "invoke");
        const int32_t *oa = (const int32_t *)bnn_output_ptr(&a, &ti);
        const int32_t *ob = (const int32_t *)bnn_output_ptr(&b, NULL);
        CHECK(ti.dtype == BNN_DTYPE_INT32 && ti.c == 10u, "output info");
        memcpy(out_a, oa, 40);
        memcpy(out_b, ob, 40);
        CHECK(memcmp(out_a, out_b, 40) == 0, "optimized != reference on input %d", (int)i);
        int range_ok = 1;
        for (int k = 0; k < 10; k++) range_ok &= out_a[k] >= -64 && out_a[k] <= 64 && (out_a[k] & 1) == 0;
        CHECK(range_ok, "logits in [-K, K] with K's parity");
        const uint32_t *la = bnn_latent_ptr(&a, &ti);
        CHECK(la && ti.size_bytes == 4u && ti.c == 32u, "latent info");
        memcpy(lat_a, la, 4);
        CHECK(memcmp(lat_a, bnn_latent_ptr(&b, NULL), 4) == 0, "latent differs");
        /* same input again, other garbage: same result */
        memset(arena_a, 0x5A, need);
        bnn_set_input(&a, img, 72);
        bnn_invoke(&a);
        CHECK(memcmp(out_a, bnn_output_ptr(&a, NULL), 40) == 0, "depends on arena garbage");
        /* op by op (bnn_invoke_op), each op run twice: the same result */
        memset(arena_a, 0xC3, need);
        bnn_set_input(&a, img, 72);
        int ops_ok = 1;
        for (uint32_t k = 0; k < m.n_ops; k++) ops_ok &= bnn_invoke_op(&a, k) == BNN_OK && bnn_invoke_op(&a, k) == BNN_OK;
        CHECK(ops_ok && memcmp(out_a, bnn_output_ptr(&a, NULL), 40) == 0, "bnn_invoke_op sequence");
        CHECK(bnn_invoke_op(&a, m.n_ops) == BNN_ERR_OP_TYPE && bnn_invoke_op(NULL, 0) == BNN_ERR_NULL_ARG,
              "bnn_invoke_op errors");
        /* the storage-sized input works too for this 72-byte (already padded) tensor */
        CHECK(bnn_set_input(&a, img, 72) == BNN_OK, "storage-sized input");
    }
    CHECK(bnn_test_canary_ok(arena_a + need / 4u, CANARY), "write past arena (optimized)");
    CHECK(bnn_test_canary_ok(arena_b + need / 4u, CANARY), "write past arena (reference)");
}

static void test_bits_input(void) {
    /* BITS[2,2,20] input -> concat(self) -> BITS[2,2,40]; garbage tail bits of the input are
     * cleared by bnn_invoke, so the output equals the clean result */
    pb_init(&pb);
    uint16_t x = pb_tensor(&pb, BNN_DTYPE_BITS, 2, 2, 20);
    uint16_t y = pb_tensor(&pb, BNN_DTYPE_BITS, 2, 2, 40);
    pb_op(&pb, BNN_OP_CONCAT, x, x, y, NULL, NULL, 0, NULL, 0);
    pb.input = x;
    pb.output = y;
    uint32_t len = pb_finish(&pb, (uint8_t *)pack_w, sizeof(pack_w));
    bnn_model_t m;
    CHECK(bnn_model_load(&m, pack_w, len) == BNN_OK, "load bits model");
    CHECK(bnn_model_arena_size(&m) == 48u, "arena 16 + 32, no scratch (%u)", (unsigned)(bnn_model_arena_size(&m)));
    bnn_interpreter_t it;
    CHECK(bnn_interpreter_init(&it, &m, arena_a, sizeof(arena_a)) == BNN_OK, "init");
    CHECK(bnn_latent_ptr(&it, NULL) == NULL, "no latent");
    const uint32_t clean[4] = {0x000ABCDEu, 0x00012345u, 0x000FFFFFu, 0u};
    const uint32_t dirty[4] = {0xFFFABCDEu, 0x80012345u, 0x123FFFFFu, 0xFFF00000u};
    for (int fam = 0; fam < 2; fam++) {
        bnn_interpreter_set_kernels(&it, fam ? BNN_KERNELS_REFERENCE : BNN_KERNELS_OPTIMIZED);
        CHECK(bnn_set_input(&it, dirty, 16) == BNN_OK, "set");
        bnn_invoke(&it);
        const uint32_t *o = (const uint32_t *)bnn_output_ptr(&it, NULL);
        int ok = 1;
        for (int p = 0; p < 4; p++) {
            uint64_t want = (uint64_t)clean[p] | ((uint64_t)clean[p] << 20);
            ok &= o[2 * p] == (uint32_t)want && o[2 * p + 1] == (uint32_t)(want >> 32);
        }
        CHECK(ok, "tail bits of a BITS input are ignored (family %d)", (int)fam);
    }
}

static void test_grouped(void) {
    tm_build_grouped(&pb, 5);
    uint32_t len = pb_finish(&pb, (uint8_t *)pack_w, sizeof(pack_w));
    bnn_model_t m;
    CHECK(bnn_model_load(&m, pack_w, len) == BNN_OK, "load grouped");
    const uint32_t need = bnn_model_arena_size(&m);
    bnn_interpreter_t a, b;
    CHECK(bnn_interpreter_init(&a, &m, arena_a, need) == BNN_OK, "init");
    CHECK(bnn_interpreter_init(&b, &m, arena_b, need) == BNN_OK, "init");
    bnn_interpreter_set_kernels(&b, BNN_KERNELS_REFERENCE);
    bnn_rng_t r;
    bnn_rng_seed(&r, 77);
    static uint32_t in[5 * 5 * 2];
    for (int i = 0; i < N_INPUTS / 4; i++) {
        bnn_test_fill_bits(&r, in, 25, 64, 128);
        bnn_set_input(&a, in, sizeof(in));
        bnn_set_input(&b, in, sizeof(in));
        bnn_invoke(&a);
        bnn_invoke(&b);
        bnn_tensor_info_t ti;
        const void *oa = bnn_output_ptr(&a, &ti);
        CHECK(ti.dtype == BNN_DTYPE_INT32 && ti.h == 3u && ti.w == 3u && ti.c == 12u, "grouped output shape");
        CHECK(memcmp(oa, bnn_output_ptr(&b, NULL), ti.size_bytes) == 0, "grouped: optimized != reference");
    }
}

int main(void) {
    test_all_ops();
    test_bits_input();
    test_grouped();
    return bnn_test_summary();
}
