// qgemm.cuh: int4 / int8 weight x int8 activation GEMM with per-group scales (k.qlinear).
//
// y[r, c] = xs[r] * sum over groups g ascending of
//             scale(c, g) * float(sum_{k in g} xq[r, k] * code(c, k) - zero(c, g) * xsum[r, g])
//           (+ bias[c])
// the CPU back end's qgemm (kernels.h): exact int32 sums per group, f32 outside them.
//
// Weights stay in the bundle's packed layouts (docs/bundle-format.md): layout 1 `q4-n16k8`
// (4-bit codes, panels of 16 channels x 8 columns in 64 bytes) and layout 2 `q8-n16k4`. Codes are
// unsigned; zero(c, g) is the zero-point tensor's value, or 2^(bits-1) for symmetric weights
// (signed codes are stored offset by that much). 8-bit codes are moved to the signed range
// (code - 128) for the signed dot products and the zero point moved with them, which keeps every
// group sum exact.
//
// Two paths:
// - `qgemm_mma`: integer tensor cores (`mma.sync.m16n8k32.s8`, sm_80 and newer), 64x64 tiles,
//   4 warps; for groups that are a multiple of 32, on devices that have them;
// - `qgemm_dp4a`: `__dp4a` on CUDA cores, 32x64 tiles; any group that is a multiple of 8
//   (and every GEMM when DQC_CUDA_GEMM=dp4a, to cross-check the two).
#pragma once

namespace dqc_cuda {

/// The compile-time description of one quantized weight.
template <int N_, int K_, int GROUP_, int BITS_, typename ScaleT_, bool HAS_ZERO_, bool HAS_BIAS_>
struct QWeightShape {
  static constexpr int N = N_, K = K_, GROUP = GROUP_, BITS = BITS_;
  static constexpr int GROUPS = K_ / GROUP_;
  static constexpr bool HAS_ZERO = HAS_ZERO_, HAS_BIAS = HAS_BIAS_;
  using ScaleT = ScaleT_;
  /// Bytes of one 16-channel panel's k-blocks.
  static constexpr int64_t PANEL_BYTES = BITS_ == 4 ? (K_ + 7) / 8 * 64 : (K_ + 3) / 4 * 64;
  static_assert(BITS_ == 4 || BITS_ == 8, "weights are 4 or 8 bits");
  static_assert(K_ % GROUP_ == 0 && GROUP_ % 8 == 0, "the group divides K and is a multiple of 8");
};

/// The operands of one k.qlinear launch.
template <typename ScaleT>
struct QLinearArgs {
  const int8_t* xq;      // [rows, ldq] activation codes (zero past K)
  const float* xs;       // [rows] activation scales
  const int32_t* xsum;   // [rows, K / group] code sums
  const uint8_t* packed; // the packed weight
  const ScaleT* scales;  // [N, K / group]
  const uint8_t* zeros;  // [N, K / group] or null
  const float* bias;     // [N] or null
  float* y;              // [rows, N]
  int rows;
};

/// Four signed codes of channel `c`, columns k..k+3 (k a multiple of 4), as one word: 4-bit codes
/// as they are (0..15), 8-bit codes minus 128.
template <class W>
__device__ inline uint32_t weight_word(const uint8_t* packed, int c, int k) {
  if (c >= W::N || k >= W::K) return 0;
  const int panel = c / 16, lane = c % 16;
  if constexpr (W::BITS == 4) {
    const int block = k / 8;
    const uint32_t v = *reinterpret_cast<const uint32_t*>(packed + int64_t(panel) * W::PANEL_BYTES +
                                                          int64_t(block) * 64 + lane * 4);
    return (k % 8) < 4 ? (v & 0x0F0F0F0Fu) : ((v >> 4) & 0x0F0F0F0Fu);
  } else {
    const uint32_t v = *reinterpret_cast<const uint32_t*>(packed + int64_t(panel) * W::PANEL_BYTES +
                                                          int64_t(k / 4) * 64 + lane * 4);
    return v ^ 0x80808080u;  // code - 128 in each byte
  }
}

/// The zero point of channel c, group g, in the signed code range the dot products use.
template <class W>
__device__ inline int weight_zero(const uint8_t* zeros, int c, int g) {
  const int zero = W::HAS_ZERO ? int(zeros[int64_t(c) * W::GROUPS + g]) : (1 << (W::BITS - 1));
  return W::BITS == 8 ? zero - 128 : zero;
}

// ---------------------------------------------------------------------------------------------
// dp4a path

inline constexpr int kDp4aRows = 32, kDp4aCols = 64, kDp4aThreads = 256;

template <class W>
__global__ void __launch_bounds__(kDp4aThreads)
    qgemm_dp4a(QLinearArgs<typename W::ScaleT> a, int ldq) {
  constexpr int KSTEP = W::GROUP % 32 == 0 ? 32 : (W::GROUP % 16 == 0 ? 16 : 8);
  constexpr int WORDS = KSTEP / 4;
  __shared__ int32_t xs_tile[kDp4aRows][WORDS + 1];
  __shared__ int32_t ws_tile[kDp4aCols][WORDS + 1];
  const int row0 = blockIdx.y * kDp4aRows, col0 = blockIdx.x * kDp4aCols;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;  // 4 channels x 2 rows each
  float out[2][4] = {};
  int32_t acc[2][4] = {};
  for (int g = 0; g < W::GROUPS; g++) {
    for (int k0 = g * W::GROUP; k0 < (g + 1) * W::GROUP; k0 += KSTEP) {
      for (int i = threadIdx.x; i < kDp4aRows * WORDS; i += kDp4aThreads) {
        const int r = i / WORDS, w = i % WORDS;
        xs_tile[r][w] = row0 + r < a.rows
                            ? *reinterpret_cast<const int32_t*>(a.xq + int64_t(row0 + r) * ldq + k0 + 4 * w)
                            : 0;
      }
      for (int i = threadIdx.x; i < kDp4aCols * WORDS; i += kDp4aThreads) {
        const int c = i / WORDS, w = i % WORDS;
        ws_tile[c][w] = int32_t(weight_word<W>(a.packed, col0 + c, k0 + 4 * w));
      }
      __syncthreads();
#pragma unroll
      for (int w = 0; w < WORDS; w++) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
#pragma unroll
          for (int j = 0; j < 4; j++)
            acc[i][j] = __dp4a(xs_tile[ty * 2 + i][w], ws_tile[tx * 4 + j][w], acc[i][j]);
        }
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int r = row0 + ty * 2 + i;
      const int32_t sum = r < a.rows ? a.xsum[int64_t(r) * W::GROUPS + g] : 0;
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int c = col0 + tx * 4 + j;
        if (c < W::N) {
          const float s = load_scale(a.scales, int64_t(c) * W::GROUPS + g);
          out[i][j] += s * float(acc[i][j] - weight_zero<W>(a.zeros, c, g) * sum);
        }
        acc[i][j] = 0;
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 2; i++) {
    const int r = row0 + ty * 2 + i;
    if (r >= a.rows) continue;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const int c = col0 + tx * 4 + j;
      if (c >= W::N) continue;
      float v = a.xs[r] * out[i][j];
      if constexpr (W::HAS_BIAS) v += a.bias[c];
      a.y[int64_t(r) * W::N + c] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tensor-core path (sm_80+)

inline constexpr int kMmaRows = 64, kMmaCols = 64, kMmaThreads = 128;

/// D += A (16x32, s8, row-major) x B (32x8, s8, column-major), int32 accumulators.
__device__ inline void mma_s8_16832(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(DQC_CUDA_EMULATION)
  dqc_emulator::mma_s8_16832(d, a, b0, b1);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  // Older devices never run this path (launch_qlinear picks dp4a for them).
  (void)d; (void)a; (void)b0; (void)b1;
  __trap();
#endif
}

/// 64 rows x 64 channels per block; warp w computes rows 32*(w/2).. and channels 32*(w%2)..
/// as 2 x 4 tiles of m16n8. Fragment layout (PTX ISA, m16n8k32 .s8): lane = 4*g + t;
/// a[0] = A[g][4t..], a[1] = A[g+8][4t..], a[2] = A[g][16+4t..], a[3] = A[g+8][16+4t..];
/// b[0] = B[4t..][g], b[1] = B[16+4t..][g]; c[0..1] = C[g][2t, 2t+1], c[2..3] = C[g+8][2t, 2t+1].
template <class W>
__global__ void __launch_bounds__(kMmaThreads)
    qgemm_mma(QLinearArgs<typename W::ScaleT> a, int ldq) {
  static_assert(W::GROUP % 32 == 0, "the tensor-core path needs groups of 32 columns");
  constexpr int WORDS = 8;  // 32 columns
  __shared__ uint32_t xs_tile[kMmaRows][WORDS + 1];
  __shared__ uint32_t ws_tile[kMmaCols][WORDS + 1];
  const int row0 = blockIdx.y * kMmaRows, col0 = blockIdx.x * kMmaCols;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int wr = (warp / 2) * 32, wc = (warp % 2) * 32;
  int32_t acc[2][4][4];
  float out[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0, out[i][j][e] = 0;

  for (int group = 0; group < W::GROUPS; group++) {
    for (int k0 = group * W::GROUP; k0 < (group + 1) * W::GROUP; k0 += 32) {
      for (int i = threadIdx.x; i < kMmaRows * WORDS; i += kMmaThreads) {
        const int r = i / WORDS, w = i % WORDS;
        xs_tile[r][w] = row0 + r < a.rows
                            ? *reinterpret_cast<const uint32_t*>(a.xq + int64_t(row0 + r) * ldq + k0 + 4 * w)
                            : 0u;
      }
      for (int i = threadIdx.x; i < kMmaCols * WORDS; i += kMmaThreads) {
        const int c = i / WORDS, w = i % WORDS;
        ws_tile[c][w] = weight_word<W>(a.packed, col0 + c, k0 + 4 * w);
      }
      __syncthreads();
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int r = wr + 16 * i;
        const uint32_t frag[4] = {xs_tile[r + g][t], xs_tile[r + g + 8][t], xs_tile[r + g][t + 4],
                                  xs_tile[r + g + 8][t + 4]};
#pragma unroll
        for (int j = 0; j < 4; j++) {
          const int c = wc + 8 * j + g;
          mma_s8_16832(acc[i][j], frag, ws_tile[c][t], ws_tile[c][t + 4]);
        }
      }
      __syncthreads();
    }
    // Close the group: scale(c, g) * (acc - zero * xsum) into the float sums.
#pragma unroll
    for (int i = 0; i < 2; i++) {
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const int r = row0 + wr + 16 * i + g + 8 * h;
        const int32_t sum = r < a.rows ? a.xsum[int64_t(r) * W::GROUPS + group] : 0;
#pragma unroll
        for (int j = 0; j < 4; j++) {
#pragma unroll
          for (int e = 0; e < 2; e++) {
            const int c = col0 + wc + 8 * j + 2 * t + e;
            int32_t& v = acc[i][j][2 * h + e];
            if (c < W::N) {
              const float s = load_scale(a.scales, int64_t(c) * W::GROUPS + group);
              out[i][j][2 * h + e] += s * float(v - weight_zero<W>(a.zeros, c, group) * sum);
            }
            v = 0;
          }
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 2; i++) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int r = row0 + wr + 16 * i + g + 8 * h;
      if (r >= a.rows) continue;
#pragma unroll
      for (int j = 0; j < 4; j++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const int c = col0 + wc + 8 * j + 2 * t + e;
          if (c >= W::N) continue;
          float v = a.xs[r] * out[i][j][2 * h + e];
          if constexpr (W::HAS_BIAS) v += a.bias[c];
          a.y[int64_t(r) * W::N + c] = v;
        }
      }
    }
  }
}

/// Launches k.qlinear: the tensor-core path when `use_mma` (an sm_80+ device) and the group
/// allows it, else dp4a.
template <class W>
cudaError_t launch_qlinear(const QLinearArgs<typename W::ScaleT>& a, int ldq, bool use_mma, cudaStream_t stream) {
  if (a.rows <= 0) return cudaSuccess;
  if constexpr (W::GROUP % 32 == 0) {
    if (use_mma) {
      const dim3 grid(unsigned(blocks_for(W::N, kMmaCols)), unsigned(blocks_for(a.rows, kMmaRows)));
      return launch(qgemm_mma<W>, grid, kMmaThreads, stream, a, ldq);
    }
  }
  const dim3 grid(unsigned(blocks_for(W::N, kDp4aCols)), unsigned(blocks_for(a.rows, kDp4aRows)));
  return launch(qgemm_dp4a<W>, grid, kDp4aThreads, stream, a, ldq);
}

}  // namespace dqc_cuda
