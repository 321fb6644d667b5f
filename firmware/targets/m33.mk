# Cortex-M33 (Armv8-M Mainline), QEMU board mps2-an505 in Secure state (SysTick at 20 MHz);
# the same kernels as Armv7E-M.
m33_CPU := cortex-m33
m33_QEMU_MACHINE := mps2-an505
m33_LDSCRIPT := mps2_an505.ld
$(eval $(call CORTEX_M_TARGET,m33))
