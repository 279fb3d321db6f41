# dqc: the two entry points are `make demo` (the main job on the bundled example) and
# `make test` (the whole test suite plus the format lint). Both install what a fresh machine lacks.

SWIFT ?= swift
DQC := .build/debug/dqc
EXAMPLE := examples/llada-block.dqir
DEMO_PIPELINE := infer-shapes,canonicalize,cse,dce{aggressive=true}

.PHONY: setup build test lint format demo quality clean

setup:
	@Scripts/setup.sh

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

demo: build
	$(DQC) verify $(EXAMPLE)
	$(DQC) opt $(EXAMPLE) --pipeline '$(DEMO_PIPELINE)' --print-ir-after-all --pass-statistics --time-passes -o out/demo/llada-block.opt.dqir --dump-ir-dir out/demo/dumps
	@echo "wrote out/demo/llada-block.opt.dqir and the per-pass dumps in out/demo/dumps/"

quality: setup
	$(SWIFT) build -c release
	python3 Scripts/quality_study.py --limit 300 --ablations

clean:
	rm -rf .build out
