/* bnn-edge: calibration of the instruction-count timer (benchmarks/run.py).
 *
 * Under QEMU with -icount shift=0, bnn_port_ticks() counts SysTick ticks; this program measures
 * the same code region two ways:
 *   - built as calib.elf (CALIB_REPS 3000): the ticks of REPS runs of the region, printed as
 *         CALIB reps=<R> ticks=<T> spin_ticks=<S> spin_insns=<I>
 *     (spin: a 2-instruction loop run I/2 times, I known exactly);
 *   - built as calib_trace.elf (3 repetitions, a short spin; the code is identical, only two
 *     volatile constants differ): QEMU's exact instruction trace
 *     (-singlestep -d exec,nochain) counts the instructions executed between the calls to
 *     calib_mark_a() and calib_mark_b(), and between successive calls of bnn_xpc_bits() (one
 *     repetition, exactly).
 * instructions per tick = (traced count / 3) * 3000 / T (and I / S for the spin loop). The region
 * is a real kernel: 32 rows of a 72-word xor-popcount (the inner loop of the paper preset's
 * first convolution), thresholded. */
#include <stdio.h>

#include "bnn_internal.h"
#include "bnn_port.h"

#ifndef CALIB_REPS
#define CALIB_REPS 3000
#define CALIB_SPIN 5000000
#endif

static uint32_t x[72], w[32 * 72], out[4];
/* volatile: the same code in both builds (only this value differs) */
static volatile uint32_t calib_reps = CALIB_REPS, calib_spin = CALIB_SPIN;
static int32_t th[32];

__attribute__((noinline)) void calib_mark_a(void);
__attribute__((noinline)) void calib_mark_b(void);
__attribute__((noinline)) void calib_mark_a(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void calib_mark_b(void) { __asm__ volatile("" ::: "memory"); }

__attribute__((noinline)) static void region(uint32_t reps) {
    bnn_xpc_t p;
    bnn_xpc_init(&p, 72);
    for (uint32_t r = 0; r < reps; r++) out[r & 3u] = bnn_xpc_bits(&p, x, w, 32, th);
}

#if defined(__arm__) && defined(__thumb__)
#if defined(__thumb2__)
#define CALIB_SUBS "subs %0, %0, #1"
#else /* Armv6-M: GCC's inline assembly is in divided syntax there, where this is SUBS */
#define CALIB_SUBS "sub %0, #1"
#endif
__attribute__((noinline)) static void spin(uint32_t n) {
    __asm__ volatile("1: " CALIB_SUBS "\n bne 1b" : "+r"(n) : : "cc");
}
#else
__attribute__((noinline)) static void spin(uint32_t n) {
    for (volatile uint32_t i = 0; i < n; i++) {
    }
}
#endif

int main(void) {
    bnn_port_init();
    for (uint32_t i = 0; i < 72; i++) x[i] = i * 2654435761u;
    for (uint32_t i = 0; i < 32 * 72; i++) w[i] = i * 40503u + 7u;
    for (uint32_t i = 0; i < 32; i++) th[i] = 1130 + 2 * (int32_t)i;
    const uint32_t reps = calib_reps;
    calib_mark_a();
    region(reps);
    calib_mark_b();
    const uint64_t t0 = bnn_port_ticks();
    region(reps);
    const uint64_t t1 = bnn_port_ticks();
    spin(calib_spin);
    const uint64_t t2 = bnn_port_ticks();
    printf("CALIB reps=%lu ticks=%lu spin_ticks=%lu spin_insns=%lu out=%08lx\n", (unsigned long)reps,
           (unsigned long)(t1 - t0), (unsigned long)(t2 - t1), (unsigned long)(2u * calib_spin),
           (unsigned long)out[0]);
    return 0;
}
