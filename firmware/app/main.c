/* bnn-edge example application: copy this file to your board project.
 *
 * Loads and validates the compiled-in model pack, runs every compiled-in input and prints, on
 * stdout, one line per input:
 *     IMG <i> LATENT <hex of the latent tensor storage bytes, lowercase, or -> OUT <output>
 * where <output> is the int32 values separated by spaces for an INT32 output tensor, else the
 * hex of its storage bytes; then
 *     DONE <n> arena=<bytes>
 * (bytes = bnn_model_arena_size(): planned arena + kernel scratch). Exit status 0; a rejected
 * pack or a too small arena prints a message on stderr and exits nonzero.
 *
 * BNN_APP_ARENA_BYTES sets the static arena (make app ARENA_BYTES=...). Define BNN_APP_TIMING to
 * also print the ticks of each inference on stderr (bnn_port_ticks(): ns on the host, core
 * clock cycles on Cortex-M). */
#include <inttypes.h>
#include <stdio.h>

#include "bnn/bnn.h"
#include "bnn_port.h"
#include "input_data.h"
#include "model_data.h"

#ifndef BNN_APP_ARENA_BYTES
#define BNN_APP_ARENA_BYTES (256u * 1024u)
#endif

static uint32_t arena[(BNN_APP_ARENA_BYTES + 3u) / 4u];
static bnn_model_t model;
static bnn_interpreter_t interp;

static void print_hex(const uint8_t *p, uint32_t n) {
    static const char digits[] = "0123456789abcdef";
    char buf[129];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        buf[k++] = digits[p[i] >> 4];
        buf[k++] = digits[p[i] & 15u];
        if (k == 128u) {
            buf[k] = '\0';
            fputs(buf, stdout);
            k = 0;
        }
    }
    buf[k] = '\0';
    fputs(buf, stdout);
}

int main(void) {
    bnn_port_init();
    bnn_status_t s = bnn_model_load(&model, bnn_model_data, bnn_model_data_len);
    if (s != BNN_OK) {
        fprintf(stderr, "bnn-app: model rejected: %s (status %d)\n", bnn_status_str(s), (int)s);
        return 2;
    }
    const uint32_t need = bnn_model_arena_size(&model);
    s = bnn_interpreter_init(&interp, &model, arena, sizeof(arena));
    if (s != BNN_OK) {
        fprintf(stderr, "bnn-app: %s: the model needs %" PRIu32 " bytes, the app has %u "
                        "(rebuild with ARENA_BYTES=%" PRIu32 ")\n",
                bnn_status_str(s), need, (unsigned)sizeof(arena), need);
        return 3;
    }
    for (uint32_t i = 0; i < bnn_n_inputs; i++) {
        s = bnn_set_input(&interp, bnn_inputs + (size_t)i * bnn_input_len, bnn_input_len);
        if (s != BNN_OK) {
            fprintf(stderr, "bnn-app: input %" PRIu32 ": %s (%" PRIu32 " bytes)\n", i, bnn_status_str(s),
                    bnn_input_len);
            return 4;
        }
        const uint64_t t0 = bnn_port_ticks();
        s = bnn_invoke(&interp);
        const uint64_t t1 = bnn_port_ticks();
        if (s != BNN_OK) {
            fprintf(stderr, "bnn-app: invoke: %s\n", bnn_status_str(s));
            return 5;
        }
#ifdef BNN_APP_TIMING
        fprintf(stderr, "TIME %" PRIu32 " %lu ticks (%s)\n", i, (unsigned long)(t1 - t0), bnn_port_name());
#else
        (void)t0;
        (void)t1;
#endif
        printf("IMG %" PRIu32 " LATENT ", i);
        bnn_tensor_info_t li, oi;
        const uint32_t *lat = bnn_latent_ptr(&interp, &li);
        if (lat) print_hex((const uint8_t *)lat, li.size_bytes);
        else fputs("-", stdout);
        fputs(" OUT", stdout);
        const void *out = bnn_output_ptr(&interp, &oi);
        if (oi.dtype == BNN_DTYPE_INT32) {
            const int32_t *v = (const int32_t *)out;
            const uint32_t n = oi.h * oi.w * oi.c;
            for (uint32_t k = 0; k < n; k++) printf(" %" PRId32, v[k]);
        } else {
            fputs(" ", stdout);
            print_hex((const uint8_t *)out, oi.size_bytes);
        }
        fputs("\n", stdout);
    }
    printf("DONE %" PRIu32 " arena=%" PRIu32 "\n", bnn_n_inputs, need);
    fflush(stdout);
    return 0;
}
