# LoRA Lab. The two commands: `make lab` (install what is missing, start JupyterLab) and
# `make test` (install test deps — the pinned Python stack of docker/requirements-test.txt
# among them —, vet, go test with the transformers/PEFT/datasets interop checks, fuzz, the
# JupyterLab browser test, execute every notebook headlessly).
SHELL := /bin/bash
export GOTOOLCHAIN := go1.27.3
export GOEXPERIMENT := simd
# Debian's python3 has nbclient/nbconvert; a pyenv python3 earlier on PATH may not.
PY := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
GOTEST_FLAGS ?= -timeout 30m
FUZZTIME ?= 10s

.PHONY: lab setup test vet gotest citest notebooks labcheck labui interop fuzz docs bench bench-setup peerbench quietbench gpu-check clean

lab:
	bash docker/setup.sh

setup:
	bash docker/setup.sh --no-start --test-deps

test: setup vet gotest fuzz labcheck citest labui notebooks

vet:
	go vet ./...

gotest:
	go test $(GOTEST_FLAGS) ./...

# Brief coverage-guided fuzzing of the readers, templates and masking (any input: data or an
# error, never a panic). Each package's Fuzz* targets run for $(FUZZTIME).
fuzz:
	@set -e; for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; go test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || exit 1; \
	  done; \
	done

# Tests of the CI scripts themselves (the notebook runner fails on a missing chart, …).
citest:
	$(PY) -m unittest discover -s .ci -p 'test_*.py'

notebooks:
	$(PY) .ci/notebooks.py --out build/notebooks

labcheck:
	bash .ci/lab_check.sh

# JupyterLab in Debian's chromium (playwright-core): notebooks 00 and 05 run through the UI.
labui:
	bash .ci/lab_ui.sh

# Only the Python interop checks (transformers, PEFT, tokenizers, datasets/pyarrow), verbose.
interop:
	go test -count=1 -v ./pkg/interop/

# Executed HTML copies of the notebooks, with working offline charts, in build/docs (not committed).
docs: setup
	$(PY) .ci/notebooks.py --out build/docs

bench:
	go test -run '^$$' -bench . -benchmem ./...

# The LoRA step against the PyTorch peer on current torch (the venv of docker/requirements-test.txt);
# PEERBENCH_FLAGS e.g. "-python /usr/bin/python3" for Debian's torch 1.13 (see pkg/bench/NOTES.md).
PEERBENCH_FLAGS ?= -python $${LORALAB_CACHE:-$$HOME/.cache/loralab}/venv-test/bin/python
peerbench:
	GOMLX_BACKEND=go go run ./pkg/bench/cmd/peerbench $(PEERBENCH_FLAGS)

# Issue 15's whole comparison in one interleaved run, for a quiet machine (about 10 minutes on 2
# cores; after `make setup` and `make bench-setup`): the LoRA step at bench-small and at the seq-512
# shape against both torch peers in several thread configurations, the sequence sweep 256–2048,
# and forward/decoding speed of the tiny model and the Qwen2.5-0.5B shape. Writes
# $(QUIETBENCH_OUT)/report.md (pkg/bench/quietbench.sh).
QUIETBENCH_OUT ?= build/quietbench
quietbench:
	bash pkg/bench/quietbench.sh $(QUIETBENCH_OUT)

# The real-shape benchmark and a short training of the Qwen2.5-0.5B shape on a GPU (XLA with a
# PJRT CUDA plugin); fails clearly without one. Never part of `make test`.
gpu-check:
	bash .ci/gpu_check.sh

# What the PyTorch peer of pkg/bench/cmd/peerbench needs beyond `make setup` (not needed by the
# tests): Debian's torch 1.13, OpenBLAS for its libblas.so.3 (without it torch falls back to the
# reference BLAS, ten times slower, and peerbench refuses the comparison) and GNU time for the
# peer's peak RSS. The current-PyTorch peer is $$LORALAB_CACHE/venv-test from `make setup`.
BENCH_APT := python3-torch libopenblas0-pthread time
bench-setup: setup
	@missing=$$(for p in $(BENCH_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf build
