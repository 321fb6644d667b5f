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

/* Monotonic ticks since bnn_port_init(): nanoseconds on the host; core clock cycles on
 * Cortex-M (under QEMU with -icount shift=0 one tick = one instruction, to within 1 tick). */
uint64_t bnn_port_ticks(void);

/* "host", "cortex-m4", "cortex-m7" ... */
const char *bnn_port_name(void);

#ifdef __cplusplus
}
#endif

#endif /* BNN_PORT_H */
