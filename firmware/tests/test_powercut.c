/* Power-cut tests of the head's flash store: a commit interrupted at ANY write step (erase or
 * program call), with the interrupted step having no effect, a partial prefix, or random
 * partially-set bits, must leave the flash holding the old state or the new one -- never a
 * corrupt one -- and the next commit must succeed.
 *
 *  - exhaustive: every write step x every torn mode, for the default head (N=256, H=128,
 *    10 classes, 4 KiB buffer: a ~19.5 KiB state), a small head on another flash geometry, and
 *    the very first commit on a blank flash (where "old" means "no state").
 *  - random: many commits with learning in between, each cut (or not) at a random step with a
 *    random torn mode; the device reboots and continues from whatever it loaded. The number of
 *    trials is BNN_POWERCUT_TRIALS (compile-time, default 60) or the environment variable of the
 *    same name on hosted targets; it prints "powercut random: trials=T ... corrupt=C".
 * Standalone: ends with "N passed, M failed". */
/* BNN_TEST_LARGE_RAM: its static buffers do not fit a 16 KiB part (not built for m0). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_head_store.h"
#include "bnn/bnn_crc32.h"
#include "bnn/bnn_le.h"

#ifndef BNN_POWERCUT_TRIALS
#define BNN_POWERCUT_TRIALS 60
#endif

#include "head_test.h"

#define FLASH_BYTES (48u * 1024u)
static uint32_t arena_a[8192], arena_b[8192];
static bnn_head_t heads[2];
static uint32_t *arenas[2] = {arena_a, arena_b};
static uint8_t flash_mem[FLASH_BYTES], snapshot[FLASH_BYTES];
static bnn_store_ram_t ram;
static bnn_store_flash_t fl;
static uint8_t torn_map[FLASH_BYTES];
static uint32_t read_mode = BNN_STORE_READ_CLEAN;
static uint32_t rf_trials, rf_faulty, rf_corrupt, rf_lost; /* read-fault totals */
static uint8_t blob_old[24576], blob_new[24576], blob_fresh[24576], blob_got[24576];

static uint32_t state_of(const bnn_head_t *h, uint8_t *out) {
    uint32_t n = bnn_head_state_size(h);
    if (n > sizeof blob_got || bnn_head_state_read(h, 0, out, n) != BNN_OK) return 0u;
    return n;
}

static void learn_some(bnn_head_t *h, uint32_t n, uint32_t *rng) {
    uint32_t z[8];
    const uint32_t words = h->cfg.n_latent / 32u;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t w = 0; w < words; w++) z[w] = bnn_prng_next(rng);
        (void)bnn_head_learn(h, z, bnn_prng_below(rng, h->cfg.max_classes));
    }
}

typedef struct {
    uint32_t trials, old, neu, corrupt, recovered;
} tally_t;

/* Reboot: fresh head, load from flash; classify what came back. has_old = a state was
 * committed before; n = blob size. */
static bnn_status_t reboot_and_classify(const bnn_head_config_t *c, uint32_t n, int has_old, tally_t *t,
                               bnn_head_t *h, uint32_t *arena) {
    bnn_store_ram_power_on(&ram);
    if (bnn_head_init(h, c, arena, sizeof arena_a) != BNN_OK) {
        t->corrupt++;
        return BNN_ERR_NOT_INIT;
    }
    const bnn_status_t st = bnn_store_load(h, &fl, NULL);
    uint32_t m = state_of(h, blob_got);
    if (st == BNN_OK && m == n && has_old && memcmp(blob_got, blob_old, n) == 0)
        t->old++;
    else if (st == BNN_OK && m == n && memcmp(blob_got, blob_new, n) == 0)
        t->neu++;
    else if (!has_old && (st == BNN_ERR_NO_STATE || st == BNN_ERR_STATE_CORRUPT) && m == n &&
             memcmp(blob_got, blob_fresh, n) == 0)
        t->old++; /* nothing was stored before, nothing valid is stored now */
    else {
        t->corrupt++;
        printf("  corrupt: load status %d (%s)\n", (int)st, bnn_status_str(st));
    }
    return st;
}

/* Every step x every torn mode of one commit. */
static void exhaustive(const char *name, const bnn_head_config_t *c, uint32_t page, uint32_t unit,
                       int first_commit) {
    uint32_t rng = 2024u;
    bnn_head_t *h = &heads[0];
    const uint32_t n_pages = FLASH_BYTES / page;
    bnn_store_ram_init(&ram, &fl, flash_mem, page, n_pages, unit);
    CHECK(bnn_head_init(h, c, arena_a, sizeof arena_a) == BNN_OK);
    const uint32_t n = state_of(h, blob_fresh);
    CHECK(n > 0u && bnn_store_needed_bytes(&fl, h) <= bnn_store_slot_bytes(&fl));
    learn_some(h, 20u, &rng);
    if (!first_commit) {
        CHECK(bnn_store_commit(h, &fl, NULL) == BNN_OK);
        learn_some(h, 5u, &rng);
        CHECK(bnn_store_commit(h, &fl, NULL) == BNN_OK); /* both slots hold a state */
        state_of(h, blob_old);
    }
    learn_some(h, 10u, &rng);
    state_of(h, blob_new);
    CHECK(first_commit || memcmp(blob_old, blob_new, n) != 0);
    memcpy(snapshot, flash_mem, FLASH_BYTES);
    /* dry run: the number of write steps of this commit */
    bnn_store_ram_power_on(&ram);
    CHECK(bnn_store_commit(h, &fl, NULL) == BNN_OK);
    const uint32_t n_steps = ram.steps;
    CHECK(n_steps >= 3u);
    tally_t t = {0, 0, 0, 0, 0};
    for (uint32_t s = 0; s < n_steps; s++) {
        for (uint32_t mode = 0; mode < 3u; mode++) {
            memcpy(flash_mem, snapshot, FLASH_BYTES);
            if (read_mode != BNN_STORE_READ_CLEAN) bnn_store_ram_read_faults(&ram, torn_map, read_mode);
            bnn_store_ram_arm_cut(&ram, s, mode, s * 3u + mode);
            CHECK(bnn_store_commit(h, &fl, NULL) == BNN_ERR_FLASH);
            t.trials++;
            reboot_and_classify(c, n, !first_commit, &t, &heads[1], arena_b);
            rf_faulty += ram.faulty_reads != 0u;
            /* power is back: the interrupted commit can be redone and is then the state */
            if (bnn_store_commit(h, &fl, NULL) == BNN_OK &&
                bnn_store_load(&heads[1], &fl, NULL) == BNN_OK &&
                state_of(&heads[1], blob_got) == n && memcmp(blob_got, blob_new, n) == 0)
                t.recovered++;
        }
    }
    if (read_mode != BNN_STORE_READ_CLEAN) {
        rf_trials += t.trials;
        rf_corrupt += t.corrupt;
    }
    printf("  powercut exhaustive %s%s: steps=%u trials=%u old=%u new=%u corrupt=%u recovered=%u\n", name,
           read_mode == BNN_STORE_READ_ERROR ? " (read errors)" : read_mode == BNN_STORE_READ_UNSTABLE ? " (unstable reads)" : "",
           (unsigned)n_steps, (unsigned)t.trials, (unsigned)t.old, (unsigned)t.neu, (unsigned)t.corrupt,
           (unsigned)t.recovered);
    CHECK(t.corrupt == 0u);
    CHECK(t.old + t.neu == t.trials);
    CHECK(t.neu == 0u); /* the header is the last step: any cut keeps the old state */
    CHECK(t.recovered == t.trials);
}

static void test_exhaustive_default_head(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    exhaustive("default", &c, 2048u, 8u, 0);
}

static void test_exhaustive_small_head_byte_flash(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.n_latent = 64;
    c.n_hidden = 32;
    c.max_classes = 4;
    c.buffer_bytes = 300;
    exhaustive("small/page256/unit1", &c, 256u, 1u, 0);
}

static void test_exhaustive_first_commit(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.n_latent = 128;
    c.n_hidden = 64;
    c.max_classes = 5;
    c.buffer_bytes = 800;
    exhaustive("first-commit/page512/unit16", &c, 512u, 16u, 1);
}

static uint32_t trials_wanted(void) {
    uint32_t n = (uint32_t)BNN_POWERCUT_TRIALS;
    const char *env = getenv("BNN_POWERCUT_TRIALS");
    if (env != NULL && *env != '\0') n = (uint32_t)strtoul(env, NULL, 10);
    return n;
}

static void test_random_cuts(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.n_latent = 128;
    c.n_hidden = 64;
    c.max_classes = 6;
    c.buffer_bytes = 1200;
    c.epochs = 1;
    const uint32_t trials = trials_wanted();
    uint32_t rng = 777u;
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, FLASH_BYTES / 1024u, 8u);
    uint32_t cur = 0u;
    CHECK(bnn_head_init(&heads[cur], &c, arenas[cur], sizeof arena_a) == BNN_OK);
    const uint32_t n = state_of(&heads[cur], blob_fresh);
    /* write steps of one commit (the same for every commit of this head): a dry run */
    CHECK(bnn_store_commit(&heads[cur], &fl, NULL) == BNN_OK);
    const uint32_t n_steps = ram.steps;
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, FLASH_BYTES / 1024u, 8u);
    if (read_mode != BNN_STORE_READ_CLEAN) bnn_store_ram_read_faults(&ram, torn_map, read_mode);
    int has_old = 0;
    uint32_t lost = 0u, faulty = 0u;
    tally_t t = {0, 0, 0, 0, 0};
    uint32_t cuts = 0u, commits_ok = 0u;
    for (uint32_t i = 0; i < trials; i++) {
        learn_some(&heads[cur], 1u + bnn_prng_below(&rng, 4u), &rng);
        if (bnn_prng_below(&rng, 8u) == 0u) (void)bnn_head_end_task(&heads[cur]);
        state_of(&heads[cur], blob_new);
        uint32_t cut = BNN_STORE_NO_CUT;
        if (bnn_prng_below(&rng, 10u) < 8u) cut = bnn_prng_below(&rng, n_steps + 1u); /* n_steps = after the last */
        /* with read faults, half of the cuts tear a step that writes a header unit (the header
         * page's erase, the header's program): only those leave a unit that scan reads */
        if (read_mode != BNN_STORE_READ_CLEAN && cut != BNN_STORE_NO_CUT && bnn_prng_below(&rng, 2u) == 0u)
            cut = bnn_prng_below(&rng, 2u) == 0u ? 0u : n_steps - 1u;
        const uint32_t faulty_before = ram.faulty_reads;
        bnn_store_ram_arm_cut(&ram, cut, bnn_prng_below(&rng, 3u), bnn_prng_next(&rng));
        const bnn_status_t st = bnn_store_commit(&heads[cur], &fl, NULL);
        cuts += st != BNN_OK;
        commits_ok += st == BNN_OK;
        if (cut != BNN_STORE_NO_CUT && cut < n_steps) CHECK(st == BNN_ERR_FLASH);
        else CHECK(st == BNN_OK);
        t.trials++;
        const uint32_t nxt = 1u - cur;
        const uint32_t corrupt_before = t.corrupt, new_before = t.neu;
        const bnn_status_t ld = reboot_and_classify(&c, n, has_old, &t, &heads[nxt], arenas[nxt]);
        faulty += ram.faulty_reads != faulty_before;
        if (st == BNN_OK && t.neu != new_before + 1u) lost++; /* a completed commit must load */
        if (t.corrupt != corrupt_before) continue;
        /* the device continues from what it loaded; that is the next "old" */
        cur = nxt;
        if (ld == BNN_OK) {
            state_of(&heads[cur], blob_old);
            has_old = 1;
        }
    }
    printf("powercut random%s: trials=%u cuts=%u commits_ok=%u old=%u new=%u corrupt=%u lost=%u faulty_loads=%u\n",
           read_mode == BNN_STORE_READ_ERROR ? " (read errors)" : read_mode == BNN_STORE_READ_UNSTABLE ? " (unstable reads)" : "",
           (unsigned)t.trials, (unsigned)cuts, (unsigned)commits_ok, (unsigned)t.old, (unsigned)t.neu,
           (unsigned)t.corrupt, (unsigned)lost, (unsigned)faulty);
    if (read_mode != BNN_STORE_READ_CLEAN) {
        rf_trials += t.trials;
        rf_faulty += faulty;
        rf_corrupt += t.corrupt;
        rf_lost += lost;
        CHECK(trials < 20u || faulty > 0u); /* the faults were met */
    }
    CHECK(t.corrupt == 0u);
    CHECK(lost == 0u);
    CHECK(t.old + t.neu == t.trials);
    CHECK(trials < 20u || (cuts > 0u && commits_ok > 0u));
}

/* A torn unit on ECC flash fails to read: scan marks the slot unreadable and invalid, the other
 * slot loads, and the next commit (which erases the torn slot) succeeds. */
static void test_unreadable_slot_is_invalid(void) {
    bnn_head_config_t c;
    bnn_head_config_default(&c);
    c.n_latent = 64;
    c.n_hidden = 32;
    c.max_classes = 4;
    c.buffer_bytes = 300;
    uint32_t rng = 5u;
    bnn_store_ram_init(&ram, &fl, flash_mem, 1024u, FLASH_BYTES / 1024u, 8u);
    bnn_store_ram_read_faults(&ram, torn_map, BNN_STORE_READ_ERROR);
    bnn_head_t *h = &heads[0];
    CHECK(bnn_head_init(h, &c, arena_a, sizeof arena_a) == BNN_OK);
    learn_some(h, 5u, &rng);
    CHECK(bnn_store_commit(h, &fl, NULL) == BNN_OK); /* slot 0 */
    const uint32_t n = state_of(h, blob_old);
    learn_some(h, 5u, &rng);
    bnn_store_ram_power_on(&ram);
    bnn_store_ram_arm_cut(&ram, 3u, BNN_STORE_TORN_PREFIX, 9u); /* a blob program of slot 1 */
    CHECK(bnn_store_commit(h, &fl, NULL) == BNN_ERR_FLASH);
    bnn_store_ram_power_on(&ram);
    for (uint32_t k = 0; k < FLASH_BYTES / 8u; k++) torn_map[k] = 0u;
    torn_map[(FLASH_BYTES / 2u + 64u) / 8u] = 1u; /* a torn unit in slot 1's blob, whatever the cut did */
    memset(flash_mem + FLASH_BYTES / 2u, 0xFF, 32u);
    uint8_t hdr[32]; /* give slot 1 a header that looks valid: only the read error invalidates it */
    CHECK(fl.read(fl.ctx, 0u, hdr, 32u) == 0);
    hdr[8]++;
    bnn_wr_u32(hdr + 28, bnn_crc32_update(0u, hdr, 28u));
    memcpy(flash_mem + FLASH_BYTES / 2u, hdr, 32u);
    bnn_store_info_t info;
    CHECK(bnn_store_scan(&fl, &info) == BNN_OK);
    CHECK(info.valid[0] == 1u && info.valid[1] == 0u && info.unreadable[1] == 1u && info.unreadable[0] == 0u);
    CHECK(info.newest == 0);
    CHECK(bnn_head_init(&heads[1], &c, arena_b, sizeof arena_b) == BNN_OK);
    CHECK(bnn_store_load(&heads[1], &fl, &info) == BNN_OK && info.loaded == 0);
    CHECK(state_of(&heads[1], blob_got) == n && memcmp(blob_got, blob_old, n) == 0);
    CHECK(bnn_store_commit(h, &fl, &info) == BNN_OK && info.newest == 1); /* erased and rewritten */
    CHECK(bnn_store_scan(&fl, &info) == BNN_OK && info.unreadable[1] == 0u && info.valid[1] == 1u);
}

int main(void) {
    RUN(test_exhaustive_default_head);
    RUN(test_exhaustive_small_head_byte_flash);
    RUN(test_exhaustive_first_commit);
    RUN(test_random_cuts);
    RUN(test_unreadable_slot_is_invalid);
    for (read_mode = BNN_STORE_READ_ERROR; read_mode <= BNN_STORE_READ_UNSTABLE; read_mode++) {
        RUN(test_exhaustive_default_head);
        RUN(test_exhaustive_first_commit);
        RUN(test_random_cuts);
    }
    read_mode = BNN_STORE_READ_CLEAN;
    printf("powercut read-faults: trials=%u faulty=%u corrupt=%u lost=%u\n", (unsigned)rf_trials,
           (unsigned)rf_faulty, (unsigned)rf_corrupt, (unsigned)rf_lost);
    printf("%u passed, %u failed\n", n_pass, n_fail);
    return n_fail != 0u;
}
