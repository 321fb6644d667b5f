/* Decimal text of a 64-bit value, for the bench tools: newlib's printf may lack %llu/PRIu64.
 * Header-only so that tools built as applications (model_bench.c, which link no support sources)
 * use it too. buf must hold 21 bytes. */
#ifndef BNN_U64S_H
#define BNN_U64S_H

#include <stdint.h>

static inline const char *u64s(uint64_t v, char *buf) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

#endif
