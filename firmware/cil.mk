# bnn-edge: on-device incremental head (class-incremental learning app + checks).
# Included from firmware/Makefile (which builds the app: `cil-app` / `cil-run-app`).
#
#   make cil-host        build $(BUILD)/cil/host/cil_app    (app/cil_main.c + the head + a stream)
#   make cil-m4          build $(BUILD)/cil/m4/cil_app.elf  (Cortex-M4, QEMU mps2-an386)
#   make cil-run-host    build and run cil-host;  make cil-run-m4: the same under QEMU
#   make cil-check       C head vs Python twin, bit-exact, on the host and on QEMU Cortex-M4
#   make head-fuzz-smoke many random power cuts over many commits (POWERCUT_TRIALS, default
#                        5000); prints "powercut random: trials=T ... corrupt=C", fails if C > 0
#
# The stream defaults to a synthetic digits-like one written by bnn_edge.device.cil_app
# (CIL_STREAM_C overrides it with any stream_data.c from cil_app.write_stream_c).

CIL_PY ?= $(firstword $(wildcard $(FW)/../.venv/bin/python) python3)
CIL_DIR := $(BUILD)/cil
CIL_STREAM_C ?= $(CIL_DIR)/stream_data.c
POWERCUT_TRIALS ?= 5000

.PHONY: cil-host cil-m4 cil-run-host cil-run-m4 cil-check head-fuzz-smoke

$(CIL_DIR)/stream_data.c:
	@mkdir -p $(@D)
	cd $(FW)/.. && $(CIL_PY) -m bnn_edge.device.cil_app --write-only --build-dir $(CIL_DIR)

# the state dump (S lines) and per-query predictions (P lines) go to $(CIL_DIR)/<core>.out
define CIL_CORE_RULES
cil-$(1): $(CIL_STREAM_C)
	@$(MAKE) --no-print-directory cil-app TARGET=$(1) CIL_STREAM_C=$(CIL_STREAM_C) BUILD=$(CIL_DIR)/$(1)
cil-run-$(1): $(CIL_STREAM_C)
	@mkdir -p $(CIL_DIR)
	@$(MAKE) -s --no-print-directory cil-run-app TARGET=$(1) CIL_STREAM_C=$(CIL_STREAM_C) BUILD=$(CIL_DIR)/$(1) \
		> $(CIL_DIR)/$(1).out; rc=$$$$?; grep -v '^[SP] ' $(CIL_DIR)/$(1).out; exit $$$$rc
endef
$(foreach c,host m4,$(eval $(call CIL_CORE_RULES,$(c))))

cil-check:
	cd $(FW)/.. && $(CIL_PY) -m bnn_edge.device.cil_app --target host --build-dir $(CIL_DIR)/check-host
	cd $(FW)/.. && $(CIL_PY) -m bnn_edge.device.cil_app --target qemu-m4 --build-dir $(CIL_DIR)/check-m4

# the power-cut test of the host configuration, with many random cuts
head-fuzz-smoke: $(BUILD)/host/tests/test_powercut
	@mkdir -p $(CIL_DIR)
	BNN_POWERCUT_TRIALS=$(POWERCUT_TRIALS) $< > $(CIL_DIR)/powercut_fuzz.log; rc=$$?; \
		grep -E '^(powercut|[0-9]+ passed)|FAIL|corrupt:' $(CIL_DIR)/powercut_fuzz.log; exit $$rc
