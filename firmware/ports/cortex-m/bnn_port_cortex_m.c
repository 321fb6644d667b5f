/* bnn-edge: Cortex-M port: a 64-bit tick counter from SysTick (24-bit down counter on the
 * processor clock, reload 2^24 - 1, overflows counted in the SysTick exception).
 *
 * The counter runs RVR, RVR-1, ..., 1, 0, RVR, ... (period 2^24); the exception is raised on the
 * 1 -> 0 step, so while CVR reads 0 the wrap has already been counted. Writing CVR clears it to 0
 * and the first reload (0 -> RVR) raises nothing. Hence ticks = wraps * 2^24 + ((0 - CVR) mod 2^24)
 * is monotonic from 0 at bnn_port_init() (the older wraps * 2^24 + (RVR - CVR) went back by 2^24
 * at the first reload, and again whenever CVR was read as 0).
 *
 * Under QEMU (mps2-an386/an500) SysTick's processor clock is the 25 MHz board clock; with
 * `-icount shift=0` virtual time advances 1 ns per instruction, so one tick is exactly 40
 * instructions (benchmarks/run.py calibrates this against an exact instruction trace). */
#include "bnn_port.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t bnn_systick_wraps;

void bnn_port_systick_handler(void);
void bnn_port_systick_handler(void) { bnn_systick_wraps++; }

void bnn_port_init(void) {
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    bnn_systick_wraps = 0u;
    SYST_CSR = 0x7u; /* enable, interrupt, processor clock */
}

uint64_t bnn_port_ticks(void) {
    uint32_t w0, w1, v;
    do {
        w0 = bnn_systick_wraps;
        v = SYST_CVR;
        w1 = bnn_systick_wraps;
    } while (w0 != w1);
    return ((uint64_t)w0 << 24) + (uint64_t)((0u - v) & 0x00FFFFFFu);
}

const char *bnn_port_name(void) {
#if defined(BNN_PORT_NAME)
    return BNN_PORT_NAME;
#else
    return "cortex-m";
#endif
}
