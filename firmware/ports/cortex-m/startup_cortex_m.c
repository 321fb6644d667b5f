/* bnn-edge: Cortex-M startup (Armv6-M, Armv7-M / Armv7E-M, Armv8-M, Armv8.1-M): vector table,
 * reset handler, fault handler.
 *
 * The reset handler copies .data from its load address in flash to RAM (the rdimon crt0 does
 * not, see docs), zeroes .bss, sets up the semihosting file handles, and calls main(); main's
 * return value goes to exit(), which semihosting turns into QEMU's exit status.
 * Linked with -nostartfiles: this file replaces the crt0 (the stack is the linker script's,
 * not one placed by the SYS_HEAPINFO semihosting call). */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __stack_top__;

int main(void);
void initialise_monitor_handles(void);
void __libc_init_array(void);
void _init(void);
void _fini(void);
void bnn_port_systick_handler(void);

typedef void (*bnn_vector_t)(void);
extern const bnn_vector_t bnn_vectors[16];

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);

/* Semihosting call (BKPT 0xAB works in thread and handler mode on M-profile). */
static inline uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void fatal(const char *msg, uint32_t code) {
    semihost(0x04u /* SYS_WRITE0 */, msg);
    const uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, code};
    semihost(0x20u /* SYS_EXIT_EXTENDED */, block);
    for (;;) {
    }
}

/* crti/crtn are not linked (-nostartfiles): newlib's init/fini array walkers need these. */
void _init(void) {}
void _fini(void) {}

void Reset_Handler(void) {
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* FPU / MVE (Cortex-M55 with -mfloat-abi=softfp): full access to CP10/CP11 before any
     * floating-point or vector instruction (the compiler may vectorise the loops below) */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if defined(BNN_BOOT_VECTOR)
    /* booted through the 2-word .boot_vector (see below): exceptions use the full table */
    *(volatile uint32_t *)0xE000ED08u = (uint32_t)(uintptr_t)bnn_vectors; /* VTOR */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    const uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) *dst++ = *src++;
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0u;
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

void HardFault_Handler(void) { fatal("bnn-edge: HardFault\n", 3u); }

void Default_Handler(void) { fatal("bnn-edge: unexpected exception\n", 4u); }


/* Armv7-M core vectors; external interrupts are not used. */
__attribute__((section(".isr_vector"), used)) const bnn_vector_t bnn_vectors[16] = {
    (bnn_vector_t)(uintptr_t)&__stack_top__, /* initial SP */
    Reset_Handler,
    Default_Handler,          /* NMI */
    HardFault_Handler,
    HardFault_Handler,        /* MemManage */
    HardFault_Handler,        /* BusFault */
    HardFault_Handler,        /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,          /* SVCall */
    Default_Handler,          /* DebugMon */
    0,
    Default_Handler,          /* PendSV */
    bnn_port_systick_handler, /* SysTick */
};

#if defined(BNN_BOOT_VECTOR)
/* Boards whose reset vector address holds too little memory for the image (QEMU mps3-an547:
 * 512 KiB ITCM at the secure reset VTOR): the linker script places this initial SP + reset
 * handler pair there (section .boot_vector), the image elsewhere; Reset_Handler then points VTOR
 * at bnn_vectors. */
__attribute__((section(".boot_vector"), used)) const bnn_vector_t bnn_boot_vectors[2] = {
    (bnn_vector_t)(uintptr_t)&__stack_top__,
    Reset_Handler,
};
#endif
