/* bnn-edge: what on-device learning costs (benchmarks/run.py, `--only head`).
 *
 * Under QEMU with -icount shift=0 a tick is 40 instructions (50 on mps2-an505): benchmarks/run.py
 * multiplies; on the host ticks are nanoseconds. For each head (the default one, N=256 H=128 10
 * classes, and the paper-size one, N=1024 H=128 100 classes, both with the default 4 KiB buffer
 * and hyper-parameters) it runs the project's scenario on synthetic latents (a random prototype
 * per class, ~19 % of its bits flipped per sample):
 *   task 0: the first half of the classes offered to the buffer (buffer_add), end_task (timed:
 *           epochs * fill SGD steps);
 *   deployment: every other class, L samples each, bnn_head_learn (timed, each call 1 + K SGD
 *           steps: the sample and K replays);
 *   predict: Q samples over all classes (timed); commit: the state to the two-slot store on the
 *           RAM flash simulator, twice (the second, steady-state one is reported: scan of one
 *           valid slot, erase and program of the other, read-back; the simulator's erase and
 *           program are memset/AND loops, a real flash adds its own erase/program time).
 * The scenario runs twice, with the reference and with the optimized kernels (bnn_head_set_kernels:
 * the W2 update and the logits); both must end in the same state and give the same predictions
 * (HEAD_EQUAL). HEAD_ROW times the update loop alone on one class row of the default head.
 * Output (one record a line):
 *   HOOK reps=<R> ticks=<T>                         R back-to-back tick reads
 *   HEAD <name> n=<N> h=<H> k=<K> slots=<S> arena=<B> control=<B> state=<B>
 *   LEARN <name> <ref|opt> calls=<n> steps=<s> ticks=<t>
 *   END_TASK <name> <ref|opt> steps=<s> ticks=<t>
 *   PREDICT <name> calls=<n> ticks=<t>
 *   COMMIT <name> bytes=<state bytes> ticks=<t>
 *   HEAD_EQUAL <name> <1|0>
 *   ROW <ref|opt> latents=<n> reps=<r> ticks=<t>
 *   END */
#include <stdio.h>
#include <string.h>

#include "bnn/bnn_crc32.h"
#include "bnn/bnn_head.h"
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_head_store.h"
#include "bnn_port.h"
#include "head/bnn_head_update.h"
#include "bnn_u64s.h"

#define MAX_N 1024u
#define MAX_K 100u
#define ARENA_BYTES (540u * 1024u)
#define FLASH_PAGE 1024u
#define FLASH_BYTES (2u * 480u * 1024u)

static uint32_t arena[ARENA_BYTES / 4u];
static uint8_t flash_mem[FLASH_BYTES];
static bnn_head_t head;
static uint32_t protos[MAX_K][MAX_N / 32u];
static uint32_t zbuf[MAX_N / 32u];


static void sample(uint32_t c, uint32_t words, uint32_t *rng) {
    for (uint32_t w = 0; w < words; w++) { /* P(flip) = 1/4 * 3/4 = 3/16 ~ 19 % */
        uint32_t m = bnn_prng_next(rng) & bnn_prng_next(rng) & (bnn_prng_next(rng) | bnn_prng_next(rng));
        zbuf[w] = protos[c][w] ^ m;
    }
}

typedef struct {
    uint64_t learn, end_task, predict, commit;
    uint32_t learn_calls, learn_steps, end_steps, predict_calls, state_bytes, state_crc, pred_crc;
} run_t;

static bnn_status_t scenario(const bnn_head_config_t *cfg, bnn_kernels_t kern, uint32_t per_class0, uint32_t learn_per_class,
                             uint32_t queries, int do_commit, run_t *r) {
    memset(r, 0, sizeof *r);
    bnn_status_t st = bnn_head_init(&head, cfg, arena, sizeof arena);
    if (st != BNN_OK) return st;
    if ((st = bnn_head_set_kernels(&head, kern)) != BNN_OK) return st;
    const uint32_t words = cfg->n_latent / 32u, k = cfg->max_classes, k0 = k / 2u;
    uint32_t rng = bnn_prng_seed(42u, 7u);
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t w = 0; w < words; w++) protos[c][w] = bnn_prng_next(&rng);
    for (uint32_t c = 0; c < k0; c++)
        for (uint32_t i = 0; i < per_class0; i++) {
            sample(c, words, &rng);
            if ((st = bnn_head_buffer_add(&head, zbuf, c, NULL)) != BNN_OK) return st;
        }
    uint32_t s0 = head.steps;
    uint64_t t0 = bnn_port_ticks();
    st = bnn_head_end_task(&head);
    r->end_task = bnn_port_ticks() - t0;
    r->end_steps = head.steps - s0;
    if (st != BNN_OK) return st;
    s0 = head.steps;
    for (uint32_t c = k0; c < k; c++)
        for (uint32_t i = 0; i < learn_per_class; i++) {
            sample(c, words, &rng);
            t0 = bnn_port_ticks();
            st = bnn_head_learn(&head, zbuf, c);
            r->learn += bnn_port_ticks() - t0;
            if (st != BNN_OK) return st;
            r->learn_calls++;
        }
    r->learn_steps = head.steps - s0;
    uint32_t crc = 0u;
    for (uint32_t q = 0; q < queries; q++) {
        sample((q * 7u) % k, words, &rng);
        uint32_t label = 0u;
        t0 = bnn_port_ticks();
        st = bnn_head_predict(&head, zbuf, &label, NULL);
        r->predict += bnn_port_ticks() - t0;
        if (st != BNN_OK) return st;
        uint8_t b = (uint8_t)label;
        crc = bnn_crc32_update(crc, &b, 1u);
        r->predict_calls++;
    }
    r->pred_crc = crc;
    r->state_bytes = bnn_head_state_size(&head);
    crc = 0u;
    for (uint32_t off = 0; off < r->state_bytes; off += 64u) {
        uint8_t buf[64];
        const uint32_t n = r->state_bytes - off < 64u ? r->state_bytes - off : 64u;
        if ((st = bnn_head_state_read(&head, off, buf, n)) != BNN_OK) return st;
        crc = bnn_crc32_update(crc, buf, n);
    }
    r->state_crc = crc;
    if (do_commit) {
        static bnn_store_ram_t ram;
        bnn_store_flash_t fl;
        bnn_store_ram_init(&ram, &fl, flash_mem, FLASH_PAGE, FLASH_BYTES / FLASH_PAGE, 4u);
        if ((st = bnn_store_commit(&head, &fl, NULL)) != BNN_OK) return st; /* first: blank flash */
        t0 = bnn_port_ticks();
        st = bnn_store_commit(&head, &fl, NULL);
        r->commit = bnn_port_ticks() - t0;
    }
    return st;
}

static void bench_head(const char *name, const bnn_head_config_t *cfg, uint32_t per_class0, uint32_t learn_per_class,
                       uint32_t queries) {
    char a[24], b[24];
    bnn_head_mem_t mem;
    if (bnn_head_memory_required(cfg, &mem) != BNN_OK || mem.arena > sizeof arena) {
        printf("HEAD %s does-not-fit\n", name);
        return;
    }
    run_t ref, opt;
    bnn_status_t s1 = scenario(cfg, BNN_KERNELS_REFERENCE, per_class0, learn_per_class, queries, 0, &ref);
    bnn_status_t s2 = scenario(cfg, BNN_KERNELS_OPTIMIZED, per_class0, learn_per_class, queries, 1, &opt);
    if (s1 != BNN_OK || s2 != BNN_OK) {
        printf("HEAD %s error %s %s\n", name, bnn_status_str(s1), bnn_status_str(s2));
        return;
    }
    printf("HEAD %s n=%u h=%u k=%u slots=%u arena=%lu control=%lu state=%lu\n", name, (unsigned)cfg->n_latent,
           (unsigned)cfg->n_hidden, (unsigned)cfg->max_classes, (unsigned)head.buf.n_slots, (unsigned long)mem.arena,
           (unsigned long)mem.control, (unsigned long)opt.state_bytes);
    const run_t *rs[2] = {&ref, &opt};
    for (int i = 0; i < 2; i++) {
        const char *kn = i ? "opt" : "ref";
        printf("LEARN %s %s calls=%lu steps=%lu ticks=%s\n", name, kn, (unsigned long)rs[i]->learn_calls,
               (unsigned long)rs[i]->learn_steps, u64s(rs[i]->learn, a));
        printf("END_TASK %s %s steps=%lu ticks=%s\n", name, kn, (unsigned long)rs[i]->end_steps, u64s(rs[i]->end_task, a));
    }
    printf("PREDICT %s calls=%lu ticks=%s\n", name, (unsigned long)opt.predict_calls, u64s(opt.predict, a));
    printf("COMMIT %s bytes=%lu ticks=%s\n", name, (unsigned long)opt.state_bytes, u64s(opt.commit, b));
    printf("HEAD_EQUAL %s %d\n", name, ref.state_crc == opt.state_crc && ref.pred_crc == opt.pred_crc);
}

/* the update loop alone: one class row of the default head (2C = 768 latents), a small step */
static void bench_row(void) {
    char a[24];
    bnn_head_config_t cfg;
    bnn_head_config_default(&cfg);
    if (bnn_head_init(&head, &cfg, arena, sizeof arena) != BNN_OK) return;
    uint32_t rng = bnn_prng_seed(5u, 5u);
    for (uint32_t w = 0; w < head.words_c; w++) head.sc_c[w] = bnn_prng_next(&rng);
    const uint32_t reps = 64u, wc = head.words_c, c = head.n_channels;
    for (int opt = 0; opt < 2; opt++) {
        const bnn_head_update_fn fn = opt ? bnn_head_update_row_optimized : bnn_head_update_row_reference;
        uint64_t t0 = bnn_port_ticks();
        for (uint32_t i = 0; i < reps; i++) /* +-5 alternately: the latents stay inside the clip */
            fn(head.lat, head.lat + c, head.w2, head.w2 + wc, head.sc_c, wc, (i & 1u) ? -5 : 5, cfg.latent_clip);
        uint64_t t = bnn_port_ticks() - t0;
        printf("ROW %s latents=%lu reps=%lu ticks=%s\n", opt ? "opt" : "ref", (unsigned long)(2u * c),
               (unsigned long)reps, u64s(t, a));
    }
}

int main(void) {
    char a[24];
    bnn_port_init();
    const uint32_t hook_reps = 1000u;
    uint64_t t0 = bnn_port_ticks();
    for (uint32_t i = 0; i < hook_reps; i++) (void)bnn_port_ticks();
    printf("HOOK reps=%lu ticks=%s\n", (unsigned long)hook_reps, u64s(bnn_port_ticks() - t0, a));
    bnn_head_config_t cfg;
    bnn_head_config_default(&cfg); /* N=256, H=128, 10 classes, 4 KiB buffer */
    bench_head("default", &cfg, 30u, 10u, 100u);
    cfg.n_latent = 1024u; /* the paper net's latent, 100 classes */
    cfg.max_classes = 100u;
    bench_head("paper", &cfg, 2u, 2u, 100u);
    bench_row();
    printf("END\n");
    return 0;
}
