/* libFuzzer target: the .bnnpack loader (bnn_model_load) and, for every pack it accepts,
 * inference in an arena of exactly the size the model asks for, with both kernel families.
 *
 * Each input is tried twice: as it is, and with its two CRCs recomputed (when the header says
 * where the payload ends), so that mutations reach the checks behind the CRCs. Built with
 * ASan + UBSan: any out-of-bounds access, overflow or misaligned access is a crash. Properties
 * checked beyond "no crash":
 *   - a refused pack leaves the model marked not loaded (bnn_model_arena_size() == 0);
 *   - an accepted pack's tensors and ops decode, its arena is large enough for every tensor;
 *   - inference succeeds and never touches memory outside the pack and the arena;
 *   - the optimized and reference kernels give the same output and latent bytes -- for packs
 *     that keep FORMAT.md's lifetime contract, which the loader does not check: every op reads
 *     only the input or earlier ops' outputs that nothing has overwritten since (a pack that
 *     reads garbage may legitimately get different garbage from the two families). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn.h"
#include "bnn/bnn_le.h"

/* Packs asking for more arena than this are loaded but not run (they cannot be on a device
 * either); bnn_interpreter_init must then refuse a smaller arena. */
#define FUZZ_MAX_ARENA (1u << 20)

#define REQUIRE(cond, ...)                                  \
    do {                                                    \
        if (!(cond)) {                                      \
            fprintf(stderr, "fuzz_pack: property failed: "); \
            fprintf(stderr, __VA_ARGS__);                   \
            fprintf(stderr, " (%s)\n", #cond);              \
            abort();                                        \
        }                                                   \
    } while (0)


/* FORMAT.md header: payload_size @12, payload_crc32 @16, header_crc32 @60 over bytes 0..59. */
static int fix_crcs(uint8_t *buf, size_t len) {
    if (len < BNN_PACK_HEADER_SIZE) return 0;
    const uint32_t payload_size = bnn_rd_u32(buf + 12);
    if ((uint64_t)BNN_PACK_HEADER_SIZE + payload_size <= len)
        bnn_wr_u32(buf + 16, bnn_crc32(buf + BNN_PACK_HEADER_SIZE, payload_size));
    bnn_wr_u32(buf + 60, bnn_crc32(buf, 60));
    return 1;
}

/* Output and latent bytes of one inference with one kernel family. */
static bnn_status_t run_once(const bnn_model_t *m, uint8_t *arena, uint32_t need, bnn_kernels_t fam,
                             const uint8_t *seed, size_t seed_len, uint8_t **out, uint32_t *out_len,
                             uint8_t **lat, uint32_t *lat_len) {
    bnn_interpreter_t it;
    bnn_status_t s = bnn_interpreter_init(&it, m, arena, need);
    REQUIRE(s == BNN_OK, "interpreter_init %s", bnn_status_str(s));
    bnn_interpreter_set_kernels(&it, fam);
    memset(arena, 0xA5, need); /* garbage, as after a previous model */
    bnn_tensor_info_t in;
    uint8_t *ip = (uint8_t *)bnn_input_ptr(&it, &in);
    REQUIRE(ip != NULL, "input_ptr");
    for (uint32_t i = 0; i < in.size_bytes; i++) ip[i] = seed_len ? seed[(i * 7u) % seed_len] ^ (uint8_t)i : (uint8_t)i;
    s = bnn_invoke(&it);
    if (s != BNN_OK) return s;
    bnn_tensor_info_t oi, li;
    const uint8_t *o = (const uint8_t *)bnn_output_ptr(&it, &oi);
    REQUIRE(o != NULL, "output_ptr");
    *out = (uint8_t *)malloc(oi.size_bytes ? oi.size_bytes : 1u);
    memcpy(*out, o, oi.size_bytes);
    *out_len = oi.size_bytes;
    const uint32_t *l = bnn_latent_ptr(&it, &li);
    *lat = NULL;
    *lat_len = 0u;
    if (l != NULL) {
        *lat = (uint8_t *)malloc(li.size_bytes ? li.size_bytes : 1u);
        memcpy(*lat, l, li.size_bytes);
        *lat_len = li.size_bytes;
    }
    return BNN_OK;
}

static int overlaps(const bnn_tensor_info_t *a, const bnn_tensor_info_t *b) {
    return a->arena_offset < b->arena_offset + b->size_bytes && b->arena_offset < a->arena_offset + a->size_bytes;
}

/* Whether tensor x, read by op `at`, holds what its producer (or bnn_set_input) wrote: it was
 * written, and no later op wrote another tensor over any of its bytes. */
static int intact(const bnn_model_t *m, uint32_t x, uint32_t at) {
    bnn_tensor_info_t tx, to;
    bnn_op_info_t op;
    if (bnn_model_tensor(m, x, &tx) != BNN_OK) return 0;
    int32_t def = x == m->input_tensor ? -1 : -2;
    for (uint32_t i = 0; i < at; i++) {
        if (bnn_model_op(m, i, &op) != BNN_OK) return 0;
        if (op.out == x) def = (int32_t)i;
    }
    if (def == -2) return 0; /* read before any write */
    for (uint32_t i = (uint32_t)(def + 1); i < at; i++) {
        if (bnn_model_op(m, i, &op) != BNN_OK || bnn_model_tensor(m, op.out, &to) != BNN_OK) return 0;
        if (op.out != x && overlaps(&tx, &to)) return 0;
    }
    return 1;
}

static int keeps_lifetimes(const bnn_model_t *m) {
    bnn_op_info_t op;
    for (uint32_t i = 0; i < m->n_ops; i++) {
        if (bnn_model_op(m, i, &op) != BNN_OK) return 0;
        if (!intact(m, op.in0, i)) return 0;
        if (op.type == BNN_OP_CONCAT && !intact(m, op.in1, i)) return 0;
    }
    if (!intact(m, m->output_tensor, m->n_ops)) return 0;
    return m->latent_tensor == BNN_TENSOR_NONE || intact(m, m->latent_tensor, m->n_ops);
}

static void try_pack(const uint8_t *buf, size_t len) {
    bnn_model_t m;
    memset(&m, 0x5A, sizeof m);
    bnn_status_t s = bnn_model_load(&m, buf, len);
    REQUIRE(s < BNN_STATUS_COUNT, "status %d", (int)s);
    (void)bnn_status_str(s);
    if (s != BNN_OK) {
        REQUIRE(bnn_model_arena_size(&m) == 0u, "refused pack (%s) left a loaded model", bnn_status_str(s));
        return;
    }
    /* every table entry decodes; tensors lie inside the planned arena */
    bnn_tensor_info_t ti;
    for (uint32_t i = 0; i < m.n_tensors; i++) {
        REQUIRE(bnn_model_tensor(&m, i, &ti) == BNN_OK, "tensor %u", (unsigned)i);
        REQUIRE((uint64_t)ti.arena_offset + ti.size_bytes <= m.arena_bytes, "tensor %u outside arena", (unsigned)i);
    }
    REQUIRE(bnn_model_tensor(&m, m.n_tensors, &ti) != BNN_OK, "tensor id past the table");
    bnn_op_info_t oi;
    for (uint32_t i = 0; i < m.n_ops; i++) REQUIRE(bnn_model_op(&m, i, &oi) == BNN_OK, "op %u", (unsigned)i);
    REQUIRE(bnn_model_op(&m, m.n_ops, &oi) != BNN_OK, "op index past the table");
    uint32_t meta_len = 0u;
    const uint8_t *meta = bnn_model_meta(&m, &meta_len);
    REQUIRE(meta == NULL ? meta_len == 0u : meta >= buf && meta + meta_len <= buf + len, "meta range");

    const uint32_t need = bnn_model_arena_size(&m);
    REQUIRE(need >= m.arena_bytes, "arena size %u < planned %u", (unsigned)need, (unsigned)m.arena_bytes);
    if (need > FUZZ_MAX_ARENA) {
        static uint32_t small[64];
        bnn_interpreter_t it;
        REQUIRE(bnn_interpreter_init(&it, &m, small, sizeof small) == BNN_ERR_ARENA_TOO_SMALL, "small arena accepted");
        return;
    }
    /* exactly `need` bytes on the heap: ASan sees any access past the arena */
    uint8_t *arena = (uint8_t *)malloc(need ? need : 4u);
    uint8_t *out[2], *lat[2];
    uint32_t out_len[2], lat_len[2];
    const bnn_kernels_t fams[2] = {BNN_KERNELS_OPTIMIZED, BNN_KERNELS_REFERENCE};
    bnn_status_t st[2];
    for (int f = 0; f < 2; f++) {
        out[f] = lat[f] = NULL;
        st[f] = run_once(&m, arena, need, fams[f], buf, len, &out[f], &out_len[f], &lat[f], &lat_len[f]);
    }
    REQUIRE(st[0] == BNN_OK && st[1] == BNN_OK, "invoke of a validated pack: %s / %s", bnn_status_str(st[0]),
            bnn_status_str(st[1]));
    REQUIRE(out_len[0] == out_len[1] && lat_len[0] == lat_len[1], "output/latent sizes differ");
    if (keeps_lifetimes(&m)) {
        REQUIRE(memcmp(out[0], out[1], out_len[0]) == 0, "optimized and reference kernels disagree on the output");
        REQUIRE(lat_len[0] == 0u || memcmp(lat[0], lat[1], lat_len[0]) == 0,
                "optimized and reference kernels disagree on the latent");
    }
    for (int f = 0; f < 2; f++) {
        free(out[f]);
        free(lat[f]);
    }
    free(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size heap copy (malloc is at least 8-byte aligned): ASan flags any read past the end */
    uint8_t *buf = (uint8_t *)malloc(size ? size : 1u);
    if (size) memcpy(buf, data, size);
    try_pack(buf, size);
    if (fix_crcs(buf, size)) try_pack(buf, size);
    if (size >= 4u) { /* a misaligned buffer is refused before anything is read */
        bnn_model_t m;
        REQUIRE(bnn_model_load(&m, buf + 1, size - 1u) == BNN_ERR_PACK_ALIGN, "misaligned pack");
    }
    free(buf);
    return 0;
}
