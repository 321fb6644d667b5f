/* pack_verdict: the C loader's verdict on .bnnpack files, for the differential fuzz test
 * (scripts/pack_diff_fuzz.py: the Python reader and this loader must agree on every pack).
 *
 *   pack_verdict FILE...      or, with no argument, one path per line on stdin
 *
 * Prints one line per file: "<status> <path>" (0 = accepted, else the bnn_status_t of
 * bnn_model_load). Host only. */
#include <stdio.h>
#include <string.h>

#include "bnn/bnn.h"

#define MAX_PACK (8u << 20)
static uint32_t buf[MAX_PACK / 4u]; /* 4-byte aligned, as the loader needs */

static void verdict(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("-1 %s\n", path);
        return;
    }
    const size_t n = fread(buf, 1, MAX_PACK, f);
    fclose(f);
    bnn_model_t m;
    const bnn_status_t s = bnn_model_load(&m, buf, n);
    printf("%d %s\n", (int)s, path);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        for (int i = 1; i < argc; i++) verdict(argv[i]);
        return 0;
    }
    char line[4096];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '\0') verdict(line);
        fflush(stdout);
    }
    return 0;
}
