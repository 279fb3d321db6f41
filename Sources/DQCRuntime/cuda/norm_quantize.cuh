// norm_quantize.cuh: RMSNorm (k.rms_norm), per-token activation quantization (k.quantize), and
// the two fused, one block per row.
//
// Semantics of the CPU back end (kernels.h) and the interpreter:
// - rms_norm: sum of squares in double, inv = 1 / sqrt(sq / d + eps) in double,
//   y = float(x * inv) * w;
// - quantize: qmax = 2^(bits-1) - 1, s = amax > 0 ? amax / qmax : 1, q = clamp(rint(x / s)),
//   codes [rows, ldq] (zero past K), scales [rows], code sums per group [rows, K / group].
#pragma once

namespace dqc_cuda {

/// Sum of squares of one row in double, over the block.
template <int D>
__device__ inline double row_sum_squares(const float* x, double* shared) {
  double sq = 0;
  for (int i = threadIdx.x; i < D; i += kRowThreads) {
    const double v = x[i];
    sq += v * v;
  }
  return block_sum(sq, shared);
}

template <int D>
__global__ void __launch_bounds__(kRowThreads)
    rms_norm(const float* x, const float* w, double eps, float* y) {
  __shared__ double reduce[kRowThreads / 32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * D;
  const double inv = 1.0 / sqrt(row_sum_squares<D>(xr, reduce) / D + eps);
  for (int i = threadIdx.x; i < D; i += kRowThreads) y[r * D + i] = float(double(xr[i]) * inv) * w[i];
}

/// Quantizes the row held in `row` (shared memory, K floats) into codes, scale and group sums.
template <int K, int LDQ, int GROUP, int BITS>
__device__ inline void quantize_row(const float* row, int64_t r, int8_t* xq, float* xs, int32_t* xsum,
                                    float* reduce) {
  constexpr float qmax = float((1 << (BITS - 1)) - 1);
  float amax = 0;
  for (int i = threadIdx.x; i < K; i += kRowThreads) amax = fmaxf(amax, fabsf(row[i]));
  amax = block_max(amax, reduce);
  const float s = row_scale(amax, qmax);
  int8_t* q = xq + r * LDQ;
  for (int i = threadIdx.x; i < LDQ; i += kRowThreads) q[i] = i < K ? int8_t(quantize_code(row[i], s, qmax)) : 0;
  for (int grp = threadIdx.x; grp < K / GROUP; grp += kRowThreads) {
    int32_t sum = 0;
    for (int i = grp * GROUP; i < (grp + 1) * GROUP; i++) sum += quantize_code(row[i], s, qmax);
    xsum[r * (K / GROUP) + grp] = sum;
  }
  if (threadIdx.x == 0) xs[r] = s;
}

template <int K, int LDQ, int GROUP, int BITS>
__global__ void __launch_bounds__(kRowThreads)
    quantize(const float* x, int8_t* xq, float* xs, int32_t* xsum) {
  static_assert(K % GROUP == 0 && LDQ >= K && LDQ % 64 == 0, "quantize: bad shape");
  __shared__ float row[K];
  __shared__ float reduce[kRowThreads / 32];
  const int64_t r = blockIdx.x;
  for (int i = threadIdx.x; i < K; i += kRowThreads) row[i] = x[r * K + i];
  __syncthreads();
  quantize_row<K, LDQ, GROUP, BITS>(row, r, xq, xs, xsum, reduce);
}

/// RMSNorm then quantization of the normalised row, one launch; `y` (the normalised row) is
/// written only when WRITE_Y (other kernels read it).
template <int D, int LDQ, int GROUP, int BITS, bool WRITE_Y>
__global__ void __launch_bounds__(kRowThreads)
    rms_norm_quantize(const float* x, const float* w, double eps, float* y, int8_t* xq, float* xs,
                      int32_t* xsum) {
  __shared__ float row[D];
  __shared__ double reduce_d[kRowThreads / 32];
  __shared__ float reduce_f[kRowThreads / 32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * D;
  const double inv = 1.0 / sqrt(row_sum_squares<D>(xr, reduce_d) / D + eps);
  for (int i = threadIdx.x; i < D; i += kRowThreads) {
    const float v = float(double(xr[i]) * inv) * w[i];
    row[i] = v;
    if constexpr (WRITE_Y) y[r * D + i] = v;
  }
  __syncthreads();
  quantize_row<D, LDQ, GROUP, BITS>(row, r, xq, xs, xsum, reduce_f);
}

}  // namespace dqc_cuda
