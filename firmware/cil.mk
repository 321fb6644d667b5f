# bnn-edge: on-device incremental head (class-incremental learning app + checks).
# Included from firmware/Makefile; also usable alone:  make -f firmware/cil.mk cil-check
#
#   make cil-host        build $(BUILD)/cil/cil_host     (app/cil_main.c + the head + a stream)
#   make cil-m4          build $(BUILD)/cil/cil_m4.elf   (Cortex-M4, QEMU mps2-an386)
#   make cil-run-host    build and run cil-host;  make cil-run-m4: the same under QEMU
#   make cil-check       C head vs Python twin, bit-exact, on the host and on QEMU Cortex-M4
#   make head-fuzz-smoke many random power cuts over many commits (POWERCUT_TRIALS, default
#                        5000); prints "powercut random: trials=T ... corrupt=C", fails if C > 0
#
# The stream defaults to a synthetic digits-like one written by bnn_edge.sim.cil_stream
# (CIL_STREAM_C overrides it with any stream_data.c from cil_stream.write_stream_c).

CIL_FW := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD ?= $(CIL_FW)/build
HOST_CC ?= gcc
ARM_CC ?= arm-none-eabi-gcc
QEMU ?= qemu-system-arm
CIL_PY ?= $(firstword $(wildcard $(CIL_FW)/../.venv/bin/python) python3)
CIL_DIR := $(BUILD)/cil
CIL_STREAM_C ?= $(CIL_DIR)/stream_data.c
POWERCUT_TRIALS ?= 5000

CIL_HEAD_SRCS := $(wildcard $(CIL_FW)/src/head/*.c) $(CIL_FW)/src/runtime/bnn_crc32.c
CIL_HDRS := $(wildcard $(CIL_FW)/include/bnn/bnn_head*.h)
CIL_WARN := -std=c11 -Wall -Wextra -Werror
CIL_INC := -I$(CIL_FW)/include -I$(CIL_FW)/ports -I$(CIL_FW)/tests/support
CIL_CM := $(CIL_FW)/ports/cortex-m

.PHONY: cil-host cil-m4 cil-run-host cil-run-m4 cil-check head-fuzz-smoke

$(CIL_DIR)/stream_data.c:
	@mkdir -p $(@D)
	cd $(CIL_FW)/.. && $(CIL_PY) -m bnn_edge.sim.cil_stream --write-only --build-dir $(CIL_DIR)

$(CIL_DIR)/cil_host: $(CIL_FW)/app/cil_main.c $(CIL_HEAD_SRCS) $(CIL_HDRS) $(CIL_STREAM_C)
	@mkdir -p $(@D)
	$(HOST_CC) $(CIL_WARN) -O2 -g $(CIL_INC) $(CIL_FW)/app/cil_main.c $(CIL_HEAD_SRCS) $(CIL_STREAM_C) \
		$(CIL_FW)/ports/host/bnn_port_host.c -o $@

$(CIL_DIR)/cil_m4.elf: $(CIL_FW)/app/cil_main.c $(CIL_HEAD_SRCS) $(CIL_HDRS) $(CIL_STREAM_C)
	@mkdir -p $(@D)
	$(ARM_CC) $(CIL_WARN) -O2 -g -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -ffunction-sections \
		-fdata-sections -DBNN_PORT_NAME='"cortex-m4"' $(CIL_INC) $(CIL_FW)/app/cil_main.c \
		$(CIL_HEAD_SRCS) $(CIL_STREAM_C) $(CIL_CM)/startup_cortex_m.c $(CIL_CM)/bnn_port_cortex_m.c \
		--specs=rdimon.specs -nostartfiles -L$(CIL_CM) -T$(CIL_CM)/mps2_an386.ld -Wl,--gc-sections -o $@

cil-host: $(CIL_DIR)/cil_host
cil-m4: $(CIL_DIR)/cil_m4.elf

# the state dump (S lines) and per-query predictions (P lines) go to $(CIL_DIR)/*.out
cil-run-host: $(CIL_DIR)/cil_host
	$< > $(CIL_DIR)/cil_host.out; rc=$$?; grep -v '^[SP] ' $(CIL_DIR)/cil_host.out; exit $$rc

cil-run-m4: $(CIL_DIR)/cil_m4.elf
	$(QEMU) -M mps2-an386 -nographic -monitor none -serial none \
		-semihosting-config enable=on,target=native -icount shift=0 -kernel $< > $(CIL_DIR)/cil_m4.out; \
		rc=$$?; grep -v '^[SP] ' $(CIL_DIR)/cil_m4.out; exit $$rc

cil-check:
	cd $(CIL_FW)/.. && $(CIL_PY) -m bnn_edge.sim.cil_stream --target host --build-dir $(CIL_DIR)/check-host
	cd $(CIL_FW)/.. && $(CIL_PY) -m bnn_edge.sim.cil_stream --target qemu-m4 --build-dir $(CIL_DIR)/check-m4

$(CIL_DIR)/test_powercut_fuzz: $(CIL_FW)/tests/test_powercut.c $(CIL_HEAD_SRCS) $(CIL_HDRS)
	@mkdir -p $(@D)
	$(HOST_CC) $(CIL_WARN) -O2 -g $(CIL_INC) $(CIL_FW)/tests/test_powercut.c $(CIL_HEAD_SRCS) -o $@

head-fuzz-smoke: $(CIL_DIR)/test_powercut_fuzz
	BNN_POWERCUT_TRIALS=$(POWERCUT_TRIALS) $< > $(CIL_DIR)/powercut_fuzz.log; rc=$$?; \
		grep -E '^(powercut|[0-9]+ passed)|FAIL|corrupt:' $(CIL_DIR)/powercut_fuzz.log; exit $$rc
