# Cortex-M7 (Armv7E-M), QEMU board mps2-an500 (SysTick at 25 MHz).
m7_CPU := cortex-m7
m7_QEMU_MACHINE := mps2-an500
m7_LDSCRIPT := mps2_an500.ld
$(eval $(call CORTEX_M_TARGET,m7))
