# Cortex-M4 (Armv7E-M), QEMU board mps2-an386 (SysTick at 25 MHz).
m4_CPU := cortex-m4
m4_QEMU_MACHINE := mps2-an386
m4_LDSCRIPT := mps2_an386.ld
$(eval $(call CORTEX_M_TARGET,m4))
