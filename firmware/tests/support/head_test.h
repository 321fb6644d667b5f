/* Test-case scaffolding shared by the on-device head's C tests (test_head, test_replay,
 * test_store, test_powercut): CHECK() marks the running case failed, RUN() runs one case and
 * counts it; each program ends with printf("%u passed, %u failed\n", n_pass, n_fail). */
#ifndef BNN_HEAD_TEST_H
#define BNN_HEAD_TEST_H

#include <stdio.h>

static int t_failed;
static unsigned n_pass, n_fail;
#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            if (!t_failed) printf("  check failed %s:%d: %s\n", __FILE__, __LINE__, #c); \
            t_failed = 1;                                                          \
        }                                                                          \
    } while (0)
#define RUN(fn)                                              \
    do {                                                     \
        t_failed = 0;                                        \
        fn();                                                \
        printf("%s %s\n", t_failed ? "FAIL" : "ok  ", #fn); \
        if (t_failed) n_fail++; else n_pass++;               \
    } while (0)

#endif
