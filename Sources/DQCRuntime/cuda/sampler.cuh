// sampler.cuh: the diffusion sampler's per-position step on the device: for each selected row of
// logits, the argmax (the lowest id among equal maxima) and its softmax probability
// 1 / sum_v exp(l_v - max), the sum in double, as the CPU sampler computes them
// (src/runtime/sampler.cpp). The host then commits the most confident positions.
#pragma once

namespace dqc_cuda {

template <int VOCAB>
__global__ void __launch_bounds__(kRowThreads)
    argmax_confidence(const float* logits, const int64_t* rows, int64_t* tokens, double* confidence) {
  __shared__ float best_value[kRowThreads];
  __shared__ int best_index[kRowThreads];
  __shared__ double reduce[kRowThreads / 32];
  const float* row = logits + rows[blockIdx.x] * int64_t(VOCAB);
  float value = -INFINITY;
  int index = VOCAB;
  for (int v = threadIdx.x; v < VOCAB; v += kRowThreads) {
    if (row[v] > value) value = row[v], index = v;  // ascending: keeps the first maximum
  }
  best_value[threadIdx.x] = value;
  best_index[threadIdx.x] = index;
  __syncthreads();
  for (int stride = kRowThreads / 2; stride > 0; stride >>= 1) {
    if (int(threadIdx.x) < stride) {
      const float other = best_value[threadIdx.x + stride];
      const int other_index = best_index[threadIdx.x + stride];
      if (other > best_value[threadIdx.x] ||
          (other == best_value[threadIdx.x] && other_index < best_index[threadIdx.x])) {
        best_value[threadIdx.x] = other;
        best_index[threadIdx.x] = other_index;
      }
    }
    __syncthreads();
  }
  const float m = best_value[0];
  double sum = 0;
  for (int v = threadIdx.x; v < VOCAB; v += kRowThreads) sum += exp(double(row[v]) - double(m));
  sum = block_sum(sum, reduce);
  if (threadIdx.x == 0) {
    tokens[blockIdx.x] = best_index[0] < VOCAB ? best_index[0] : 0;
    confidence[blockIdx.x] = 1 / sum;
  }
}

}  // namespace dqc_cuda
