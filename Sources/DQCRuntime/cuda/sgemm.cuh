// sgemm.cuh: the float linear layer (k.linear: a `--head float` LM head, W4A16 layers) over the bundle's
// layout 3 (`f32-n16`: panel p holds, for each column k, W[16p + i][k] at (p * K + k) * 16 + i).
//
// Each output is one f32 accumulator, k ascending, fused multiply-adds, then the bias: the CPU
// back end's order (kernels.h, sgemm_packed), so the two give the same bits.
#pragma once

namespace dqc_cuda {

inline constexpr int kSgemmTile = 64, kSgemmStep = 16, kSgemmThreads = 256;

template <int N, int K, bool HAS_BIAS>
__global__ void __launch_bounds__(kSgemmThreads)
    sgemm_packed(const float* x, const float* w, const float* bias, float* y, int rows) {
  __shared__ float xs_tile[kSgemmStep][kSgemmTile + 1];
  __shared__ float ws_tile[kSgemmStep][kSgemmTile];
  const int row0 = blockIdx.y * kSgemmTile, col0 = blockIdx.x * kSgemmTile;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;  // 4 x 4 outputs each, strided by 16
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += kSgemmStep) {
    for (int i = threadIdx.x; i < kSgemmTile * kSgemmStep; i += kSgemmThreads) {
      const int r = i / kSgemmStep, k = i % kSgemmStep;
      xs_tile[k][r] = row0 + r < rows && k0 + k < K ? x[int64_t(row0 + r) * K + k0 + k] : 0.0f;
      const int kk = i / kSgemmTile, c = i % kSgemmTile;
      const int cc = col0 + c;
      ws_tile[kk][c] = cc < (N + 15) / 16 * 16 && k0 + kk < K
                           ? w[(int64_t(cc / 16) * K + k0 + kk) * 16 + cc % 16]
                           : 0.0f;
    }
    __syncthreads();
    const int steps = K - k0 < kSgemmStep ? K - k0 : kSgemmStep;
    for (int k = 0; k < steps; k++) {
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const float xv = xs_tile[k][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = fmaf(xv, ws_tile[k][tx + 16 * j], acc[i][j]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int r = row0 + ty + 16 * i;
    if (r >= rows) continue;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const int c = col0 + tx + 16 * j;
      if (c >= N) continue;
      float v = acc[i][j];
      if constexpr (HAS_BIAS) v += bias[c];
      y[int64_t(r) * N + c] = v;
    }
  }
}

template <int N, int K, bool HAS_BIAS>
cudaError_t launch_linear(const float* x, const float* w, const float* bias, float* y, int rows,
                          cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  const dim3 grid(unsigned(blocks_for(N, kSgemmTile)), unsigned(blocks_for(rows, kSgemmTile)));
  return launch(sgemm_packed<N, K, HAS_BIAS>, grid, kSgemmThreads, stream, x, w, bias, y, rows);
}

}  // namespace dqc_cuda
