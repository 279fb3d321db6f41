// common.cuh: shared definitions of dqc's CUDA kernel library (docs/gpu.md).
//
// The library is header-only: each model's generated launch code (DQCBackend/CUDA) is one
// translation unit made of these headers, in the order of dqc_cuda.cuh, followed by the model's
// kernel instantiations and host entry points. Parts never include each other; dqc_cuda.cuh
// includes them all for tests and standalone builds.
//
// Conventions (the same as the CPU back end, Sources/DQCRuntime/src/kernels/kernels.h):
// activations are token-major [rows, width] matrices, row-major, in one device arena; `rows` is
// the pass's token count (at most the plan's sequence length); widths are compile-time constants.
#pragma once

#ifndef DQC_CUDA_EMULATION
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#endif
#include <stdint.h>

#include <type_traits>
#include <utility>

namespace dqc_cuda {

/// Launches `kernel` over `grid` x `block` threads on `stream` and returns the launch's error.
/// Every launch goes through here, so the same code also runs under the CPU emulator
/// (emulator.cuh, DQC_CUDA_EMULATION), which has no `<<<...>>>` syntax.
template <typename... Params, typename... Args>
cudaError_t launch(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, Args&&... args) {
#ifdef DQC_CUDA_EMULATION
  (void)stream;
  dqc_emulator::launch(grid, block, [=] { kernel(args...); });
#else
  kernel<<<grid, block, 0, stream>>>(std::forward<Args>(args)...);
#endif
  return cudaGetLastError();
}

/// Threads per block of the row-wise kernels (norm, quantize, softmax rows).
inline constexpr int kRowThreads = 256;

/// Blocks needed to cover `n` items with `per_block` each.
__host__ __device__ constexpr int64_t blocks_for(int64_t n, int64_t per_block) {
  return (n + per_block - 1) / per_block;
}

/// Sum of `value` over a block of kRowThreads threads (any type with +); every thread gets it.
template <typename T>
__device__ T block_sum(T value, T* shared /* [kRowThreads / 32] */) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  T total = shared[0];
  for (int w = 1; w < kRowThreads / 32; w++) total += shared[w];
  __syncthreads();
  return total;
}

/// Maximum of `value` over a block of kRowThreads threads; every thread gets it.
__device__ inline float block_max(float value, float* shared /* [kRowThreads / 32] */) {
  for (int offset = 16; offset > 0; offset >>= 1)
    value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  float total = shared[0];
  for (int w = 1; w < kRowThreads / 32; w++) total = fmaxf(total, shared[w]);
  __syncthreads();
  return total;
}

/// round-half-even(x / s) clamped to +-qmax: the interpreter's activation rounding rule (a true
/// division, not a reciprocal multiply).
__device__ inline int quantize_code(float x, float s, float qmax) {
  return static_cast<int>(fminf(fmaxf(rintf(__fdiv_rn(x, s)), -qmax), qmax));
}

/// The row scale of symmetric quantization: amax / qmax, or 1 for an all-zero row.
__device__ inline float row_scale(float amax, float qmax) { return amax > 0 ? __fdiv_rn(amax, qmax) : 1.0f; }

/// An f16 scale's value (scales are stored as f16 bits or as f32).
__device__ inline float load_scale(const uint16_t* s, int64_t i) {
  return __half2float(__ushort_as_half(s[i]));
}
__device__ inline float load_scale(const float* s, int64_t i) { return s[i]; }

}  // namespace dqc_cuda
