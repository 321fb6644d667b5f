/* bnn-edge firmware tests: small models built with the pack builder. */
#include "test_models.h"

#include <string.h>

#define TM_MAX_WORDS 16384
static uint32_t tm_w[TM_MAX_WORDS];
static int32_t tm_t[1024];

static uint32_t rand_weights(bnn_rng_t *r, uint32_t rows, int32_t c) {
    const uint32_t words = (uint32_t)bnn_words(c);
    if (rows * words > TM_MAX_WORDS) return 0;
    bnn_test_fill_bits(r, tm_w, rows, c, 128);
    return rows * words * 4u;
}

static const int32_t *rand_thresh(bnn_rng_t *r, int32_t n, int32_t k) {
    for (int32_t i = 0; i < n; i++) tm_t[i] = bnn_rng_range(r, k / 2 - k / 6, k / 2 + k / 6);
    return tm_t;
}

static uint16_t conv(pack_builder_t *pb, bnn_rng_t *r, uint16_t in, uint32_t ho, uint32_t wo,
                     uint32_t cout, int32_t k, int32_t stride, int32_t pad, int32_t groups, int int_out) {
    const bnn_tensor_info_t *ti = &pb->tensors[in];
    const int32_t cin_g = (int32_t)ti->c / groups;
    uint16_t out = pb_tensor(pb, int_out ? BNN_DTYPE_INT32 : BNN_DTYPE_BITS, ho, wo, cout);
    const int32_t p[8] = {k, k, stride, stride, 1, 1, pad, groups};
    uint32_t wl = rand_weights(r, cout * (uint32_t)(k * k), cin_g);
    pb_op(pb, BNN_OP_BCONV2D, in, BNN_TENSOR_NONE, out, p, tm_w, wl,
          int_out ? NULL : rand_thresh(r, (int32_t)cout, k * k * cin_g), int_out ? 0u : cout);
    return out;
}

static uint16_t dense(pack_builder_t *pb, bnn_rng_t *r, uint16_t in, uint32_t cout, int int_out) {
    const bnn_tensor_info_t *ti = &pb->tensors[in];
    const int32_t cin = (int32_t)(ti->h * ti->w * ti->c);
    uint16_t out = pb_tensor(pb, int_out ? BNN_DTYPE_INT32 : BNN_DTYPE_BITS, 1, 1, cout);
    const int32_t p[8] = {cin, (int32_t)cout, 0, 0, 0, 0, 0, 0};
    uint32_t wl = rand_weights(r, cout, cin);
    pb_op(pb, BNN_OP_BDENSE, in, BNN_TENSOR_NONE, out, p, tm_w, wl,
          int_out ? NULL : rand_thresh(r, (int32_t)cout, cin), int_out ? 0u : cout);
    return out;
}

static uint16_t thermo(pack_builder_t *pb, uint16_t in, int32_t levels) {
    const bnn_tensor_info_t *ti = &pb->tensors[in];
    uint16_t out = pb_tensor(pb, BNN_DTYPE_BITS, ti->h, ti->w, ti->c * (uint32_t)levels);
    const int32_t p[8] = {levels, 0, 0, 0, 0, 0, 0, 0};
    for (int32_t l = 0; l < levels; l++) tm_t[l] = (l + 1) * 256 / (levels + 1);
    pb_op(pb, BNN_OP_THERMO_ENCODE, in, BNN_TENSOR_NONE, out, p, NULL, 0, tm_t, (uint32_t)levels);
    return out;
}

static uint16_t maxpool(pack_builder_t *pb, uint16_t in, int32_t k, int32_t s) {
    const bnn_tensor_info_t *ti = &pb->tensors[in];
    uint16_t out = pb_tensor(pb, BNN_DTYPE_BITS, (ti->h - (uint32_t)k) / (uint32_t)s + 1u,
                             (ti->w - (uint32_t)k) / (uint32_t)s + 1u, ti->c);
    const int32_t p[8] = {k, k, s, s, BNN_PADDING_VALID, 0, 0, 0};
    pb_op(pb, BNN_OP_BMAXPOOL2D, in, BNN_TENSOR_NONE, out, p, NULL, 0, NULL, 0);
    return out;
}

static uint16_t depthwise(pack_builder_t *pb, bnn_rng_t *r, uint16_t in, int32_t k) {
    const bnn_tensor_info_t *ti = &pb->tensors[in];
    uint16_t out = pb_tensor(pb, BNN_DTYPE_BITS, ti->h, ti->w, ti->c);
    const int32_t p[8] = {k, k, 1, 1, BNN_PADDING_SAME, 0, 0, 0};
    uint32_t wl = rand_weights(r, (uint32_t)(k * k), (int32_t)ti->c);
    pb_op(pb, BNN_OP_BDEPTHWISE2D, in, BNN_TENSOR_NONE, out, p, tm_w, wl,
          rand_thresh(r, (int32_t)ti->c, k * k), ti->c);
    return out;
}

void tm_build_all_ops(pack_builder_t *pb, uint64_t seed) {
    bnn_rng_t r;
    bnn_rng_seed(&r, seed);
    pb_init(pb);
    uint16_t x = pb_tensor(pb, BNN_DTYPE_UINT8, 6, 6, 2);
    pb->input = x;
    x = thermo(pb, x, 4);
    x = conv(pb, &r, x, 6, 6, 40, 3, 1, BNN_PADDING_SAME, 1, 0);
    x = maxpool(pb, x, 2, 2);
    x = depthwise(pb, &r, x, 3);
    x = conv(pb, &r, x, 1, 1, 16, 3, 1, BNN_PADDING_VALID, 1, 0);
    x = dense(pb, &r, x, 32, 0);
    pb->latent = x;
    uint16_t cat = pb_tensor(pb, BNN_DTYPE_BITS, 1, 1, 64);
    pb_op(pb, BNN_OP_CONCAT, x, x, cat, NULL, NULL, 0, NULL, 0);
    pb->output = dense(pb, &r, cat, 10, 1);
    pb->meta = "{\"preset\":\"test\",\"classes\":[0,1,2,3,4,5,6,7,8,9]}";
}

void tm_build_grouped(pack_builder_t *pb, uint64_t seed) {
    bnn_rng_t r;
    bnn_rng_seed(&r, seed);
    pb_init(pb);
    uint16_t x = pb_tensor(pb, BNN_DTYPE_BITS, 5, 5, 64);
    pb->input = x;
    x = conv(pb, &r, x, 3, 3, 32, 3, 2, BNN_PADDING_SAME, 2, 0);
    pb->output = conv(pb, &r, x, 3, 3, 12, 1, 1, BNN_PADDING_VALID, 1, 1);
}

void tm_build_bench(pack_builder_t *pb, uint64_t seed) {
    bnn_rng_t r;
    bnn_rng_seed(&r, seed);
    pb_init(pb);
    uint16_t x = pb_tensor(pb, BNN_DTYPE_UINT8, 16, 16, 1);
    pb->input = x;
    x = thermo(pb, x, 8);
    x = conv(pb, &r, x, 16, 16, 32, 3, 1, BNN_PADDING_SAME, 1, 0);
    x = maxpool(pb, x, 2, 2);
    x = conv(pb, &r, x, 8, 8, 64, 3, 1, BNN_PADDING_SAME, 1, 0);
    x = maxpool(pb, x, 2, 2);
    x = depthwise(pb, &r, x, 3);
    x = conv(pb, &r, x, 2, 2, 64, 3, 1, BNN_PADDING_VALID, 1, 0);
    x = dense(pb, &r, x, 64, 0);
    pb->latent = x;
    pb->output = dense(pb, &r, x, 10, 1);
}
