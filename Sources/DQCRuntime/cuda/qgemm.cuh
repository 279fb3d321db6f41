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
// - `qgemm_mma`: integer tensor cores (`mma.sync.m16n8k32.s8`, sm_80 and newer), 64 x 64 or
//   64 x 128 tiles, a `cp.async` pipeline; for groups that are a multiple of 32 and K a multiple
//   of 64, on devices that have them;
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
//
// Blocks of 64 rows x COLS channels (64, or 128 for N >= 4096), warps of 32 x 32, K in steps of
// 64 columns streamed through a STAGES-deep ring of shared-memory buffers with `cp.async` (the
// copy of step s + STAGES - 1 is in flight while step s is computed), one barrier per step.
//
// Each step's 64 columns are two m16n8k32 k-slices. Within a slice the instruction's k order is
// permuted (a sum does not depend on the order of its terms, only A and B must agree): logical
// k = 4t + j is column 8t + j of the slice and k = 16 + 4t + j is column 8t + 4 + j. Then lane
// (g, t)'s A fragment is two 8-byte loads (rows g and g+8, columns 8t..8t+7), and its B fragment
// one 4-byte word of the packed weight: in layout 1 the word of channel g, k-block t (low nibbles
// = columns 8t..8t+3, high nibbles = 8t+4..8t+7); in layout 2 the words of k-blocks 2t and 2t+1.
//
// Shared-memory layout of a stage, chosen so that those loads hit distinct banks:
// - A: 64 rows x 64 bytes; 16-byte chunk c of row r at chunk position c ^ (r & 2);
// - B: per 16-channel panel, its 64 columns' k-blocks as the bundle stores them (512 bytes for
//   4 bits, 1024 for 8), as 128-byte pairs of k-blocks; chunk j of pair P at position j ^ 2 (P & 3).

inline constexpr int kMmaRows = 64, kMmaStepK = 64;

/// The tile configuration of qgemm_mma for weight W.
template <class W>
struct MmaTile {
  static constexpr int COLS = W::N >= 4096 ? 128 : 64;  // channels per block
  static constexpr int WARPS = 2 * (COLS / 32);         // 2 x (COLS / 32) warps of 32 x 32
  static constexpr int THREADS = 32 * WARPS;
  static constexpr int STAGES = W::BITS == 4 ? 4 : 3;
  static constexpr int A_BYTES = kMmaRows * kMmaStepK;
  static constexpr int PANEL_STEP_BYTES = kMmaStepK * 16 * W::BITS / 8;  // one panel's 64 columns
  static constexpr int B_BYTES = COLS / 16 * PANEL_STEP_BYTES;
  static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
  static constexpr int PANELS = (W::N + 15) / 16;
  static constexpr int STEPS = W::K / kMmaStepK;
  static constexpr int SLICES_PER_GROUP = W::GROUP / 32;
  static_assert(STAGES * STAGE_BYTES <= 48 * 1024, "a block's buffers fit the static shared-memory limit");
};

/// Copies 16 bytes from global to shared memory without waiting (`cp.async.cg`, sm_80+; a plain
/// copy elsewhere), or writes 16 zero bytes when `valid` is false (the source is not read). Both
/// addresses are 16-byte aligned.
__device__ inline void cp_async_16(void* shared, const void* global, bool valid = true) {
#if defined(DQC_CUDA_EMULATION)
  if (valid) {
    memcpy(shared, global, 16);
  } else {
    memset(shared, 0, 16);
  }
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(global),
               "r"(valid ? 16 : 0)
               : "memory");
#else
  *reinterpret_cast<uint4*>(shared) = valid ? *reinterpret_cast<const uint4*>(global) : uint4{0, 0, 0, 0};
#endif
}

/// Closes the group of this thread's copies issued since the last commit.
__device__ inline void cp_async_commit() {
#if !defined(DQC_CUDA_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

/// Waits until at most PENDING of this thread's committed groups are still in flight.
template <int PENDING>
__device__ inline void cp_async_wait() {
#if !defined(DQC_CUDA_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING) : "memory");
#endif
}

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

/// Issues the copies of step `step` (columns 64 step ..) of the block's rows and channels into
/// `stage`. Rows past `rows` are zeros (nothing read) and panels past the weight's repeat the
/// last panel: their results are never stored.
template <class W>
__device__ inline void qgemm_mma_load(uint8_t* stage, const QLinearArgs<typename W::ScaleT>& a, int ldq, int row0,
                                      int panel0, int step) {
  using T = MmaTile<W>;
  constexpr int CHUNKS = T::PANEL_STEP_BYTES / 16;  // of one panel's step
  const int k0 = step * kMmaStepK;
  static_assert(kMmaRows * 4 % T::THREADS == 0 && T::COLS / 16 * CHUNKS % T::THREADS == 0,
                "every thread copies the same number of chunks");
#pragma unroll
  for (int n = 0; n < kMmaRows * 4 / T::THREADS; n++) {
    const int i = threadIdx.x + n * T::THREADS, r = i / 4, c = i % 4;
    const bool live = row0 + r < a.rows;
    cp_async_16(stage + r * kMmaStepK + (c ^ (r & 2)) * 16,
                a.xq + int64_t(live ? row0 + r : 0) * ldq + k0 + 16 * c, live);
  }
  uint8_t* b = stage + T::A_BYTES;
#pragma unroll
  for (int n = 0; n < T::COLS / 16 * CHUNKS / T::THREADS; n++) {
    const int i = threadIdx.x + n * T::THREADS, p = i / CHUNKS, j = i % CHUNKS, pair = j / 8;
    const int panel = panel0 + p < T::PANELS ? panel0 + p : T::PANELS - 1;
    cp_async_16(b + p * T::PANEL_STEP_BYTES + pair * 128 + ((j % 8) ^ (2 * (pair & 3))) * 16,
                a.packed + int64_t(panel) * W::PANEL_BYTES + int64_t(k0) * 2 * W::BITS + 16 * j);
  }
}

/// Lane (g, t)'s B fragment for channel `n` of the block (its panel's slice `slice` of `b`).
template <class W>
__device__ inline void qgemm_mma_b_fragment(const uint8_t* b, int n, int slice, int t, uint32_t& b0, uint32_t& b1) {
  using T = MmaTile<W>;
  const uint8_t* panel = b + (n / 16) * T::PANEL_STEP_BYTES;
  const int q = (n % 16) / 4, word = (n % 4) * 4;
  if constexpr (W::BITS == 4) {
    const int pair = 2 * slice + t / 2, position = (4 * (t % 2) + q) ^ (2 * (pair & 3));
    const uint32_t w = *reinterpret_cast<const uint32_t*>(panel + pair * 128 + position * 16 + word);
    b0 = w & 0x0F0F0F0Fu;
    b1 = (w >> 4) & 0x0F0F0F0Fu;
  } else {
    const int pair = 4 * slice + t, swizzle = 2 * (pair & 3);
    b0 = *reinterpret_cast<const uint32_t*>(panel + pair * 128 + (q ^ swizzle) * 16 + word) ^ 0x80808080u;
    b1 = *reinterpret_cast<const uint32_t*>(panel + pair * 128 + ((4 + q) ^ swizzle) * 16 + word) ^ 0x80808080u;
  }
}

/// Warp w computes rows 32 (w % 2).. and channels 32 (w / 2).. of the block as 2 x 4 tiles of
/// m16n8. C fragment (PTX ISA): c[0..1] = C[g][2t, 2t+1], c[2..3] = C[g+8][2t, 2t+1].
template <class W>
__global__ void __launch_bounds__(MmaTile<W>::THREADS)
    qgemm_mma(QLinearArgs<typename W::ScaleT> a, int ldq) {
  using T = MmaTile<W>;
  static_assert(W::GROUP % 32 == 0 && W::K % kMmaStepK == 0,
                "the tensor-core path needs groups of 32 columns and K a multiple of 64");
  __shared__ __align__(16) uint8_t buffers[T::STAGES * T::STAGE_BYTES];
  const int row0 = blockIdx.y * kMmaRows, col0 = blockIdx.x * T::COLS;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int wr = (warp % 2) * 32, wc = (warp / 2) * 32;
  int32_t acc[2][4][4];
  float out[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0, out[i][j][e] = 0;
  // The current group's scales and zero points of this lane's channels and code sums of its
  // rows, loaded when the group opens, used when it closes.
  float scale[4][2];
  int zero[4][2];
  int32_t sums[2][2];

#pragma unroll
  for (int s = 0; s < T::STAGES - 1; s++) {
    if (s < T::STEPS) qgemm_mma_load<W>(buffers + s * T::STAGE_BYTES, a, ldq, row0, col0 / 16, s);
    cp_async_commit();
  }
  for (int step = 0; step < T::STEPS; step++) {
    cp_async_wait<T::STAGES - 2>();  // this thread's copies of `step` have landed
    __syncthreads();                 // everyone's have, and everyone is done with step - 1's buffer
    const int next = step + T::STAGES - 1;
    if (next < T::STEPS) qgemm_mma_load<W>(buffers + (next % T::STAGES) * T::STAGE_BYTES, a, ldq, row0, col0 / 16, next);
    cp_async_commit();
    const uint8_t* stage = buffers + (step % T::STAGES) * T::STAGE_BYTES;
#pragma unroll
    for (int slice = 0; slice < 2; slice++) {
      const int k_slice = 2 * step + slice, group = k_slice / T::SLICES_PER_GROUP;
      if (k_slice % T::SLICES_PER_GROUP == 0) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
#pragma unroll
          for (int e = 0; e < 2; e++) {
            const int c = col0 + wc + 8 * j + 2 * t + e;
            scale[j][e] = c < W::N ? load_scale(a.scales, int64_t(c) * W::GROUPS + group) : 0.0f;
            zero[j][e] = c < W::N ? weight_zero<W>(a.zeros, c, group) : 0;
          }
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
#pragma unroll
          for (int h = 0; h < 2; h++) {
            const int r = row0 + wr + 16 * i + g + 8 * h;
            sums[i][h] = r < a.rows ? a.xsum[int64_t(r) * W::GROUPS + group] : 0;
          }
        }
      }
      uint32_t frag[2][4];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int r = wr + 16 * i + g, chunk = (2 * slice + t / 2) ^ (r & 2);
        const uint2 lo = *reinterpret_cast<const uint2*>(stage + r * kMmaStepK + chunk * 16 + 8 * (t % 2));
        const uint2 hi = *reinterpret_cast<const uint2*>(stage + (r + 8) * kMmaStepK + chunk * 16 + 8 * (t % 2));
        frag[i][0] = lo.x, frag[i][1] = hi.x, frag[i][2] = lo.y, frag[i][3] = hi.y;
      }
#pragma unroll
      for (int j = 0; j < 4; j++) {
        uint32_t b0, b1;
        qgemm_mma_b_fragment<W>(stage + T::A_BYTES, wc + 8 * j + g, slice, t, b0, b1);
#pragma unroll
        for (int i = 0; i < 2; i++) mma_s8_16832(acc[i][j], frag[i], b0, b1);
      }
      if (k_slice % T::SLICES_PER_GROUP == T::SLICES_PER_GROUP - 1) {
        // Close the group: scale(c, g) * (acc - zero * xsum) into the float sums.
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
          for (int j = 0; j < 4; j++)
#pragma unroll
            for (int h = 0; h < 2; h++)
#pragma unroll
              for (int e = 0; e < 2; e++) {
                int32_t& v = acc[i][j][2 * h + e];
                out[i][j][2 * h + e] += scale[j][e] * float(v - zero[j][e] * sums[i][h]);
                v = 0;
              }
      }
    }
  }
  cp_async_wait<0>();  // no copy outlives the block (the last ones are empty groups)
  // y = xs[r] * out (+ bias): lane (g, t) holds channels 2t, 2t+1 of each n8 tile, one 8-byte store.
  float bias[4][2];
#pragma unroll
  for (int j = 0; j < 4; j++)
#pragma unroll
    for (int e = 0; e < 2; e++) {
      const int c = col0 + wc + 8 * j + 2 * t + e;
      bias[j][e] = W::HAS_BIAS && c < W::N ? a.bias[c] : 0.0f;
    }
#pragma unroll
  for (int i = 0; i < 2; i++) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int r = row0 + wr + 16 * i + g + 8 * h;
      if (r >= a.rows) continue;
      const float xs = a.xs[r];
      float* y = a.y + int64_t(r) * W::N;
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int c = col0 + wc + 8 * j + 2 * t;
        float v[2];
#pragma unroll
        for (int e = 0; e < 2; e++) {
          v[e] = xs * out[i][j][2 * h + e];
          if constexpr (W::HAS_BIAS) v[e] += bias[j][e];
        }
        if (W::N % 2 == 0 && c + 1 < W::N) {
          *reinterpret_cast<float2*>(y + c) = make_float2(v[0], v[1]);
        } else {
          if (c < W::N) y[c] = v[0];
          if (c + 1 < W::N) y[c + 1] = v[1];
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
  if constexpr (W::GROUP % 32 == 0 && W::K % kMmaStepK == 0) {
    if (use_mma) {
      using T = MmaTile<W>;
      const dim3 grid(unsigned(blocks_for(W::N, T::COLS)), unsigned(blocks_for(a.rows, kMmaRows)));
      return launch(qgemm_mma<W>, grid, T::THREADS, stream, a, ldq);
    }
  }
  const dim3 grid(unsigned(blocks_for(W::N, kDp4aCols)), unsigned(blocks_for(a.rows, kDp4aRows)));
  return launch(qgemm_dp4a<W>, grid, kDp4aThreads, stream, a, ldq);
}

}  // namespace dqc_cuda
