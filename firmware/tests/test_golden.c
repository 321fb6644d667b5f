/* Golden vectors from the Python bit-exact simulator (tests/golden/golden_cases.h, generated):
 * every case, every input, both kernel families must reproduce the output and latent tensor
 * storage byte for byte. The arena is filled with garbage before every inference. */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <string.h>

#include "bnn/bnn.h"
#include "bnn_test.h"
#include "golden/golden_cases.h"

#define ARENA_WORDS (256u * 1024u / 4u)
#define PACK_WORDS (64u * 1024u / 4u)
static uint32_t arena[ARENA_WORDS];
static uint32_t pack_copy[PACK_WORDS];

static int mem_eq(const void *a, const void *b, size_t n, size_t *first_diff) {
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) {
            *first_diff = i;
            return 0;
        }
    return 1;
}

static void run_case(const bnn_golden_case_t *gc) {
    const uint8_t *pack = gc->pack;
    if ((uintptr_t)pack % 4u) { /* the generator aligns them, but do not depend on it */
        if (gc->pack_len > sizeof(pack_copy)) {
            CHECK(0, "%s: pack of %u bytes does not fit the copy buffer", gc->name, (unsigned)gc->pack_len);
            return;
        }
        memcpy(pack_copy, pack, gc->pack_len);
        pack = (const uint8_t *)pack_copy;
    }
    bnn_model_t model;
    bnn_status_t s = bnn_model_load(&model, pack, gc->pack_len);
    CHECK(s == BNN_OK, "%s: load: %s", gc->name, bnn_status_str(s));
    if (s != BNN_OK) return;
    const uint32_t need = bnn_model_arena_size(&model);
    CHECK(need <= sizeof(arena), "%s: arena %u > %u", gc->name, (unsigned)need, (unsigned)sizeof(arena));
    if (need > sizeof(arena)) return;

    for (int fam = 0; fam < 2; fam++) {
        bnn_interpreter_t it;
        s = bnn_interpreter_init(&it, &model, arena, need);
        CHECK(s == BNN_OK, "%s: init: %s", gc->name, bnn_status_str(s));
        if (s != BNN_OK) return;
        bnn_interpreter_set_kernels(&it, fam ? BNN_KERNELS_REFERENCE : BNN_KERNELS_OPTIMIZED);
        const char *fname = fam ? "reference" : "optimized";
        for (uint32_t i = 0; i < gc->n_inputs; i++) {
            memset(arena, 0xA5 + (int)i, need);
            s = bnn_set_input(&it, gc->inputs + (size_t)i * gc->input_len, gc->input_len);
            CHECK(s == BNN_OK, "%s: set_input: %s", gc->name, bnn_status_str(s));
            s = bnn_invoke(&it);
            CHECK(s == BNN_OK, "%s: invoke: %s", gc->name, bnn_status_str(s));
            bnn_tensor_info_t oi;
            const uint8_t *out = (const uint8_t *)bnn_output_ptr(&it, &oi);
            size_t d = 0;
            CHECK(oi.size_bytes == gc->output_len, "%s: output size %u != %u", gc->name,
                  (unsigned)oi.size_bytes, (unsigned)gc->output_len);
            CHECK(out && oi.size_bytes == gc->output_len &&
                      mem_eq(out, gc->outputs + (size_t)i * gc->output_len, gc->output_len, &d),
                  "%s [%s] input %u: output differs at byte %u", gc->name, fname, (unsigned)i,
                  (unsigned)d);
            bnn_tensor_info_t li;
            const uint32_t *lat = bnn_latent_ptr(&it, &li);
            if (gc->latents) {
                CHECK(lat && li.size_bytes == gc->latent_len &&
                          mem_eq(lat, gc->latents + (size_t)i * gc->latent_len, gc->latent_len, &d),
                      "%s [%s] input %u: latent differs at byte %u", gc->name, fname, (unsigned)i,
                      (unsigned)d);
            } else {
                CHECK(lat == NULL && gc->latent_len == 0u, "%s: unexpected latent", gc->name);
            }
        }
    }
}

int main(void) {
    CHECK(BNN_GOLDEN_N_CASES > 0, "no golden cases");
    for (int c = 0; c < BNN_GOLDEN_N_CASES; c++) run_case(&bnn_golden_cases[c]);
    return bnn_test_summary();
}
