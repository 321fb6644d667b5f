# bnn-edge: the two commands are `make demo` and `make test`; both set everything up first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BNN := $(VENV)/bin/bnn-edge
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 3
DEMO ?= demo-out

.PHONY: setup system venv test test-fast test-python test-firmware demo bench fuzz-smoke clean help

help:
	@echo "make demo   - set up, then train -> cil -> export -> firmware on QEMU -> simulate (digits)"
	@echo "make test   - set up, then run every test (Python + firmware host/ASan/UBSan + QEMU)"
	@echo "make test-fast - the quick tier: Python tests not marked slow + firmware host tests (~2 min)"
	@echo "make bench  - benchmarks -> benchmarks/results.json and benchmarks/README.md"

setup: system venv

system:
	@bash scripts/setup-system.sh clang

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

test: setup
	$(MAKE) test-firmware
	$(MAKE) test-python

# pytest-xdist: one worker per core, each test file on one worker (its module fixtures built once);
# 17 instead of 29 minutes on a 2-vCPU AVX2 machine. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST_PAR = $(if $(filter 0,$(PYTEST_WORKERS)),-p no:xdist,-n $(PYTEST_WORKERS) --dist loadfile)

test-python:
	$(PY) -m pytest -q $(PYTEST_PAR) tests

test-firmware:
	$(MAKE) -C firmware test qemu

# The edit loop's tier (under 2 minutes on 2 cores): every Python test not marked `slow` (none trains
# or fits a network, runs QEMU or a fuzzer, builds with sanitizers or starts TensorFlow in a fresh
# process) and the firmware's test programs on the host (no ASan, no QEMU).
test-fast: venv
	$(MAKE) -C firmware test-host
	$(PY) -m pytest -q $(PYTEST_PAR) -m "not slow" tests

demo: setup
	bash scripts/demo.sh $(DEMO)

# benchmarks/run.py writes benchmarks/results.json and benchmarks/README.md (build trees under
# benchmarks/work/); a few minutes on 2 cores
bench: setup
	$(PY) benchmarks/run.py

# Fuzzing, sanitizers and power cuts, a few minutes on 2 cores (scripts/fuzz_smoke.py --help);
# the last line printed is a JSON summary. FUZZ_ARGS passes options (e.g. --seed N).
fuzz-smoke: venv
	@bash scripts/setup-system.sh clang
	@$(PY) scripts/fuzz_smoke.py --require-targets $(FUZZ_ARGS)

clean:
	rm -rf $(DEMO) firmware/build benchmarks/work .pytest_cache
