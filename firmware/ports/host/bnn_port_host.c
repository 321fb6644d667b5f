/* bnn-edge: host port (Linux/macOS, hosted libc). Programs start from the C runtime's main. */
#define _POSIX_C_SOURCE 199309L
#include <time.h>

#include "bnn_port.h"

static uint64_t bnn_port_t0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bnn_port_init(void) { bnn_port_t0 = now_ns(); }

uint64_t bnn_port_ticks(void) { return now_ns() - bnn_port_t0; }

const char *bnn_port_name(void) { return "host"; }
