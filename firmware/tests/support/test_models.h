/* bnn-edge firmware tests: small models built with the pack builder, shared by the loader,
 * interpreter, app-smoke and benchmark programs. */
#ifndef BNN_TEST_MODELS_H
#define BNN_TEST_MODELS_H

#include <stdint.h>

#include "bnn_test.h"
#include "pack_builder.h"

/* Every op type once: UINT8[6,6,2] -thermo L=4-> [6,6,8] -bconv3x3 SAME-> [6,6,40]
 * -maxpool2x2/2-> [3,3,40] -depthwise3x3 SAME-> [3,3,40] -bconv3x3 VALID-> [1,1,16]
 * -dense-> [1,1,32] (latent) -concat(self)-> [1,1,64] -dense-> INT32[1,1,10] (output).
 * Weights/thresholds random from the seed. Op indices: 0 thermo, 1 bconv, 2 maxpool, 3 dw,
 * 4 bconv, 5 dense, 6 concat, 7 dense. Tensor ids 0..8 in that order. */
void tm_build_all_ops(pack_builder_t *pb, uint64_t seed);

/* A grouped conv model: BITS[5,5,64] -bconv3x3 SAME groups=2, stride 2-> BITS[3,3,32]
 * -bconv1x1 VALID-> INT32[3,3,12]. */
void tm_build_grouped(pack_builder_t *pb, uint64_t seed);

/* A bigger classifier-like model for benchmarks: UINT8[16,16,1] thermo L=8 -> bconv 3x3 32ch
 * -> maxpool -> bconv 3x3 64ch -> maxpool -> depthwise 3x3 -> dense 256->64 (latent)
 * -> dense 64->10 int32. */
void tm_build_bench(pack_builder_t *pb, uint64_t seed);

#endif /* BNN_TEST_MODELS_H */
