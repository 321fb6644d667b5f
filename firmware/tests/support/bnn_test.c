/* bnn-edge firmware tests: harness implementation. */
#include "bnn_test.h"

#include <stdarg.h>

int bnn_test_passed;
int bnn_test_failed;

#define BNN_TEST_MAX_REPORTED 25

void bnn_test_check(int ok, const char *file, int line, const char *fmt, ...) {
    if (ok) {
        bnn_test_passed++;
        return;
    }
    bnn_test_failed++;
    if (bnn_test_failed > BNN_TEST_MAX_REPORTED) return;
    printf("FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (bnn_test_failed == BNN_TEST_MAX_REPORTED) printf("(further failures not shown)\n");
}

int bnn_test_summary(void) {
    printf("%d passed, %d failed\n", bnn_test_passed, bnn_test_failed);
    fflush(stdout);
    return bnn_test_failed ? 1 : 0;
}

void bnn_test_fill_bits(bnn_rng_t *r, uint32_t *buf, size_t pixels, int32_t c, int32_t density) {
    const int32_t words = (c + 31) / 32;
    const uint32_t tail = (c % 32) ? ((1u << (c % 32)) - 1u) : 0xFFFFFFFFu;
    for (size_t p = 0; p < pixels; p++)
        for (int32_t j = 0; j < words; j++) {
            uint32_t v = bnn_rng_bits(r, density);
            if (j == words - 1) v &= tail;
            buf[p * (size_t)words + (size_t)j] = v;
        }
}

#define BNN_CANARY 0xDEADBEEFu

void bnn_test_canary_fill(uint32_t *buf, size_t n) {
    for (size_t i = 0; i < n; i++) buf[i] = BNN_CANARY ^ (uint32_t)i;
}

int bnn_test_canary_ok(const uint32_t *buf, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (BNN_CANARY ^ (uint32_t)i)) return 0;
    return 1;
}
