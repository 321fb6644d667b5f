/* bnn-edge on-device head: the seed paper's non-linear ternarized classifier on a frozen binary
 * latent, learning new classes after deployment with latent replay. Integer-only (no FPU),
 * no malloc: every byte lives in the caller's bnn_head_t and arena. See firmware/HEAD.md.
 *
 * Functions that can fail return a bnn_status_t (bnn/bnn_status.h, bnn_status_str names it):
 * BNN_ERR_NULL_ARG (a NULL pointer), BNN_ERR_NOT_INIT (head not initialised), BNN_ERR_ARENA_ALIGN,
 * BNN_ERR_ARENA_TOO_SMALL, BNN_ERR_CONFIG, BNN_ERR_BUDGET, BNN_ERR_LABEL, BNN_ERR_EMPTY, and for
 * the state blob BNN_ERR_STATE_RANGE, BNN_ERR_STATE_CORRUPT, BNN_ERR_STATE_MISMATCH.
 *
 *   z in {+-1}^N (N = n_latent, multiple of 32), bit-packed as in converters/FORMAT.md
 *   h = sign(W1 z)        W1 fixed (seeded PRNG, or the caller's bits), n_hidden rows, sign(0)=+1
 *   c = [z; h]            C = N + H channels
 *   d = [c; c]            duplication: two binary weights on the same input = one ternary weight
 *   logits = W2 d         W2 binary, one row of 2C bits per class:
 *                         logit_k = 2C - 2 * (popcount(c ^ a_k) + popcount(c ^ b_k))
 *
 * Learning: integer SGD on int16 latents of W2 with the straight-through estimator, softmax
 * cross-entropy via a Q15 exp LUT, saturation at +-latent_clip (exact rules in HEAD.md and
 * bnn_edge/sim/head.py, which is bit-exact with this code).
 *
 * Typical use:
 *     static bnn_head_t head;  static uint32_t arena[ARENA_WORDS];
 *     bnn_head_config_t cfg;  bnn_head_config_default(&cfg);  cfg.buffer_bytes = 4096;
 *     bnn_head_init(&head, &cfg, arena, sizeof arena);
 *     for pre-training latents: bnn_head_buffer_add(&head, z, y, NULL);
 *     bnn_head_end_task(&head);                       -- "task 0": learn them from the buffer
 *     per deployment sample: bnn_head_learn(&head, z, y);  per task: bnn_head_end_task(&head);
 *     bnn_head_predict(&head, z, &label, NULL);
 *     bnn_store_commit(&head, &flash);  (bnn_head_store.h)
 */
#ifndef BNN_HEAD_H
#define BNN_HEAD_H

#include <stdint.h>

#include "bnn/bnn_head_replay.h"
#include "bnn/bnn_interpreter.h" /* bnn_kernels_t */
#include "bnn/bnn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The compiled ceiling on output classes; a head allocates cfg.max_classes (<= this) rows. */
#ifndef BNN_HEAD_MAX_CLASSES
#define BNN_HEAD_MAX_CLASSES 100
#endif
#if BNN_HEAD_MAX_CLASSES < 1 || BNN_HEAD_MAX_CLASSES > 255
#error "BNN_HEAD_MAX_CLASSES must be in 1..255 (labels are stored as u8)"
#endif

typedef struct bnn_head_config {
    uint16_t n_latent;     /* N: latent bits, multiple of 32, 32..65504 */
    uint16_t n_hidden;     /* H: hidden units of the non-linear path, multiple of 32 (0 = none);
                              N + H <= 32768 */
    uint16_t max_classes;  /* rows of W2 allocated, 1..BNN_HEAD_MAX_CLASSES */
    uint8_t replay_k;      /* replayed buffer samples per bnn_head_learn() call */
    uint8_t epochs;        /* passes over the buffer in bnn_head_end_task() */
    uint32_t buffer_bytes; /* replay buffer budget (latents + labels), >= 4*N/32 + 1 */
    uint16_t lr_mul;       /* learning rate lr_mul / 2^lr_shift (in latent units per Q15 grad) */
    uint8_t lr_shift;      /* 0..30 */
    uint8_t temp_shift;    /* softmax temperature T = 2^temp_shift (0..16) */
    int16_t latent_clip;   /* latents saturate at +-latent_clip, 1..32767 */
    int16_t init_range;    /* initial latents uniform in [-R,-1] u [1,R], 1..latent_clip */
    uint32_t seed;         /* seeds W1 (if generated), latent init and the buffer's PRNG */
    const uint32_t *w1;    /* NULL: W1 = PRNG bits in the arena; else caller's [H][N/32] words
                              (e.g. in flash), which must stay valid for the head's lifetime */
} bnn_head_config_t;

/* Every byte the head uses. arena = all but control; total = arena + control. */
typedef struct bnn_head_mem {
    uint32_t w1_bits;     /* W1 [H][N/32] u32 (0 when the caller supplies W1) */
    uint32_t w2_bits;     /* W2 binary weights [max_classes][2C/32] u32 */
    uint32_t w2_latent;   /* W2 latent weights [max_classes][2C] int16 */
    uint32_t buffer;      /* replay samples: [n_slots][N/32] u32 + labels u8[n_slots] (pad 4) */
    uint32_t buffer_meta; /* seen u32[max_classes] + count u16[max_classes] (pad 4) */
    uint32_t scratch;     /* c [C/32] u32, logits + steps i32[max_classes], perm u16[n_slots],
                             draws u16[replay_k] (each padded to 4) */
    uint32_t arena;       /* sum of the above: what bnn_head_init needs as arena_bytes */
    uint32_t control;     /* sizeof(bnn_head_t) */
    uint32_t total;       /* arena + control */
} bnn_head_mem_t;

typedef struct bnn_head {
    bnn_head_config_t cfg;
    uint32_t magic;       /* BNN_HEAD_MAGIC once initialised */
    uint16_t words_n;     /* N/32 */
    uint16_t words_c;     /* C/32 */
    uint16_t n_channels;  /* C */
    uint16_t n_classes;   /* active classes (labels seen so far: max label + 1) */
    uint16_t tasks;       /* bnn_head_end_task() calls */
    uint16_t kernels;     /* bnn_kernels_t of the W2 update and logits (bnn_head_set_kernels) */
    uint32_t steps;       /* SGD steps taken */
    uint32_t learned;     /* bnn_head_learn() calls */
    uint32_t w1_crc;      /* CRC-32 of W1's bytes: ties a stored state to its W1 */
    const uint32_t *w1;   /* cfg.w1: [H][N/32] row-major; the PRNG W1 in the arena: bit-transposed,
                             [H/32][N] (word i of group g = input bit i of rows 32g..32g+31) */
    uint32_t *w2;         /* [max_classes][2*C/32]: row = [a | b]; within a word, latent 32w+b at
                             bit (b >> 1) + 16 (b & 1) (lane order, src/head/bnn_head_update.h) */
    int16_t *lat;         /* [max_classes][2C] latents of W2, same order as the bits */
    bnn_replay_t buf;
    uint32_t *sc_c;       /* scratch: c = [z; h] */
    int32_t *sc_logit;    /* scratch: logits */
    int32_t *sc_step;     /* scratch: exp values, then per-class update steps */
    uint16_t *sc_perm;    /* scratch: epoch permutation */
    uint16_t *sc_draw;    /* scratch: replay draws */
    bnn_head_mem_t mem;
    uint8_t load_hdr[48]; /* staging for a state header being restored */
} bnn_head_t;

/* The documented defaults (HEAD.md): N=256, H=128, 10 classes, 4096-byte buffer, K=2, 6 epochs,
 * lr 1/2^10, T=2^5, clip 2048, init 512, seed 1, W1 from the PRNG. */
void bnn_head_config_default(bnn_head_config_t *cfg);

/* Checks cfg (BNN_ERR_CONFIG / BNN_ERR_BUDGET) and fills mem with every byte the head needs. */
bnn_status_t bnn_head_memory_required(const bnn_head_config_t *cfg, bnn_head_mem_t *mem);

/* Memory of an initialised head (same numbers as bnn_head_memory_required for its cfg). */
bnn_status_t bnn_head_memory(const bnn_head_t *h, bnn_head_mem_t *mem);

/* Carves the arena (4-byte aligned, arena_bytes >= mem.arena), generates W1 if cfg->w1 is NULL,
 * initialises the latents from the seed, empties the buffer; no class is active yet. */
bnn_status_t bnn_head_init(bnn_head_t *h, const bnn_head_config_t *cfg, void *arena, uint32_t arena_bytes);

/* Back to the state right after bnn_head_init (same config and arena). */
bnn_status_t bnn_head_reset(bnn_head_t *h);

/* Selects the W2 update loop and the logits: BNN_KERNELS_OPTIMIZED (default after init; two int16
 * lanes per QSUB16 on cores with the DSP extension, the logits through bnn_xpc rows) or
 * BNN_KERNELS_REFERENCE (the naive loop, per-word popcounts); both give the same state bit for bit. As for the interpreter, -DBNN_KERNELS=1 (optimized only) or 2
 * (reference only) compiles one of them in and makes this a no-op. */
bnn_status_t bnn_head_set_kernels(bnn_head_t *h, bnn_kernels_t kernels);

/* Offers a latent to the replay buffer without training (e.g. pre-training latents at
 * deployment); activates its class. *slot (optional) gets the slot written or -1 (dropped). */
bnn_status_t bnn_head_buffer_add(bnn_head_t *h, const uint32_t *latent, uint32_t label, int32_t *slot);

/* One learning step: draw replay_k buffer slots, SGD on (latent, label), SGD on each drawn
 * sample in order, then offer (latent, label) to the buffer. Activates classes up to label. */
bnn_status_t bnn_head_learn(bnn_head_t *h, const uint32_t *latent, uint32_t label);

/* End of a task: `epochs` shuffled passes over the buffer, one SGD step per sample. */
bnn_status_t bnn_head_end_task(bnn_head_t *h);

/* Logits of the active classes into logits[n_classes] (optional) and their argmax (ties: the
 * lowest class) into *label (optional). BNN_ERR_EMPTY before any class exists. */
bnn_status_t bnn_head_predict(bnn_head_t *h, const uint32_t *latent, uint32_t *label, int32_t *logits);

/* Persisted state ("state blob", layout in HEAD.md): size, and random-access serialisation
 * (little-endian, independent of the host's byte order). */
uint32_t bnn_head_state_size(const bnn_head_t *h);
bnn_status_t bnn_head_state_read(const bnn_head_t *h, uint32_t offset, uint8_t *dst, uint32_t len);

/* Checks a blob's 48-byte header against this head: BNN_ERR_STATE_CORRUPT (bad magic, version,
 * counters out of range) or BNN_ERR_STATE_MISMATCH (other N, H, max_classes, n_slots or W1). */
bnn_status_t bnn_head_state_check_header(const bnn_head_t *h, const uint8_t *hdr48);

/* Restores a state: bnn_head_state_write the whole blob (any chunking, in order or not), then
 * bnn_head_state_finish, which checks the header and the buffer's consistency, clamps the
 * latents to +-latent_clip and rebuilds the binary weights. On error the head is reset. */
bnn_status_t bnn_head_state_write(bnn_head_t *h, uint32_t offset, const uint8_t *src, uint32_t len);
bnn_status_t bnn_head_state_finish(bnn_head_t *h);

#define BNN_HEAD_MAGIC 0x44414548u     /* "HEAD" */
#define BNN_HEAD_STATE_MAGIC 0x53484E42u /* "BNHS" */
#define BNN_HEAD_STATE_VERSION 1u
#define BNN_HEAD_STATE_HEADER 48u

#ifdef __cplusplus
}
#endif

#endif /* BNN_HEAD_H */
