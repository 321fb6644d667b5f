/* The on-device head's W2 update: the optimized loop (two int16 lanes per QSUB16 on DSP cores,
 * head/bnn_head_update.c) against the reference loop, bit for bit:
 *   1. one row at a time: random latents within [-clip, clip], random c, clips at and around
 *      every boundary of the optimized arithmetic (1, 2, 16383, 16384, 16385, 32767, ...), steps
 *      around +-(clip + 1) (where the optimized loop hands over to the reference) and up to 2^30;
 *   2. whole heads: two heads with the same config, one on each loop (bnn_head_set_kernels), run
 *      the same long random stream (buffer_add, learn with replays, end_task, predict): equal
 *      predictions and logits after every op and equal state blobs and packed W2 at checkpoints,
 *      for the default head and for configs that saturate often (small clip, large lr); the
 *      kernel switch selects the logits too (bnn_xpc rows against per-word popcounts), and one
 *      head is wide enough (C = 2560) for their chunked path;
 *   3. W1·z: a head with its PRNG W1 (kept bit-transposed, counted vertically) against a head given
 *      the same W1 row-major (bnn_xpc rows): same stream, same predictions and state.
 * BNN_TEST_LARGE_RAM: its heads do not fit a 16 KiB part (not built for m0). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"
#include "bnn_test.h"
#include "head/bnn_head_update.h"

/* ---- 1. rows --------------------------------------------------------------------------------- */
#define MAXCW 12u
static int16_t ref_l[2 * MAXCW * 32u], opt_l[2 * MAXCW * 32u];
static uint32_t ref_w[2 * MAXCW], opt_w[2 * MAXCW], cvec[MAXCW];

static void test_rows(void) {
    static const int32_t clips[] = {1, 2, 3, 7, 100, 2047, 2048, 4096, 16382, 16383, 16384, 16385, 30000, 32766, 32767};
    bnn_rng_t r;
    bnn_rng_seed(&r, 7);
    uint32_t bad = 0u, trials = 0u, fallback = 0u;
    for (uint32_t ci = 0; ci < sizeof clips / sizeof clips[0]; ci++) {
        const int32_t clip = clips[ci];
        for (uint32_t t = 0; t < 60u; t++, trials++) {
            const uint32_t cw = (uint32_t)bnn_rng_range(&r, 1, (int32_t)MAXCW);
            const uint32_t n = cw * 32u;
            int32_t step;
            switch (t % 6u) {
            case 0: step = bnn_rng_range(&r, -40, 40); break;
            case 1: step = (t & 8u ? -1 : 1) * (clip + bnn_rng_range(&r, -1, 2)); break; /* the hand-over */
            case 2: step = bnn_rng_range(&r, -2 * clip - 2, 2 * clip + 2); break;
            case 3: step = (int32_t)(bnn_rng_u32(&r) >> 1) - (1 << 30); break;
            case 4: step = (t & 16u ? -1 : 1) * clip * 2; break;
            default: step = bnn_rng_range(&r, -clip - 1, clip + 1); break;
            }
            fallback += step > clip + 1 || step < -(clip + 1) || step > 65534 - clip || step < clip - 65534;
            for (uint32_t i = 0; i < 2u * n; i++) {
                /* a third of the latents on or next to a bound */
                const uint32_t kind = bnn_rng_u32(&r) % 6u;
                int32_t v = kind == 0u ? clip : kind == 1u ? -clip : kind == 2u ? clip - (clip > 1) : bnn_rng_range(&r, -clip, clip);
                ref_l[i] = opt_l[i] = (int16_t)v;
            }
            for (uint32_t w = 0; w < cw; w++) cvec[w] = bnn_rng_u32(&r);
            memset(ref_w, 0xA5, sizeof ref_w);
            memset(opt_w, 0xA5, sizeof opt_w);
            bnn_head_update_row_reference(ref_l, ref_l + n, ref_w, ref_w + cw, cvec, cw, step, clip);
            bnn_head_update_row_optimized(opt_l, opt_l + n, opt_w, opt_w + cw, cvec, cw, step, clip);
            const int same = memcmp(ref_l, opt_l, 2u * n * sizeof(int16_t)) == 0 &&
                             memcmp(ref_w, opt_w, sizeof ref_w) == 0; /* words past 2*cw: untouched by both */
            if (!same && bad++ < 3u) printf("  row differs: clip %ld step %ld words %lu\n", (long)clip, (long)step, (unsigned long)cw);
        }
    }
    CHECK(bad == 0u, "rows: %lu of %lu differ", (unsigned long)bad, (unsigned long)trials);
    CHECK(fallback > 0u && fallback < trials, "rows: both paths exercised (%lu large steps)", (unsigned long)fallback);
    /* the optimized loop against the rule, on one hand-made row: clip 5, step 3, c = +1/-1 alternating */
    int16_t l[64];
    uint32_t wb[2], c1 = 0xAAAAAAAAu; /* odd latents see c = -1 */
    for (int i = 0; i < 64; i++) l[i] = (int16_t)((i % 11) - 5);
    bnn_head_update_row_optimized(l, l + 32, wb, wb + 1, &c1, 1u, 3, 5);
    int ok = 1;
    for (int i = 0; i < 64; i++) {
        int32_t v = (i % 11) - 5 - ((i % 32) % 2 ? -3 : 3);
        v = v > 5 ? 5 : v < -5 ? -5 : v;
        const int pos = (i % 32) / 2 + 16 * (i % 2); /* the bits' lane order (bnn_head_update.h) */
        ok &= l[i] == v && (int)((wb[i / 32] >> pos) & 1u) == (v < 0);
    }
    CHECK(ok, "rows: optimized loop against the rule, written out");
}

/* ---- 2. whole heads ------------------------------------------------------------------------- */
#define ARENA_WORDS 16384u /* 64 KiB each */
static uint32_t arena_r[ARENA_WORDS], arena_o[ARENA_WORDS];
static bnn_head_t hr, ho;
static uint8_t blob_r[32768], blob_o[32768];
#define MAXWN 78u /* latent words: N up to 2496 */
static uint32_t protos[10][MAXWN];
static uint32_t w1_rows[128u * 32u];

static int same_state(void) {
    const uint32_t n = bnn_head_state_size(&hr);
    if (n == 0u || n > sizeof blob_r || n != bnn_head_state_size(&ho)) return 0;
    if (bnn_head_state_read(&hr, 0, blob_r, n) != BNN_OK || bnn_head_state_read(&ho, 0, blob_o, n) != BNN_OK) return 0;
    const uint32_t w2_words = (uint32_t)hr.cfg.max_classes * 2u * hr.words_c;
    return memcmp(blob_r, blob_o, n) == 0 && memcmp(hr.w2, ho.w2, w2_words * 4u) == 0;
}

/* vertical_vs_rows = 0: hr on the reference update, ho on the optimized one (PRNG W1 in both).
 * 1: both optimized; hr draws W1 from its PRNG and keeps it bit-transposed in its arena (vertical
 * W1·z), ho gets the very same words row-major as the caller's W1 (bnn_xpc rows, as from flash). */
static void stream(const char *name, const bnn_head_config_t *cfg, uint32_t n_ops, uint32_t seed, int vertical_vs_rows) {
    bnn_head_config_t co = *cfg;
    if (vertical_vs_rows) {
        uint32_t r = bnn_prng_seed(cfg->seed, BNN_PRNG_STREAM_W1);
        for (uint32_t i = 0; i < (uint32_t)cfg->n_hidden * cfg->n_latent / 32u; i++) w1_rows[i] = bnn_prng_next(&r);
        co.w1 = w1_rows;
    }
    CHECK(bnn_head_init(&hr, cfg, arena_r, sizeof arena_r) == BNN_OK, "%s: init", name);
    CHECK(bnn_head_init(&ho, &co, arena_o, sizeof arena_o) == BNN_OK, "%s: init", name);
    CHECK(bnn_head_set_kernels(&hr, vertical_vs_rows ? BNN_KERNELS_OPTIMIZED : BNN_KERNELS_REFERENCE) == BNN_OK,
          "%s: set_kernels", name);
    CHECK(bnn_head_set_kernels(&ho, BNN_KERNELS_OPTIMIZED) == BNN_OK, "%s: set_kernels", name);
    CHECK(hr.w1_crc == ho.w1_crc, "%s: same W1", name);
    const uint32_t words = cfg->n_latent / 32u, k = cfg->max_classes;
    uint32_t rng = bnn_prng_seed(seed, 77u);
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t w = 0; w < words; w++) protos[c][w] = bnn_prng_next(&rng);
    uint32_t z[MAXWN], diff_pred = 0u, diff_state = 0u, preds = 0u, checkpoints = 0u;
    int32_t lr[10], lo[10];
    for (uint32_t i = 0; i < n_ops; i++) {
        /* classes arrive in order: the label grows with the stream, a random one of those seen */
        const uint32_t top = 1u + (i * k) / n_ops;
        const uint32_t y = bnn_prng_below(&rng, top);
        for (uint32_t w = 0; w < words; w++) { /* ~19 % of the bits flipped */
            uint32_t m = bnn_prng_next(&rng) & bnn_prng_next(&rng) & (bnn_prng_next(&rng) | bnn_prng_next(&rng));
            z[w] = protos[y][w] ^ m;
        }
        const uint32_t op = bnn_prng_below(&rng, 100u);
        if (op < 15u) {
            (void)bnn_head_buffer_add(&hr, z, y, NULL);
            (void)bnn_head_buffer_add(&ho, z, y, NULL);
        } else if (op < 85u) {
            CHECK(bnn_head_learn(&hr, z, y) == BNN_OK && bnn_head_learn(&ho, z, y) == BNN_OK, "%s: learn", name);
        } else if (op < 87u) {
            CHECK(bnn_head_end_task(&hr) == BNN_OK && bnn_head_end_task(&ho) == BNN_OK, "%s: end_task", name);
        } else {
            uint32_t pr = 0u, po = 1u;
            const bnn_status_t sr = bnn_head_predict(&hr, z, &pr, lr), so = bnn_head_predict(&ho, z, &po, lo);
            preds++;
            diff_pred += sr != so || (sr == BNN_OK && (pr != po || memcmp(lr, lo, hr.n_classes * sizeof(int32_t)) != 0));
        }
        if (i % 64u == 63u || i + 1u == n_ops) {
            checkpoints++;
            diff_state += !same_state();
        }
    }
    CHECK(diff_pred == 0u, "%s: %lu of %lu predictions differ", name, (unsigned long)diff_pred, (unsigned long)preds);
    CHECK(diff_state == 0u, "%s: state differs at %lu of %lu checkpoints", name, (unsigned long)diff_state,
          (unsigned long)checkpoints);
    CHECK(hr.steps == ho.steps && hr.steps > n_ops, "%s: %lu SGD steps", name, (unsigned long)hr.steps);
    printf("  %s%s: %lu ops, %lu SGD steps, %lu predictions, %lu state checkpoints, equal\n", vertical_vs_rows ? "W1 vertical vs rows, " : "", name, (unsigned long)n_ops,
           (unsigned long)hr.steps, (unsigned long)preds, (unsigned long)checkpoints);
}

static void test_streams(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.buffer_bytes = 1024u; /* quicker end_task on QEMU */
    stream("default head", &c, 700u, 1u, 0);
    bnn_head_config_default(&c);
    c.n_latent = 64;
    c.n_hidden = 32;
    c.max_classes = 7;
    c.buffer_bytes = 9u * 40u;
    c.latent_clip = 6;
    c.init_range = 6;
    c.lr_shift = 8; /* steps up to 128 >> clip + 1: the reference hand-over, saturation every step */
    stream("clip 6, large steps", &c, 900u, 2u, 0);
    c.latent_clip = 40;
    c.init_range = 3;
    c.lr_shift = 11; /* steps 0..16: saturation now and then, optimized loop only */
    stream("clip 40", &c, 900u, 3u, 0);
    c.latent_clip = 32767;
    c.init_range = 32767;
    c.lr_mul = 1000;
    c.lr_shift = 6; /* steps up to ~5e5: int16 limits, both paths */
    stream("clip 32767, lr 1000/2^6", &c, 600u, 4u, 0);
    /* C = 2560 channels: 2 C/32 = 160 words > BNN_HEAD_XPC_WORDS, the optimized logits go through
     * c in chunks (72 + 8 words), against the reference's per-word popcounts */
    bnn_head_config_default(&c);
    c.n_latent = 2496;
    c.n_hidden = 64;
    c.max_classes = 3;
    c.buffer_bytes = 2u * (2496u / 8u + 1u);
    stream("C = 2560, logits in chunks", &c, 200u, 5u, 0);
    /* W1·z: the vertical count (PRNG W1 in RAM) against bnn_xpc rows (the caller's W1), every N/32
     * from 1 word to the paper's 32, odd counts of words included */
    static const uint16_t ns[][2] = {{256, 128}, {32, 32}, {96, 64}, {160, 32}, {1024, 64}};
    for (uint32_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char name[48];
        bnn_head_config_default(&c);
        c.n_latent = ns[i][0];
        c.n_hidden = ns[i][1];
        c.max_classes = ns[i][0] >= 1024u ? 4u : 8u;
        c.buffer_bytes = 8u * (c.n_latent / 8u + 1u);
        c.seed = 100u + i;
        snprintf(name, sizeof name, "N=%u H=%u", (unsigned)c.n_latent, (unsigned)c.n_hidden);
        stream(name, &c, ns[i][0] >= 1024u ? 150u : 300u, 10u + i, 1);
    }
}

int main(void) {
    test_rows();
    test_streams();
    return bnn_test_summary();
}
