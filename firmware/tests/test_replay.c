/* Tests of the latent replay buffer (bnn_head_replay.h) and its PRNG (bnn_head_prng.h):
 * capacity from the byte budget, class-balanced reservoir replacement, reservoir sampling within
 * a class, determinism, draws and epoch permutations.
 * Standalone: prints one line per test and ends with "N passed, M failed". */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_head_replay.h"

#include "head_test.h"

#define SLOTS_MAX 512u
#define WORDS 8u
#define CLASSES 16u
static uint32_t data[SLOTS_MAX * WORDS];
static uint8_t labels[SLOTS_MAX];
static uint32_t seen[CLASSES];
static uint16_t count[CLASSES];

static void rb_init(bnn_replay_t *rb, uint32_t n_slots, uint32_t seed) {
    memset(data, 0, sizeof data);
    memset(labels, 0, sizeof labels);
    memset(seen, 0, sizeof seen);
    memset(count, 0, sizeof count);
    rb->data = data;
    rb->labels = labels;
    rb->seen = seen;
    rb->count = count;
    rb->rng = bnn_prng_seed(seed, BNN_PRNG_STREAM_BUFFER);
    rb->n_slots = (uint16_t)n_slots;
    rb->fill = 0;
    rb->words = WORDS;
    rb->max_classes = CLASSES;
}

/* latent carrying (class, index) in its first two words */
static void offer(bnn_replay_t *rb, uint8_t y, uint32_t idx, int32_t *slot) {
    uint32_t z[WORDS] = {y, idx, 0, 0, 0, 0, 0, 0};
    int32_t s = bnn_replay_insert(rb, z, y);
    if (slot != NULL) *slot = s;
}

static int consistent(const bnn_replay_t *rb) {
    uint32_t total = 0;
    for (uint32_t c = 0; c < CLASSES; c++) {
        uint32_t n = 0;
        for (uint32_t s = 0; s < rb->fill; s++) {
            if (rb->labels[s] == c) {
                n++;
                if (rb->data[s * WORDS] != c) return 0; /* latent and label stay together */
            }
        }
        if (n != rb->count[c]) return 0;
        total += n;
    }
    return total == rb->fill;
}

static void test_prng_reference_values(void) {
    /* xorshift32(13,17,5) from state 1: the first outputs of Marsaglia's generator */
    uint32_t s = 1u;
    CHECK(bnn_prng_next(&s) == 270369u);
    CHECK(bnn_prng_next(&s) == 67634689u);
    CHECK(bnn_prng_next(&s) == 2647435461u);
    /* a zero state is replaced, never stuck */
    s = 0u;
    CHECK(bnn_prng_next(&s) != 0u);
    CHECK(bnn_prng_fmix32(0u) == 0u && bnn_prng_fmix32(1u) == 0x514E28B7u);
    for (uint32_t st = 0; st < 8u; st++) CHECK(bnn_prng_seed(0u, st) != 0u);
    CHECK(bnn_prng_seed(1u, 1u) != bnn_prng_seed(1u, 2u));
    /* below(n) stays in range and hits every value */
    uint32_t hits[7] = {0};
    s = 12345u;
    for (uint32_t i = 0; i < 7000u; i++) {
        uint32_t v = bnn_prng_below(&s, 7u);
        CHECK(v < 7u);
        if (v < 7u) hits[v]++;
    }
    for (uint32_t v = 0; v < 7u; v++) CHECK(hits[v] > 850u && hits[v] < 1150u);
    CHECK(bnn_prng_below(&s, 1u) == 0u);
}

static void test_capacity(void) {
    CHECK(bnn_replay_slots(256u, 4096u) == 124u); /* 33 bytes per sample */
    CHECK(bnn_replay_slots(256u, 33u) == 1u);
    CHECK(bnn_replay_slots(256u, 32u) == 0u);
    CHECK(bnn_replay_slots(1024u, 4096u) == 31u); /* 129 bytes per sample */
    CHECK(bnn_replay_slots(32u, 100u) == 20u);
    /* the head refuses a budget below one sample and reports the bytes it uses */
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    bnn_head_mem_t m;
    c.buffer_bytes = 32u;
    CHECK(bnn_head_memory_required(&c, &m) == BNN_ERR_BUDGET);
    c.buffer_bytes = 4096u;
    CHECK(bnn_head_memory_required(&c, &m) == BNN_OK);
    CHECK(m.buffer <= c.buffer_bytes && m.buffer == 124u * 33u);
}

static void test_fill_then_balanced(void) {
    bnn_replay_t rb;
    rb_init(&rb, 124u, 1u);
    int32_t slot;
    /* class by class, 150 samples each: classes 0..4 (pre-training) then 5..9 (one per task) */
    for (uint8_t y = 0; y < 10u; y++) {
        for (uint32_t i = 0; i < 150u; i++) {
            offer(&rb, y, i, &slot);
            CHECK(slot >= -1 && slot < 124);
            if (y == 0u && i < 124u) CHECK(slot == (int32_t)i); /* filling: next free slot */
        }
        CHECK(consistent(&rb));
        CHECK(rb.fill == 124u);
        /* after each class, every class seen so far holds floor or ceil of 124/(y+1) */
        uint32_t lo = 124u / (y + 1u), hi = (124u + y) / (y + 1u);
        for (uint8_t c = 0; c <= y; c++) CHECK(rb.count[c] >= lo && rb.count[c] <= hi);
        CHECK(rb.seen[y] == 150u);
    }
}

static void test_reservoir_within_class(void) {
    /* one class, 2000 samples, 100 slots: the kept indices should be spread over the stream */
    bnn_replay_t rb;
    rb_init(&rb, 100u, 3u);
    uint32_t dropped = 0;
    for (uint32_t i = 0; i < 2000u; i++) {
        int32_t slot;
        offer(&rb, 0, i, &slot);
        dropped += slot < 0;
    }
    CHECK(rb.count[0] == 100u && consistent(&rb));
    CHECK(dropped > 1500u); /* a sample is kept with probability 100/i */
    uint32_t late = 0, sum = 0;
    for (uint32_t s = 0; s < 100u; s++) {
        late += data[s * WORDS + 1] >= 1000u;
        sum += data[s * WORDS + 1];
    }
    CHECK(late > 30u && late < 70u);           /* ~50 expected */
    CHECK(sum / 100u > 700u && sum / 100u < 1300u); /* mean index ~1000 */
}

static void test_interleaved_stream_balance(void) {
    /* a random class order, unequal class frequencies: the minority class is protected */
    bnn_replay_t rb;
    rb_init(&rb, 60u, 4u);
    uint32_t rng = 99u;
    for (uint32_t i = 0; i < 3000u; i++) {
        uint32_t r = bnn_prng_below(&rng, 100u);
        uint8_t y = r < 80u ? 0u : (r < 95u ? 1u : 2u); /* 80 % / 15 % / 5 % */
        offer(&rb, y, i, NULL);
    }
    CHECK(consistent(&rb));
    CHECK(rb.count[0] + rb.count[1] + rb.count[2] == 60u);
    CHECK(rb.count[2] >= 19u && rb.count[1] >= 19u); /* 150 minority samples: balanced 20/20/20 */
}

static void test_determinism_draws_shuffle(void) {
    static uint32_t copy_data[SLOTS_MAX * WORDS];
    static uint8_t copy_labels[SLOTS_MAX];
    bnn_replay_t rb;
    rb_init(&rb, 50u, 7u);
    for (uint32_t i = 0; i < 400u; i++) offer(&rb, (uint8_t)(i % 5u), i, NULL);
    memcpy(copy_data, data, sizeof data);
    memcpy(copy_labels, labels, sizeof labels);
    uint32_t rng_after = rb.rng;
    rb_init(&rb, 50u, 7u);
    for (uint32_t i = 0; i < 400u; i++) offer(&rb, (uint8_t)(i % 5u), i, NULL);
    CHECK(memcmp(copy_data, data, sizeof data) == 0 && memcmp(copy_labels, labels, sizeof labels) == 0);
    CHECK(rb.rng == rng_after);
    rb_init(&rb, 50u, 8u);
    for (uint32_t i = 0; i < 400u; i++) offer(&rb, (uint8_t)(i % 5u), i, NULL);
    CHECK(memcmp(copy_data, data, sizeof data) != 0); /* another seed, another subset */
    /* draws are in range and cover the buffer */
    uint8_t hit[50] = {0};
    for (uint32_t i = 0; i < 2000u; i++) {
        uint16_t s = bnn_replay_draw(&rb);
        CHECK(s < 50u);
        if (s < 50u) hit[s] = 1;
    }
    for (uint32_t s = 0; s < 50u; s++) CHECK(hit[s]);
    /* shuffles are permutations, and differ from one epoch to the next */
    uint16_t perm[50], prev[50];
    bnn_replay_shuffle(&rb, prev);
    bnn_replay_shuffle(&rb, perm);
    uint8_t seen_idx[50] = {0};
    for (uint32_t i = 0; i < 50u; i++) {
        CHECK(perm[i] < 50u);
        if (perm[i] < 50u) seen_idx[perm[i]]++;
    }
    for (uint32_t i = 0; i < 50u; i++) CHECK(seen_idx[i] == 1u);
    CHECK(memcmp(perm, prev, sizeof perm) != 0);
    /* partially filled buffer: shuffle covers [0, fill) only */
    rb_init(&rb, 50u, 9u);
    for (uint32_t i = 0; i < 3u; i++) offer(&rb, 1, i, NULL);
    bnn_replay_shuffle(&rb, perm);
    CHECK(perm[0] + perm[1] + perm[2] == 3u && perm[0] < 3u && perm[1] < 3u && perm[2] < 3u);
}

static void test_single_slot(void) {
    bnn_replay_t rb;
    rb_init(&rb, 1u, 11u);
    int32_t slot;
    offer(&rb, 3, 0, &slot);
    CHECK(slot == 0 && rb.fill == 1u && rb.count[3] == 1u);
    offer(&rb, 4, 1, &slot); /* class 4 has fewer samples than the largest: it takes the slot */
    CHECK(slot == 0 && rb.count[3] == 0u && rb.count[4] == 1u && labels[0] == 4u);
    CHECK(bnn_replay_draw(&rb) == 0u);
    CHECK(consistent(&rb));
}

int main(void) {
    RUN(test_prng_reference_values);
    RUN(test_capacity);
    RUN(test_fill_then_balanced);
    RUN(test_reservoir_within_class);
    RUN(test_interleaved_stream_balance);
    RUN(test_determinism_draws_shuffle);
    RUN(test_single_slot);
    printf("%u passed, %u failed\n", n_pass, n_fail);
    return n_fail != 0u;
}
