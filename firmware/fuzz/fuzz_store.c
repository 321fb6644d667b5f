/* libFuzzer target: the head's stored-state loader (bnn_store_load, bnn_head_state_write/
 * _finish) on flash contents an attacker or a failing flash could leave, with ASan + UBSan.
 *
 * The first input byte picks how the rest is used (the others are the store's own seeds):
 *   0  a raw flash image (both slots; the rest of the flash erased);
 *   1  a state blob, wrapped in a valid slot header (correct CRCs) in slot 0: reaches the head's
 *      own header and consistency checks;
 *   2  as 1, in the slot after a genuine committed state, with a newer sequence number: whatever
 *      the blob holds, the load must succeed (the genuine state is the fallback);
 *   3  a state blob written straight into a head in fuzzer-chosen chunks, then _finish.
 * Properties beyond "no crash": a load either fails with a bnn_status_t error or yields a head
 * that predicts, learns, commits and reloads to the same state bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn_crc32.h"
#include "bnn/bnn_le.h"
#include "fuzz_head_config.h"

#define REQUIRE(cond, ...)                                    \
    do {                                                      \
        if (!(cond)) {                                        \
            fprintf(stderr, "fuzz_store: property failed: "); \
            fprintf(stderr, __VA_ARGS__);                     \
            fprintf(stderr, " (%s)\n", #cond);                \
            abort();                                          \
        }                                                     \
    } while (0)

static uint32_t arena_a[FUZZ_ARENA_WORDS], arena_b[FUZZ_ARENA_WORDS];
static bnn_head_t head_a, head_b;
static uint8_t flash_mem[FUZZ_FLASH_BYTES];
static uint8_t blob_a[FUZZ_ARENA_WORDS * 4u], blob_b[FUZZ_ARENA_WORDS * 4u];

/* A slot header (bnn_head_store.h) for blob[0..len) in slot s, and the blob itself. */
static void write_slot(uint32_t s, uint32_t seq, const uint8_t *blob, uint32_t len) {
    const uint32_t slot = FUZZ_FLASH_BYTES / 2u;
    uint8_t *base = flash_mem + s * slot;
    memset(base, 0xFF, slot);
    if (len > slot - BNN_STORE_HEADER) len = slot - BNN_STORE_HEADER;
    memcpy(base + BNN_STORE_HEADER, blob, len);
    bnn_wr_u32(base + 0, BNN_STORE_MAGIC);
    bnn_wr_u32(base + 4, BNN_STORE_VERSION | (BNN_STORE_HEADER << 16));
    bnn_wr_u32(base + 8, seq);
    bnn_wr_u32(base + 12, len);
    bnn_wr_u32(base + 16, bnn_crc32(blob, len));
    bnn_wr_u32(base + 28, bnn_crc32(base, 28u));
}

static uint32_t state_bytes(const bnn_head_t *h, uint8_t *out) {
    const uint32_t n = bnn_head_state_size(h);
    REQUIRE(n > 0u && n <= sizeof blob_a, "state size %u", (unsigned)n);
    REQUIRE(bnn_head_state_read(h, 0u, out, n) == BNN_OK, "state_read");
    return n;
}

/* A head that loaded: it must work, and commit + reload must give back the same state. */
static void exercise(bnn_head_t *h, bnn_store_flash_t *fl, const uint8_t *data, size_t size) {
    uint32_t z[1] = {size >= 4u ? (uint32_t)data[0] | ((uint32_t)data[size - 1u] << 24) : 0x1234u};
    uint32_t label = 0u;
    int32_t logits[BNN_HEAD_MAX_CLASSES];
    bnn_status_t st = bnn_head_predict(h, z, &label, logits);
    REQUIRE(st == BNN_OK ? label < h->n_classes : st == BNN_ERR_EMPTY, "predict %d", (int)st);
    uint32_t rng = 99u;
    fuzz_head_learn(h, 2u, &rng);
    REQUIRE(bnn_head_end_task(h) == BNN_OK, "end_task");
    REQUIRE(bnn_head_predict(h, z, &label, logits) == BNN_OK && label < h->n_classes, "predict after learning");
    bnn_store_info_t info;
    REQUIRE(bnn_store_commit(h, fl, &info) == BNN_OK, "commit of a loaded head");
    bnn_head_config_t c;
    fuzz_head_config(&c);
    REQUIRE(bnn_head_init(&head_b, &c, arena_b, sizeof arena_b) == BNN_OK, "init b");
    st = bnn_store_load(&head_b, fl, &info);
    REQUIRE(st == BNN_OK, "reload after commit: %d (%s)", (int)st, bnn_status_str(st));
    const uint32_t n = state_bytes(h, blob_a);
    REQUIRE(state_bytes(&head_b, blob_b) == n && memcmp(blob_a, blob_b, n) == 0, "reloaded state differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1u) return 0;
    const uint8_t mode = data[0] & 3u;
    data++;
    size--;
    bnn_head_config_t c;
    fuzz_head_config(&c);
    REQUIRE(bnn_head_init(&head_a, &c, arena_a, sizeof arena_a) == BNN_OK, "init");
    bnn_store_ram_t ram;
    bnn_store_flash_t fl;
    bnn_store_ram_init(&ram, &fl, flash_mem, FUZZ_PAGE, FUZZ_PAGES, FUZZ_UNIT);
    const uint32_t blob_len = size > 0xFFFFu ? 0xFFFFu : (uint32_t)size;
    bnn_status_t st;
    if (mode == 0u) {
        memcpy(flash_mem, data, size < FUZZ_FLASH_BYTES ? size : FUZZ_FLASH_BYTES);
        st = bnn_store_load(&head_a, &fl, NULL);
    } else if (mode == 1u) {
        write_slot(0u, 1u, data, blob_len);
        st = bnn_store_load(&head_a, &fl, NULL);
    } else if (mode == 2u) {
        uint32_t rng = 5u;
        fuzz_head_learn(&head_a, 5u, &rng);
        bnn_store_info_t info;
        REQUIRE(bnn_store_commit(&head_a, &fl, &info) == BNN_OK, "genuine commit");
        const uint32_t n = state_bytes(&head_a, blob_b);
        write_slot(1u - (uint32_t)info.newest, info.seq[info.newest] + 1u, data, blob_len);
        REQUIRE(bnn_head_init(&head_a, &c, arena_a, sizeof arena_a) == BNN_OK, "init");
        st = bnn_store_load(&head_a, &fl, &info);
        REQUIRE(st == BNN_OK, "load with a genuine state in the other slot: %d (%s)", (int)st, bnn_status_str(st));
        if (info.fallback) REQUIRE(state_bytes(&head_a, blob_a) == n && memcmp(blob_a, blob_b, n) == 0,
                                   "fallback did not restore the genuine state");
    } else {
        const uint32_t n = bnn_head_state_size(&head_a);
        uint32_t off = 0u;
        size_t pos = 0u;
        /* chunks: a length byte, then that many blob bytes; out-of-range writes must be refused */
        while (pos < size) {
            const uint32_t len = data[pos++];
            const uint32_t take = (uint32_t)(size - pos) < len ? (uint32_t)(size - pos) : len;
            const bnn_status_t w = bnn_head_state_write(&head_a, off, data + pos, take);
            REQUIRE(off + take <= n ? w == BNN_OK : w == BNN_ERR_STATE_RANGE, "state_write range");
            off += take;
            pos += take;
        }
        st = bnn_head_state_finish(&head_a);
    }
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_STORE_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "fuzz_store: mode %u, %u bytes: %d (%s)\n", (unsigned)mode, (unsigned)size, st,
                         bnn_status_str(st));
    REQUIRE((unsigned)st < (unsigned)BNN_STATUS_COUNT, "status %d", (int)st);
    if (st == BNN_OK) {
        exercise(&head_a, &fl, data, size);
    } else {
        /* a refused state leaves a usable head (untouched or reset) */
        uint32_t z[1] = {0u};
        uint32_t label;
        const int p = bnn_head_predict(&head_a, z, &label, NULL);
        REQUIRE(p == BNN_OK || p == BNN_ERR_EMPTY, "predict after a refused load: %d", p);
    }
    return 0;
}
