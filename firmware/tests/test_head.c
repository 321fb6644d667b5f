/* Tests of the on-device head (bnn_head.h): configuration and memory accounting, error codes,
 * the forward pass against a brute-force +-1 evaluation, the SGD update rule, class growth,
 * learning and incremental learning on synthetic latents, determinism, and the state blob.
 * Standalone: prints one line per test and ends with "N passed, M failed". */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"

#include "head_test.h"

#define ARENA_WORDS 16384u /* 64 KiB */
static uint32_t arena_a[ARENA_WORDS];
static uint32_t arena_b[ARENA_WORDS];
static bnn_head_t ha, hb;
static uint8_t blob_a[40000], blob_b[40000];

static bnn_head_config_t small_cfg(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.n_latent = 64;
    c.n_hidden = 32;
    c.max_classes = 6;
    c.buffer_bytes = 17u * 30u;
    c.epochs = 4;
    c.lr_shift = 7;
    c.temp_shift = 5;
    return c;
}

/* ---- synthetic latents: prototypes with bit flips ---------------------------------------- */
#define MAXW 8u
static uint32_t protos[8][MAXW];

static void make_protos(uint32_t words, uint32_t n, uint32_t seed) {
    uint32_t rng = bnn_prng_seed(seed, 99u);
    for (uint32_t c = 0; c < n; c++)
        for (uint32_t w = 0; w < words; w++) protos[c][w] = bnn_prng_next(&rng);
}

/* sample of class c: each bit flipped with probability flip_per_256 / 256 */
static void sample(uint32_t *out, uint32_t c, uint32_t words, uint32_t flip_per_256, uint32_t *rng) {
    for (uint32_t w = 0; w < words; w++) {
        uint32_t m = 0u;
        for (uint32_t b = 0; b < 32u; b++)
            if (bnn_prng_below(rng, 256u) < flip_per_256) m |= 1u << b;
        out[w] = protos[c][w] ^ m;
    }
}

static uint32_t state_of(const bnn_head_t *h, uint8_t *out) {
    uint32_t n = bnn_head_state_size(h);
    if (n > sizeof blob_a || bnn_head_state_read(h, 0, out, n) != BNN_OK) return 0u;
    return n;
}

/* W1 row-major, as the PRNG draws it (the head keeps its own W1 bit-transposed in the arena) */
static uint32_t w1_rows[4096];
static const uint32_t *prng_w1(const bnn_head_config_t *c) {
    uint32_t rng = bnn_prng_seed(c->seed, BNN_PRNG_STREAM_W1);
    for (uint32_t i = 0; i < (uint32_t)c->n_hidden * c->n_latent / 32u && i < 4096u; i++) w1_rows[i] = bnn_prng_next(&rng);
    return w1_rows;
}

static int bit(const uint32_t *v, uint32_t i) { return (int)((v[i / 32u] >> (i % 32u)) & 1u); }
static int pm(const uint32_t *v, uint32_t i) { return bit(v, i) ? -1 : 1; }

/* ---- tests -------------------------------------------------------------------------------- */

static void test_default_memory(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    CHECK(c.n_latent == 256 && c.n_hidden == 128 && c.max_classes == 10 && c.buffer_bytes == 4096);
    bnn_head_mem_t m;
    CHECK(bnn_head_memory_required(&c, &m) == BNN_OK);
    CHECK(m.w1_bits == 128u * 8u * 4u);            /* 4096 */
    CHECK(m.w2_bits == 10u * 24u * 4u);            /* 960: 2C = 768 bits per class */
    CHECK(m.w2_latent == 10u * 768u * 2u);         /* 15360 */
    CHECK(m.buffer == 124u * 32u + 124u);          /* 4092 <= 4096 */
    CHECK(m.buffer_meta == 10u * 4u + 20u);        /* 60 */
    CHECK(m.scratch == 12u * 4u + 80u + 248u + 4u); /* 380 */
    CHECK(m.arena == m.w1_bits + m.w2_bits + m.w2_latent + m.buffer + m.buffer_meta + m.scratch);
    CHECK(m.arena == 24948u);
    CHECK(m.control == sizeof(bnn_head_t));
    CHECK(m.total == m.arena + m.control);
    CHECK(m.total <= 65536u);
    CHECK(bnn_head_init(&ha, &c, arena_a, m.arena) == BNN_OK);
    bnn_head_mem_t m2;
    CHECK(bnn_head_memory(&ha, &m2) == BNN_OK);
    CHECK(memcmp(&m, &m2, sizeof m) == 0);
    /* caller-supplied W1 is not counted */
    c.w1 = arena_b;
    CHECK(bnn_head_memory_required(&c, &m2) == BNN_OK);
    CHECK(m2.w1_bits == 0u && m2.arena == m.arena - 4096u);
}

static void test_init_errors(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    bnn_head_mem_t m;
    CHECK(bnn_head_memory_required(&c, &m) == BNN_OK);
    CHECK(bnn_head_init(NULL, &c, arena_a, sizeof arena_a) == BNN_ERR_NULL_ARG);
    CHECK(bnn_head_init(&ha, NULL, arena_a, sizeof arena_a) == BNN_ERR_NULL_ARG);
    CHECK(bnn_head_init(&ha, &c, NULL, sizeof arena_a) == BNN_ERR_NULL_ARG);
    CHECK(bnn_head_init(&ha, &c, (uint8_t *)arena_a + 2, sizeof arena_a - 4) == BNN_ERR_ARENA_ALIGN);
    CHECK(bnn_head_init(&ha, &c, arena_a, m.arena - 1u) == BNN_ERR_ARENA_TOO_SMALL);
    /* a failed init leaves the head unusable */
    uint32_t z[8] = {0};
    CHECK(bnn_head_learn(&ha, z, 0) == BNN_ERR_NOT_INIT);
    CHECK(bnn_head_end_task(&ha) == BNN_ERR_NOT_INIT);
    CHECK(bnn_head_state_size(&ha) == 0u);
    bnn_head_config_t b = c;
    b.buffer_bytes = 32u; /* one sample needs 33 */
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_BUDGET);
    b.buffer_bytes = 33u;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_OK);
    CHECK(ha.buf.n_slots == 1u);
    b = c; b.n_latent = 100;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.n_latent = 0;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.n_hidden = 40;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.max_classes = 0;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.max_classes = BNN_HEAD_MAX_CLASSES + 1;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.init_range = (int16_t)(b.latent_clip + 1);
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.latent_clip = 0;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.lr_mul = 0;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.lr_shift = 31;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    b = c; b.temp_shift = 17;
    CHECK(bnn_head_init(&ha, &b, arena_a, sizeof arena_a) == BNN_ERR_CONFIG);
    CHECK(bnn_head_memory_required(NULL, &m) == BNN_ERR_NULL_ARG);
    /* the head's codes are named like the runtime's (distinct names: tests/test_loader.c) */
    CHECK(strcmp(bnn_status_str(BNN_ERR_LABEL), "label beyond max_classes") == 0);
    CHECK(strcmp(bnn_status_str(BNN_ERR_NO_STATE), "unknown status") != 0);
}

static void test_label_errors_and_growth(void) {
    bnn_head_config_t c = small_cfg();
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    uint32_t z[2] = {0x12345678u, 0x9ABCDEF0u}, label = 99;
    int32_t logits[8];
    CHECK(bnn_head_predict(&ha, z, &label, logits) == BNN_ERR_EMPTY);
    uint32_t n0 = state_of(&ha, blob_a);
    CHECK(bnn_head_learn(&ha, z, c.max_classes) == BNN_ERR_LABEL);
    CHECK(bnn_head_learn(&ha, z, 1000u) == BNN_ERR_LABEL);
    CHECK(bnn_head_buffer_add(&ha, z, c.max_classes, NULL) == BNN_ERR_LABEL);
    CHECK(bnn_head_learn(&ha, NULL, 0) == BNN_ERR_NULL_ARG);
    CHECK(state_of(&ha, blob_b) == n0 && memcmp(blob_a, blob_b, n0) == 0); /* nothing changed */
    CHECK(bnn_head_learn(&ha, z, 2) == BNN_OK);
    CHECK(ha.n_classes == 3u);
    CHECK(bnn_head_predict(&ha, z, &label, logits) == BNN_OK);
    CHECK(label < 3u);
    CHECK(bnn_head_learn(&ha, z, c.max_classes - 1u) == BNN_OK);
    CHECK(ha.n_classes == c.max_classes);
    int32_t slot = -5;
    CHECK(bnn_head_buffer_add(&ha, z, 0, &slot) == BNN_OK);
    CHECK(slot == 2); /* two learned samples already stored */
}

/* The packed forward pass equals the +-1 definition: h = sign(W1 z), logits = W2 [c; c]. */
static void test_forward_matches_definition(void) {
    bnn_head_config_t c = small_cfg();
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    uint32_t rng = 7u, z[2];
    /* make every class active and the latents non-trivial */
    for (uint32_t i = 0; i < 40u; i++) {
        z[0] = bnn_prng_next(&rng);
        z[1] = bnn_prng_next(&rng);
        CHECK(bnn_head_learn(&ha, z, i % c.max_classes) == BNN_OK);
    }
    const uint32_t n = c.n_latent, hid = c.n_hidden, cc = n + hid;
    for (uint32_t t = 0; t < 50u; t++) {
        z[0] = bnn_prng_next(&rng);
        z[1] = bnn_prng_next(&rng);
        int cvec[96];
        for (uint32_t i = 0; i < n; i++) cvec[i] = pm(z, i);
        const uint32_t *w1 = prng_w1(&c);
        for (uint32_t i = 0; i < hid; i++) {
            int dot = 0;
            for (uint32_t j = 0; j < n; j++) dot += pm(w1 + i * 2u, j) * cvec[j];
            cvec[n + i] = dot >= 0 ? 1 : -1;
        }
        int32_t logits[8];
        uint32_t label;
        CHECK(bnn_head_predict(&ha, z, &label, logits) == BNN_OK);
        int32_t best = INT32_MIN;
        uint32_t best_k = 0;
        for (uint32_t k = 0; k < ha.n_classes; k++) {
            int32_t want = 0;
            const int16_t *lat = ha.lat + k * 2u * cc;
            for (uint32_t j = 0; j < 2u * cc; j++) want += (lat[j] >= 0 ? 1 : -1) * cvec[j % cc];
            CHECK(logits[k] == want);
            if (want > best) {
                best = want;
                best_k = k;
            }
            /* packed bits agree with the latents' signs */
            for (uint32_t j = 0; j < 2u * cc; j++) /* lane order within words: bit (b >> 1) + 16 (b & 1) */
                CHECK(bit(ha.w2 + k * (2u * cc / 32u), (j & ~31u) + ((j & 31u) >> 1) + 16u * (j & 1u)) == (lat[j] < 0));
        }
        CHECK(label == best_k);
    }
}

/* One SGD step moves the true class's latents towards c and the others away, by one common
 * step per class, and saturates at +-clip. */
static void test_update_rule(void) {
    bnn_head_config_t c = small_cfg();
    c.replay_k = 0;
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    uint32_t z[2] = {0xF0F0A5A5u, 0x0123FEDCu};
    CHECK(bnn_head_buffer_add(&ha, z, 2, NULL) == BNN_OK); /* classes 0..2 active */
    const uint32_t cc = 96u, nl = 3u * 2u * cc;
    static int16_t before[3 * 2 * 96];
    memcpy(before, ha.lat, sizeof before);
    uint32_t z2[2] = {0x11111111u, 0x22222222u};
    CHECK(bnn_head_learn(&ha, z2, 1) == BNN_OK);
    /* rebuild c = [z2; h] from what the head saw */
    int cvec[96];
    for (uint32_t i = 0; i < 64u; i++) cvec[i] = pm(z2, i);
    const uint32_t *w1 = prng_w1(&c);
    for (uint32_t i = 0; i < 32u; i++) {
        int dot = 0;
        for (uint32_t j = 0; j < 64u; j++) dot += pm(w1 + i * 2u, j) * cvec[j];
        cvec[64 + i] = dot >= 0 ? 1 : -1;
    }
    for (uint32_t k = 0; k < 3u; k++) {
        int32_t step = 0;
        int have = 0;
        for (uint32_t j = 0; j < 2u * cc; j++) {
            const uint32_t i = k * 2u * cc + j;
            int32_t d = (int32_t)before[i] - (int32_t)ha.lat[i]; /* = step * c_j unless clipped */
            int32_t s = d * cvec[j % cc];
            if (ha.lat[i] != c.latent_clip && ha.lat[i] != -c.latent_clip) {
                if (!have) {
                    step = s;
                    have = 1;
                }
                CHECK(s == step);
            }
        }
        if (k == 1u) CHECK(step < 0); /* true class: l -= step*c with step < 0 -> towards c */
        else CHECK(step > 0);
    }
    (void)nl;
    /* a huge learning rate saturates every touched latent at exactly +-clip */
    c.lr_shift = 0;
    c.lr_mul = 32768;
    c.temp_shift = 9; /* soft enough that neither class has p = 0 or 1 */
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    CHECK(bnn_head_buffer_add(&ha, z, 1, NULL) == BNN_OK);
    CHECK(bnn_head_learn(&ha, z2, 0) == BNN_OK);
    for (uint32_t i = 0; i < 2u * 2u * cc; i++) CHECK(ha.lat[i] == c.latent_clip || ha.lat[i] == -c.latent_clip);
    for (uint32_t j = 0; j < 2u * cc; j++) CHECK((ha.lat[j] > 0 ? 1 : -1) == cvec[j % cc]); /* class 0 = c */
}

static double accuracy(bnn_head_t *h, uint32_t n_classes, uint32_t words, uint32_t flip, uint32_t seed,
                       uint32_t first_class) {
    uint32_t rng = seed, z[MAXW], ok = 0, tot = 0;
    for (uint32_t c = first_class; c < n_classes; c++)
        for (uint32_t i = 0; i < 60u; i++) {
            sample(z, c, words, flip, &rng);
            uint32_t label;
            if (bnn_head_predict(h, z, &label, NULL) == BNN_OK && label == c) ok++;
            tot++;
        }
    return (double)ok / (double)tot;
}

/* Pre-training classes through the buffer (task 0), then one new class per task. */
static void test_incremental_learning(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.max_classes = 6;
    c.buffer_bytes = 33u * 60u;
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    make_protos(8u, 6u, 5u);
    uint32_t rng = 123u, z[MAXW];
    for (uint32_t i = 0; i < 300u; i++) {
        uint32_t y = i % 3u;
        sample(z, y, 8u, 48u /* ~19 % flips */, &rng);
        CHECK(bnn_head_buffer_add(&ha, z, y, NULL) == BNN_OK);
    }
    CHECK(bnn_head_end_task(&ha) == BNN_OK);
    CHECK(ha.tasks == 1u && ha.n_classes == 3u);
    double a0 = accuracy(&ha, 3u, 8u, 48u, 999u, 0u);
    CHECK(a0 >= 0.95);
    for (uint32_t y = 3; y < 6u; y++) {
        for (uint32_t i = 0; i < 60u; i++) {
            sample(z, y, 8u, 48u, &rng);
            CHECK(bnn_head_learn(&ha, z, y) == BNN_OK);
        }
        CHECK(bnn_head_end_task(&ha) == BNN_OK);
        CHECK(accuracy(&ha, y + 1u, 8u, 48u, 1000u + y, y) >= 0.9); /* the new class */
    }
    double all = accuracy(&ha, 6u, 8u, 48u, 4242u, 0u);
    double old = accuracy(&ha, 3u, 8u, 48u, 4343u, 0u);
    printf("  incremental: task0 %.3f, final all %.3f, final old %.3f\n", a0, all, old);
    CHECK(all >= 0.9);
    CHECK(old >= 0.85); /* replay kept the pre-training classes */
    /* every class is represented in the buffer */
    for (uint32_t y = 0; y < 6u; y++) CHECK(ha.buf.count[y] >= 8u);
}

static void run_ops(bnn_head_t *h, uint32_t seed) {
    uint32_t rng = seed, z[2];
    for (uint32_t i = 0; i < 60u; i++) {
        z[0] = bnn_prng_next(&rng);
        z[1] = bnn_prng_next(&rng);
        (void)bnn_head_learn(h, z, bnn_prng_below(&rng, 4u));
        if (i % 20u == 19u) (void)bnn_head_end_task(h);
    }
}

static void test_determinism_and_reset(void) {
    bnn_head_config_t c = small_cfg();
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    uint32_t fresh = state_of(&ha, blob_b);
    CHECK(fresh == bnn_head_state_size(&ha) && fresh > 48u);
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    run_ops(&ha, 5u);
    run_ops(&hb, 5u);
    uint32_t n = state_of(&ha, blob_a);
    CHECK(n == state_of(&hb, blob_b) && memcmp(blob_a, blob_b, n) == 0);
    /* steps: 1 for the first learn (empty buffer), 1 + K for the 59 others, and
     * epochs (4) x fill for each end_task with fill = 20, 40, 56 (the buffer holds 56) */
    CHECK(ha.buf.n_slots == 56u && ha.buf.fill == 56u);
    CHECK(ha.steps == 1u + 59u * (1u + c.replay_k) + 4u * (20u + 40u + 56u));
    CHECK(ha.learned == 60u && ha.tasks == 3u);
    c.seed = 2u;
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    run_ops(&hb, 5u);
    CHECK(state_of(&hb, blob_b) == n && memcmp(blob_a, blob_b, n) != 0);
    /* reset = fresh init */
    c.seed = 1u;
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    state_of(&hb, blob_b);
    CHECK(bnn_head_reset(&ha) == BNN_OK);
    state_of(&ha, blob_a);
    CHECK(memcmp(blob_a, blob_b, n) == 0);
}

static void test_state_roundtrip(void) {
    bnn_head_config_t c = small_cfg();
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    run_ops(&ha, 9u);
    const uint32_t n = state_of(&ha, blob_a);
    /* blob header fields */
    CHECK(blob_a[0] == 'B' && blob_a[1] == 'N' && blob_a[2] == 'H' && blob_a[3] == 'S');
    CHECK(blob_a[8] == 64u && blob_a[10] == 32u && blob_a[12] == 6u && blob_a[24] == ha.n_classes);
    CHECK(n == 48u + 4u * 6u + 12u + 6u * 2u * 96u * 2u + ha.buf.n_slots * 8u + ((ha.buf.n_slots + 3u) & ~3u));
    /* partial reads equal the full read */
    uint8_t part[97];
    for (uint32_t off = 0; off < n; off += 97u) {
        uint32_t m = n - off < 97u ? n - off : 97u;
        CHECK(bnn_head_state_read(&ha, off, part, m) == BNN_OK);
        CHECK(memcmp(part, blob_a + off, m) == 0);
    }
    CHECK(bnn_head_state_read(&ha, n, part, 1) == BNN_ERR_STATE_RANGE);
    CHECK(bnn_head_state_read(&ha, n - 1u, part, 2) == BNN_ERR_STATE_RANGE);
    CHECK(bnn_head_state_read(&ha, n, part, 0) == BNN_OK);
    /* restore into a fresh head in 7-byte chunks, backwards */
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    for (uint32_t off = (n - 1u) / 7u * 7u;; off -= 7u) {
        uint32_t m = n - off < 7u ? n - off : 7u;
        CHECK(bnn_head_state_write(&hb, off, blob_a + off, m) == BNN_OK);
        if (off == 0u) break;
    }
    CHECK(bnn_head_state_finish(&hb) == BNN_OK);
    CHECK(state_of(&hb, blob_b) == n && memcmp(blob_a, blob_b, n) == 0);
    CHECK(memcmp(ha.w2, hb.w2, ha.mem.w2_bits) == 0);
    /* both continue identically */
    run_ops(&ha, 10u);
    run_ops(&hb, 10u);
    CHECK(state_of(&ha, blob_a) == n && state_of(&hb, blob_b) == n && memcmp(blob_a, blob_b, n) == 0);
}

static bnn_status_t restore(bnn_head_t *h, const uint8_t *blob, uint32_t n) {
    const bnn_status_t st = bnn_head_state_write(h, 0, blob, n);
    return st != BNN_OK ? st : bnn_head_state_finish(h);
}

static void test_state_validation(void) {
    bnn_head_config_t c = small_cfg();
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    run_ops(&ha, 3u);
    const uint32_t n = state_of(&ha, blob_a);
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    const uint32_t fresh_n = state_of(&hb, blob_b);
    static uint8_t bad[40000], now[40000];
    const uint32_t off_count = 48u + 4u * 6u, off_labels = n - ((ha.buf.n_slots + 3u) & ~3u);
    struct { uint32_t off; uint8_t val; bnn_status_t want; } cases[] = {
        {0u, 'X', BNN_ERR_STATE_CORRUPT},        /* magic */
        {4u, 2u, BNN_ERR_STATE_CORRUPT},         /* version */
        {8u, 32u, BNN_ERR_STATE_MISMATCH},       /* n_latent */
        {10u, 0u, BNN_ERR_STATE_MISMATCH},       /* n_hidden */
        {12u, 7u, BNN_ERR_STATE_MISMATCH},       /* max_classes */
        {14u, 1u, BNN_ERR_STATE_MISMATCH},       /* n_slots */
        {16u, 0x55u, BNN_ERR_STATE_MISMATCH},    /* W1 CRC */
        {24u, 7u, BNN_ERR_STATE_CORRUPT},        /* n_classes > max_classes */
        {36u, 200u, BNN_ERR_STATE_CORRUPT},      /* fill > n_slots */
        {38u, 1u, BNN_ERR_STATE_CORRUPT},        /* reserved */
        {off_count, 0xEEu, BNN_ERR_STATE_CORRUPT}, /* count[0] disagrees with labels */
        {off_labels, 5u, BNN_ERR_STATE_CORRUPT},   /* a label of an inactive class (4 active) */
    };
    for (uint32_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, blob_a, n);
        bad[cases[i].off] = cases[i].val;
        const bnn_status_t st = restore(&hb, bad, n);
        if (st != cases[i].want) printf("  case %u: got %d want %d\n", (unsigned)i, (int)st, (int)cases[i].want);
        CHECK(st == cases[i].want);
        /* on failure the head is reset to its fresh state */
        CHECK(state_of(&hb, now) == fresh_n && memcmp(now, blob_b, fresh_n) == 0);
        CHECK(bnn_head_state_check_header(&hb, bad) == (cases[i].off < 48u ? cases[i].want : BNN_OK));
    }
    /* latents beyond the clip are clamped on restore */
    memcpy(bad, blob_a, n);
    const uint32_t off_lat = 48u + 24u + 12u;
    bad[off_lat] = 0xFFu;
    bad[off_lat + 1u] = 0x7Fu; /* 32767 */
    CHECK(restore(&hb, bad, n) == BNN_OK);
    CHECK(hb.lat[0] == c.latent_clip);
}

static void test_caller_w1_and_no_hidden(void) {
    static uint32_t w1[128 * 8];
    uint32_t rng = 77u;
    for (uint32_t i = 0; i < 128u * 8u; i++) w1[i] = bnn_prng_next(&rng);
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.w1 = w1;
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    CHECK(ha.w1 == w1 && ha.mem.w1_bits == 0u);
    bnn_head_config_t d;
    bnn_head_config_default(&d);
    CHECK(bnn_head_init(&hb, &d, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(ha.w1_crc != hb.w1_crc);
    uint32_t n = state_of(&ha, blob_a);
    CHECK(restore(&hb, blob_a, n) == BNN_ERR_STATE_MISMATCH); /* other W1 */
    /* linear-only head */
    c = small_cfg();
    c.n_hidden = 0;
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    CHECK(ha.mem.w1_bits == 0u && ha.n_channels == 64u);
    make_protos(2u, 3u, 8u);
    uint32_t z[MAXW];
    for (uint32_t i = 0; i < 150u; i++) {
        sample(z, i % 3u, 2u, 30u, &rng);
        CHECK(bnn_head_learn(&ha, z, i % 3u) == BNN_OK);
    }
    CHECK(bnn_head_end_task(&ha) == BNN_OK);
    CHECK(accuracy(&ha, 3u, 2u, 30u, 31u, 0u) >= 0.9);
}

int main(void) {
    RUN(test_default_memory);
    RUN(test_init_errors);
    RUN(test_label_errors_and_growth);
    RUN(test_forward_matches_definition);
    RUN(test_update_rule);
    RUN(test_incremental_learning);
    RUN(test_determinism_and_reset);
    RUN(test_state_roundtrip);
    RUN(test_state_validation);
    RUN(test_caller_w1_and_no_hidden);
    printf("%u passed, %u failed\n", n_pass, n_fail);
    return n_fail != 0u;
}
