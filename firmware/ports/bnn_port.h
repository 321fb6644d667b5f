/* bnn-edge: the small platform layer the example app, the tests and the benchmarks use.
 * Implemented by ports/host/bnn_port_host.c and ports/cortex-m/bnn_port_cortex_m.c. */
#ifndef BNN_PORT_H
#define BNN_PORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the tick counter (host: monotonic clock; Cortex-M: SysTick on the core clock). */
void bnn_port_init(void);

/* Monotonic ticks since bnn_port_init(): nanoseconds on the host; SysTick ticks of the
 * processor clock on Cortex-M (= core cycles on silicon). Under QEMU (mps2-an386 / mps2-an500,
 * whose SysTick clock is the 25 MHz board clock) with `-icount shift=0` (1 ns of virtual time per
 * instruction) one tick is exactly 40 instructions, so a reading is an instruction count / 40,
 * +-1 tick; benchmarks/run.py checks the 40 against an exact `-singlestep -d exec,nochain` trace.
 * QEMU models no cycles (and no DWT cycle counter), so these are instructions, not cycles. */
uint64_t bnn_port_ticks(void);

/* "host", "cortex-m4", "cortex-m7" ... */
const char *bnn_port_name(void);

#ifdef __cplusplus
}
#endif

#endif /* BNN_PORT_H */
