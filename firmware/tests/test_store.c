/* Tests of the head's flash store (bnn_head_store.h): CRC-32, commit/load roundtrips and slot
 * alternation, blank flash, fallback from a corrupted slot, configuration mismatch, slot too
 * small, program-unit/page geometries, sequence-number wraparound, driver errors, recovery after
 * an interrupted commit. Standalone: ends with "N passed, M failed". */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn/bnn_crc32.h"
#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_head_store.h"
#include "bnn/bnn_le.h"

#include "head_test.h"

static uint32_t arena_a[8192], arena_b[8192];
static bnn_head_t ha, hb;
static uint8_t flash_mem[64 * 1024];
static bnn_store_ram_t ram;
static bnn_store_flash_t fl;
static uint8_t blob_a[32768], blob_b[32768], blob_c[32768];

static bnn_head_config_t cfg_small(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.n_latent = 128;
    c.n_hidden = 64;
    c.max_classes = 5;
    c.buffer_bytes = 1024;
    c.epochs = 2;
    return c;
}

static uint32_t state_of(const bnn_head_t *h, uint8_t *out) {
    uint32_t n = bnn_head_state_size(h);
    if (n > sizeof blob_a || bnn_head_state_read(h, 0, out, n) != BNN_OK) return 0u;
    return n;
}

static void learn_some(bnn_head_t *h, uint32_t n, uint32_t seed) {
    uint32_t rng = seed, z[4];
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t w = 0; w < 4u; w++) z[w] = bnn_prng_next(&rng);
        (void)bnn_head_learn(h, z, bnn_prng_below(&rng, 5u));
    }
}

static int same(const bnn_head_t *h, const uint8_t *blob, uint32_t n) {
    return state_of(h, blob_c) == n && memcmp(blob_c, blob, n) == 0;
}

/* Re-seals a slot after a test edited it: blob CRC and header CRC recomputed in place. */
static void reseal(uint32_t slot) {
    uint8_t *base = flash_mem + slot * bnn_store_slot_bytes(&fl);
    uint32_t off = fl.prog_unit > 32u ? fl.prog_unit : 32u;
    bnn_wr_u32(base + 16, bnn_crc32_update(0u, base + off, bnn_rd_u32(base + 12)));
    bnn_wr_u32(base + 28, bnn_crc32_update(0u, base, 28u));
}

static void test_crc32(void) {
    CHECK(bnn_crc32_update(0u, "123456789", 9u) == 0xCBF43926u);
    CHECK(bnn_crc32_update(0u, "", 0u) == 0u);
    uint32_t c = bnn_crc32_update(0u, "1234", 4u);
    CHECK(bnn_crc32_update(c, "56789", 5u) == 0xCBF43926u);
}

static void test_commit_load_alternates_slots(void) {
    bnn_head_config_t c = cfg_small();
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    CHECK(bnn_store_needed_bytes(&fl, &ha) <= bnn_store_slot_bytes(&fl));
    bnn_store_info_t info;
    for (uint32_t round = 1; round <= 5u; round++) {
        learn_some(&ha, 10u, round);
        CHECK(bnn_store_commit(&ha, &fl, &info) == BNN_OK);
        CHECK(info.newest == (int32_t)((round - 1u) % 2u));
        CHECK(info.seq[info.newest] == round);
        uint32_t n = state_of(&ha, blob_a);
        CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
        CHECK(bnn_store_load(&hb, &fl, &info) == BNN_OK);
        CHECK(info.loaded == (int32_t)((round - 1u) % 2u) && info.fallback == 0u);
        CHECK(same(&hb, blob_a, n));
        CHECK(info.valid[0] && (round == 1u || info.valid[1]));
    }
    CHECK(ram.overwrites == 0u); /* never programs a byte that was not erased */
    /* the loaded head goes on exactly like the original */
    learn_some(&ha, 7u, 77u);
    learn_some(&hb, 7u, 77u);
    CHECK(same(&hb, blob_a, state_of(&ha, blob_a)));
}

static void test_blank_and_garbage(void) {
    bnn_head_config_t c = cfg_small();
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    learn_some(&hb, 5u, 3u);
    uint32_t n = state_of(&hb, blob_a);
    bnn_store_info_t info;
    CHECK(bnn_store_load(&hb, &fl, &info) == BNN_ERR_NO_STATE);
    CHECK(info.blank[0] && info.blank[1] && info.newest == -1 && info.loaded == -1);
    CHECK(same(&hb, blob_a, n)); /* untouched */
    flash_mem[5] = 0x00u;      /* something, but not a state */
    CHECK(bnn_store_load(&hb, &fl, &info) == BNN_ERR_STATE_CORRUPT);
    CHECK(same(&hb, blob_a, n));
}

static void test_corrupted_slot_falls_back(void) {
    bnn_head_config_t c = cfg_small();
    bnn_store_info_t info;
    const uint32_t slot1 = 16u * 1024u;
    /* three kinds of damage to the newest slot (slot 1): blob byte, header byte, forged CRC
     * over an inconsistent blob (passes CRC, fails the head's own checks) */
    for (uint32_t kind = 0; kind < 3u; kind++) {
        bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
        CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
        learn_some(&ha, 10u, 1u);
        CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK); /* seq 1, slot 0 */
        uint32_t n_old = state_of(&ha, blob_a);
        learn_some(&ha, 10u, 2u);
        CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK); /* seq 2, slot 1 */
        uint32_t n_new = state_of(&ha, blob_b);
        CHECK(n_old == n_new);
        if (kind == 0u) flash_mem[slot1 + 32u + 1000u] ^= 0x10u;
        if (kind == 1u) flash_mem[slot1 + 9u] ^= 0x01u; /* seq */
        if (kind == 2u) {
            flash_mem[slot1 + 32u + 48u + 20u] ^= 0x01u; /* count[0] */
            reseal(1u);
        }
        CHECK(bnn_store_scan(&fl, &info) == BNN_OK);
        CHECK(info.valid[0] == 1u && info.valid[1] == (kind == 2u));
        CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
        CHECK(bnn_store_load(&hb, &fl, &info) == BNN_OK);
        CHECK(info.loaded == 0 && info.fallback == (kind == 2u));
        CHECK(same(&hb, blob_a, n_old));
        /* the next commit goes to the slot that does not hold the newest CRC-valid state
         * (the damaged one for kinds 0-1; for the forged kind 2 it is slot 0, seq 3) */
        CHECK(bnn_store_commit(&ha, &fl, &info) == BNN_OK);
        if (kind < 2u) CHECK(info.newest == 1 && info.seq[1] == 2u);
        else CHECK(info.newest == 0 && info.seq[0] == 3u);
        CHECK(bnn_store_load(&hb, &fl, &info) == BNN_OK && info.loaded == info.newest);
        CHECK(same(&hb, blob_b, n_new));
    }
    /* both slots damaged: corrupt, head untouched */
    flash_mem[32u + 100u] ^= 0x01u;
    flash_mem[slot1 + 32u + 100u] ^= 0x01u;
    learn_some(&hb, 3u, 9u);
    uint32_t n = state_of(&hb, blob_a);
    CHECK(bnn_store_load(&hb, &fl, &info) == BNN_ERR_STATE_CORRUPT);
    CHECK(same(&hb, blob_a, n));
}

static void test_mismatch(void) {
    bnn_head_config_t c = cfg_small();
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    learn_some(&ha, 10u, 1u);
    CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK);
    bnn_head_config_t d = c;
    d.seed = 2u; /* another W1 */
    CHECK(bnn_head_init(&hb, &d, arena_b, sizeof arena_b) == BNN_OK);
    uint32_t n = state_of(&hb, blob_a);
    CHECK(bnn_store_load(&hb, &fl, NULL) == BNN_ERR_STATE_MISMATCH);
    CHECK(same(&hb, blob_a, n));
    d = c;
    d.max_classes = 6u;
    CHECK(bnn_head_init(&hb, &d, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(bnn_store_load(&hb, &fl, NULL) == BNN_ERR_STATE_MISMATCH);
    d = c;
    d.buffer_bytes = 2048u;
    CHECK(bnn_head_init(&hb, &d, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(bnn_store_load(&hb, &fl, NULL) == BNN_ERR_STATE_MISMATCH);
    /* hyper-parameters are not part of the shape: a new learning rate loads fine */
    d = c;
    d.lr_shift = 9u;
    d.epochs = 1u;
    CHECK(bnn_head_init(&hb, &d, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(bnn_store_load(&hb, &fl, NULL) == BNN_OK);
}

static void test_geometries(void) {
    bnn_head_config_t c = cfg_small();
    const uint32_t units[] = {1u, 4u, 8u, 16u, 32u, 64u};
    const uint32_t pages[] = {128u, 256u, 2048u, 4096u};
    for (uint32_t u = 0; u < 6u; u++) {
        for (uint32_t p = 0; p < 4u; p++) {
            uint32_t n_pages = (uint32_t)sizeof flash_mem / pages[p];
            if (pages[p] % units[u] != 0u) continue;
            bnn_store_ram_init(&ram, &fl, flash_mem, pages[p], n_pages, units[u]);
            CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
            learn_some(&ha, 8u, u * 10u + p);
            for (uint32_t r = 0; r < 3u; r++) {
                learn_some(&ha, 2u, r);
                CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK);
            }
            uint32_t n = state_of(&ha, blob_a);
            CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
            bnn_store_info_t info;
            CHECK(bnn_store_load(&hb, &fl, &info) == BNN_OK && info.seq[info.loaded] == 3u);
            CHECK(same(&hb, blob_a, n));
            CHECK(ram.overwrites == 0u);
            /* only the pages a state needs are erased per commit */
            CHECK(ram.erases == 3u * ((bnn_store_needed_bytes(&fl, &ha) + pages[p] - 1u) / pages[p]));
        }
    }
    /* invalid geometries and a slot too small for the state */
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
    bnn_store_flash_t bad = fl;
    bad.prog_unit = 3u;
    CHECK(bnn_store_commit(&ha, &bad, NULL) == BNN_ERR_FLASH_CONFIG);
    bad = fl;
    bad.prog_unit = 128u;
    CHECK(bnn_store_commit(&ha, &bad, NULL) == BNN_ERR_FLASH_CONFIG);
    bad = fl;
    bad.n_pages = 3u;
    CHECK(bnn_store_load(&ha, &bad, NULL) == BNN_ERR_FLASH_CONFIG);
    bad = fl;
    bad.read = NULL;
    CHECK(bnn_store_commit(&ha, &bad, NULL) == BNN_ERR_FLASH_CONFIG);
    bnn_store_info_t info0;
    CHECK(bnn_store_scan(&bad, &info0) == BNN_ERR_FLASH_CONFIG);
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 4u, 8u); /* 2 KiB slots */
    CHECK(bnn_store_needed_bytes(&fl, &ha) > bnn_store_slot_bytes(&fl));
    CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_ERR_FLASH_TOO_SMALL);
    CHECK(ram.erases == 0u && ram.programs == 0u);
}

static void test_sequence_wraparound(void) {
    bnn_head_config_t c = cfg_small();
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    learn_some(&ha, 4u, 1u);
    CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK);
    bnn_wr_u32(flash_mem + 8, 0xFFFFFFFEu); /* slot 0 claims seq 2^32 - 2 */
    reseal(0u);
    bnn_store_info_t info;
    for (uint32_t r = 0; r < 3u; r++) {
        learn_some(&ha, 2u, 10u + r);
        CHECK(bnn_store_commit(&ha, &fl, &info) == BNN_OK);
    }
    /* seqs written: 0xFFFFFFFF (slot 1), 0 (slot 0), 1 (slot 1): slot 1 is the newest */
    CHECK(info.newest == 1 && info.seq[1] == 1u && info.seq[0] == 0u);
    uint32_t n = state_of(&ha, blob_a);
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(bnn_store_load(&hb, &fl, &info) == BNN_OK && info.loaded == 1);
    CHECK(same(&hb, blob_a, n));
}

static int fail_program(void *ctx, uint32_t addr, const uint8_t *src, uint32_t len) {
    (void)ctx; (void)addr; (void)src; (void)len;
    return 5;
}

static void test_driver_errors_and_recovery(void) {
    bnn_head_config_t c = cfg_small();
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, 32u, 8u);
    CHECK(bnn_head_init(&ha, &c, arena_a, sizeof arena_a) == BNN_OK);
    learn_some(&ha, 6u, 1u);
    CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK);
    uint32_t n_old = state_of(&ha, blob_a);
    learn_some(&ha, 6u, 2u);
    bnn_store_flash_t bad = fl;
    bad.program = fail_program;
    CHECK(bnn_store_commit(&ha, &bad, NULL) == BNN_ERR_FLASH);
    /* power lost mid-commit: commit fails, the old state is what loads */
    bnn_store_ram_arm_cut(&ram, 5u, BNN_STORE_TORN_BITS, 1u);
    CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_ERR_FLASH);
    CHECK(!ram.powered);
    CHECK(bnn_store_load(&ha, &fl, NULL) == BNN_ERR_FLASH); /* unreadable while off */
    bnn_store_ram_power_on(&ram);
    CHECK(bnn_head_init(&hb, &c, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(bnn_store_load(&hb, &fl, NULL) == BNN_OK);
    CHECK(same(&hb, blob_a, n_old));
    /* the next commit goes through */
    uint32_t n_new = state_of(&ha, blob_b);
    CHECK(bnn_store_commit(&ha, &fl, NULL) == BNN_OK);
    CHECK(bnn_store_load(&hb, &fl, NULL) == BNN_OK);
    CHECK(same(&hb, blob_b, n_new));
    CHECK(bnn_store_commit(NULL, &fl, NULL) == BNN_ERR_NULL_ARG);
    CHECK(bnn_store_load(&hb, NULL, NULL) == BNN_ERR_NULL_ARG);
    CHECK(bnn_store_scan(&fl, NULL) == BNN_ERR_NULL_ARG);
    bnn_head_t fresh = {0};
    CHECK(bnn_store_commit(&fresh, &fl, NULL) == BNN_ERR_NOT_INIT);
}

int main(void) {
    RUN(test_crc32);
    RUN(test_commit_load_alternates_slots);
    RUN(test_blank_and_garbage);
    RUN(test_corrupted_slot_falls_back);
    RUN(test_mismatch);
    RUN(test_geometries);
    RUN(test_sequence_wraparound);
    RUN(test_driver_errors_and_recovery);
    printf("%u passed, %u failed\n", n_pass, n_fail);
    return n_fail != 0u;
}
