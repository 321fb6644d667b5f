# Cortex-M55 (Armv8.1-M Mainline with MVE/Helium), QEMU board mps3-an547 in Secure state.
# -mfloat-abi=softfp: MVE (integer and float) needs the FP register file, the calling convention
# stays the soft-float one of the other cores; startup_cortex_m.c enables the FPU/MVE (CPACR)
# before any other code runs (GCC may vectorise loops with MVE at -O2).
m55_CPU := cortex-m55
m55_QEMU_MACHINE := mps3-an547
m55_LDSCRIPT := mps3_an547.ld
$(eval $(call CORTEX_M_TARGET,m55))
# (replaced, not appended: with two -mfloat-abi flags GCC picks no multilib for the link)
m55_CFLAGS := $(patsubst -mfloat-abi=soft,-mfloat-abi=softfp,$(m55_CFLAGS))
m55_LDFLAGS := $(patsubst -mfloat-abi=soft,-mfloat-abi=softfp,$(m55_LDFLAGS))
# the image does not start at the reset vector address (see ports/cortex-m/mps3_an547.ld)
m55_CFLAGS += -DBNN_BOOT_VECTOR=1
