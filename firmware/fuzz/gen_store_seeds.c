/* Writes the store fuzz target's seeds into DIR (argv[1]): genuine states of the fuzz head
 * (fuzz_head_config.h) after some learning, in each of the target's input modes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_head_config.h"

static uint32_t arena[FUZZ_ARENA_WORDS];
static bnn_head_t head;
static uint8_t flash_mem[FUZZ_FLASH_BYTES];
static uint8_t out[1u + FUZZ_FLASH_BYTES];

static void save(const char *dir, const char *name, const uint8_t *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_store_seeds: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_store_seeds DIR\n");
        return 2;
    }
    bnn_head_config_t c;
    fuzz_head_config(&c);
    if (bnn_head_init(&head, &c, arena, sizeof arena) != BNN_OK) return 1;
    bnn_store_ram_t ram;
    bnn_store_flash_t fl;
    bnn_store_ram_init(&ram, &fl, flash_mem, FUZZ_PAGE, FUZZ_PAGES, FUZZ_UNIT);
    uint32_t rng = 11u;
    const uint32_t n = bnn_head_state_size(&head);
    if (n + 1u > sizeof out) return 1;
    /* the fresh state (mode 3: one chunk of at most 255 bytes would not hold it, so chunked) */
    for (int round = 0; round < 3; round++) {
        fuzz_head_learn(&head, 4u + 6u * (uint32_t)round, &rng);
        if (round == 1) (void)bnn_head_end_task(&head);
        if (bnn_store_commit(&head, &fl, NULL) != BNN_OK) return 1;
        char name[64];
        out[0] = 0u;
        memcpy(out + 1, flash_mem, FUZZ_FLASH_BYTES);
        snprintf(name, sizeof name, "flash_%d", round);
        save(argv[1], name, out, 1u + FUZZ_FLASH_BYTES);
        for (uint8_t mode = 1u; mode <= 2u; mode++) {
            out[0] = mode;
            if (bnn_head_state_read(&head, 0u, out + 1, n) != BNN_OK) return 1;
            snprintf(name, sizeof name, "blob_m%u_%d", (unsigned)mode, round);
            save(argv[1], name, out, 1u + n);
        }
        /* mode 3: 255-byte chunks, each preceded by its length byte */
        size_t len = 0u;
        static uint8_t blob[FUZZ_FLASH_BYTES];
        if (bnn_head_state_read(&head, 0u, blob, n) != BNN_OK) return 1;
        out[len++] = 3u;
        for (uint32_t off = 0u; off < n; off += 255u) {
            const uint32_t m = n - off < 255u ? n - off : 255u;
            out[len++] = (uint8_t)m;
            memcpy(out + len, blob + off, m);
            len += m;
        }
        snprintf(name, sizeof name, "chunks_m3_%d", round);
        save(argv[1], name, out, len);
    }
    printf("gen_store_seeds: state %u bytes, 12 seeds in %s\n", (unsigned)n, argv[1]);
    return 0;
}
