#!/usr/bin/env bash
# The CUDA back end's checks on a GPU (docs/gpu.md), as one script for a lent device machine.
# Needs the CUDA toolkit (nvcc, cuBLAS), a C++ compiler and the fixture's bundle, made on the
# development machine and carried along:
#   .build/release/dqc compile Tests/Fixtures/llada-tiny/model.onnx -o out/gpu/fixture-w4a8.dqb \
#     --w4a8 --calib Tests/Fixtures/llada-tiny/calib/train_slice.jsonl --max-seq-len 64
# and, for the bench model's step time, `python3 Scripts/make_timing_bench.py` (1.7 MiB gzipped).
# Carry out/gpu/fixture-w4a8.dqb, out/gpu/bench-timing.dqb.gz and out/gpu/bench-timing.config.json
# (not all of out/gpu: its full-size bundles exceed the 64 MiB the device tool carries).
# Prints: the card; every kernel against the CPU back end's (also at M = 256, N = K = 4096) and
# the W4A8 GEMM against cuBLAS FP16; the bundle on --device cuda against --device cpu (logits,
# sampled answers, forward time) with the tensor-core and the dp4a GEMM; and when the timing
# stand-in is there, one denoising step of the bench model (step_bench: all logits and 32 rows;
# device memory by cuMemGetInfo) against PyTorch FP16 (Scripts/bench_step_torch.py).
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-50}
CXX=${CXX:-$(command -v clang++ || command -v g++)}
CC=${CC:-$(command -v clang || command -v gcc)}
export DQC_CUDA_CACHE=${DQC_CUDA_CACHE:-$PWD/out/gpu/cache}

nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv
nvcc --version | tail -1
arch=sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')

# Bundles carry their kernel library: refuse ones compiled before the kernels last changed.
bundles=(out/gpu/fixture-w4a8.dqb)
if [ -f out/gpu/bench-timing.dqb.gz ]; then
  gunzip -c out/gpu/bench-timing.dqb.gz > out/gpu/bench-timing.dqb
  bundles+=(out/gpu/bench-timing.dqb)
fi
if command -v python3 > /dev/null; then
  python3 Scripts/check_bundle_library.py "${bundles[@]}"
else
  echo "(no python3: not checking that the bundles carry this tree's kernel library)"
fi

echo "== kernels against the CPU back end, and the GEMM benchmark ($arch)"
make -s -C Tests/CUDAKernelTests gpu GPU_ARCH="$arch"

echo "== the fixture's W4A8 bundle: --device cuda against --device cpu"
make -s -C Tests/CUDAKernelTests e2e CXX="$CXX" CC="$CC"
status=0
for task in rev sort add; do
  Tests/CUDAKernelTests/build/e2e_check out/gpu/fixture-w4a8.dqb \
    Tests/Fixtures/llada-tiny/eval/$task.jsonl "$LIMIT" || status=1
done
echo "== the same with every GEMM on dp4a (DQC_CUDA_GEMM=dp4a)"
DQC_CUDA_GEMM=dp4a Tests/CUDAKernelTests/build/e2e_check out/gpu/fixture-w4a8.dqb \
  Tests/Fixtures/llada-tiny/eval/sort.jsonl "$LIMIT" || status=1

if [ -f out/gpu/bench-timing.dqb.gz ]; then
  echo "== one denoising step of the bench model (timing stand-in: Scripts/make_timing_bench.py)"
  make -s -C Tests/CUDAKernelTests step CXX="$CXX" CC="$CC"
  Tests/CUDAKernelTests/build/step_bench out/gpu/bench-timing.dqb cuda 256 20 || status=1
  echo "-- the same with every GEMM on dp4a (DQC_CUDA_GEMM=dp4a)"
  DQC_CUDA_GEMM=dp4a Tests/CUDAKernelTests/build/step_bench out/gpu/bench-timing.dqb cuda 256 20 || status=1
  echo "-- the same with the kernels launched one by one (DQC_CUDA_GRAPHS=0)"
  DQC_CUDA_GRAPHS=0 Tests/CUDAKernelTests/build/step_bench out/gpu/bench-timing.dqb cuda 256 20 || status=1
  echo "== the FP16 model's step: cuBLAS as PyTorch runs it (fp16_step), then PyTorch itself if installed"
  make -s -C Tests/CUDAKernelTests fp16-step GPU_ARCH="$arch"
  Tests/CUDAKernelTests/build/fp16_step 1024 16 8 2816 32000 256 20 || status=1
  python3 Scripts/bench_step_torch.py --config out/gpu/bench-timing.config.json --tokens 256 --runs 20 \
    || echo "(no PyTorch FP16 baseline on this machine)"
fi
exit $status
