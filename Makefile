# dqc: the two entry points are `make demo` (the main job on the bundled example) and
# `make test` (the whole test suite plus the format lint). Both install what a fresh machine lacks.

SWIFT ?= swift
# The runtime's kernel tests build with the Swift toolchain's clang++ (C++17).
CXX_RUNTIME ?= $(shell command -v clang++ || command -v g++)
CC_RUNTIME ?= $(shell command -v clang || command -v gcc)
# The fuzz targets need clang's libFuzzer (the Swift toolchain's clang++ has it).
CXX_FUZZ ?= $(shell command -v clang++)
FUZZ_SECONDS ?= 120
DQC := .build/debug/dqc
DQC_RELEASE := .build/release/dqc
EXAMPLE := examples/llada-block.dqir
DEMO_PIPELINE := infer-shapes,canonicalize,cse,dce{aggressive=true}
FIXTURE := Tests/Fixtures/llada-tiny
DEMO_BUNDLE := out/demo/llada-tiny.w4a8.dqb
DEMO_LIMIT ?= 200

.PHONY: setup build test lint format demo example quality fuzz clean

setup:
	@Scripts/setup.sh

build: setup
	$(SWIFT) build

# nvcc comes with setup (unless DQC_SKIP_CUDA=1); the CUDA compile tests then must find it.
test: setup
	$(SWIFT) build --build-tests
	DQC_REQUIRE_NVCC=$(if $(filter 1,$(DQC_SKIP_CUDA)),0,1) $(SWIFT) test
	$(MAKE) -C Tests/RuntimeKernelTests test CXX="$(CXX_RUNTIME)"
	$(MAKE) -C Tests/CUDAKernelTests emulated CXX="$(CXX_RUNTIME)"
	# The programs Scripts/gpu_check.sh runs on a lent GPU machine must at least build here.
	$(MAKE) -C Tests/CUDAKernelTests e2e step CXX="$(CXX_RUNTIME)" CC="$(CC_RUNTIME)"
	$(if $(filter 1,$(DQC_SKIP_CUDA)),,$(MAKE) -C Tests/CUDAKernelTests fp16-step GPU_ARCH=sm_80)
	$(MAKE) -C Tests/Fuzz smoke CXX="$(CXX_FUZZ)"
	$(MAKE) -C Tests/Fuzz/swift smoke
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

# The main job: compile the trained fixture's ONNX export to a W4A8 bundle with DLLMQuant
# (IR dumped after every pass), show the bundle, run a prompt, and compare accuracy with the FP
# model on the held-out sets.
demo: setup
	$(SWIFT) build -c release
	$(DQC_RELEASE) compile $(FIXTURE)/model.onnx -o $(DEMO_BUNDLE) --w4a8 --calib $(FIXTURE)/calib/train_slice.jsonl --dump-ir-dir out/demo/ir
	$(DQC_RELEASE) inspect $(DEMO_BUNDLE) | sed -n '1,26p'
	$(DQC_RELEASE) run $(DEMO_BUNDLE) --prompt 'sort:7,3,9,1,4<|sep|>' --gen-length 11 --steps 11 --block-length 11
	@for task in rev sort add; do \
	  echo "== $$task: FP model.onnx, then the W4A8 bundle ($(DEMO_LIMIT) held-out problems)"; \
	  $(DQC_RELEASE) eval $(FIXTURE)/model.onnx --task $(FIXTURE)/eval/$$task.jsonl --limit $(DEMO_LIMIT) 2>/dev/null; \
	  $(DQC_RELEASE) eval $(DEMO_BUNDLE) --task $(FIXTURE)/eval/$$task.jsonl --limit $(DEMO_LIMIT) 2>/dev/null; \
	done
	@echo "wrote $(DEMO_BUNDLE) and the per-pass IR dumps in out/demo/ir/"

# The pass pipeline on the small example block, with every pass's IR printed.
example: build
	$(DQC) verify $(EXAMPLE)
	$(DQC) opt $(EXAMPLE) --pipeline '$(DEMO_PIPELINE)' --print-ir-after-all --pass-statistics --time-passes -o out/example/llada-block.opt.dqir --dump-ir-dir out/example/dumps

quality: setup
	$(SWIFT) build -c release
	python3 Scripts/quality_study.py --limit 300 --ablations --smooth

# Every fuzz target for FUZZ_SECONDS each (docs/robustness.md).
fuzz:
	$(MAKE) -C Tests/Fuzz fuzz CXX="$(CXX_FUZZ)" FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) -C Tests/Fuzz/swift fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

clean:
	rm -rf .build out
