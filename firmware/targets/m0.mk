# Cortex-M0 (Armv6-M: Thumb-1 plus a few 32-bit instructions, no bit-field/DSP/IT, no divide),
# QEMU board microbit (nRF51822: 256 KiB flash, 16 KiB RAM; semihosting image). The Thumb-2
# assembly kernels are compiled out (__thumb2__ undefined): the optimized kernels are portable C
# around a Thumb-1 assembly xor-popcount (src/kernels/bnn_xpc.c, __ARM_ARCH_6M__).
# Test programs that need more RAM than 16 KiB carry BNN_TEST_LARGE_RAM and are skipped here.
m0_CPU := cortex-m0
m0_QEMU_MACHINE := microbit
m0_LDSCRIPT := microbit.ld
$(eval $(call CORTEX_M_TARGET,m0))
m0_SMALL_RAM := 1
m0_CFLAGS += -DBNN_TEST_SMALL_RAM=1
