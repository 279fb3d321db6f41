// attention.cuh: bidirectional attention with IA-AQ's quantized QK^T and P.V (k.attention).
//
// The CPU back end's semantics (kernels.h, attention), computed with integer dot products where
// the operands are quantized:
// - qk_bits > 0: each (token, head) row of q and of k is quantized symmetric per row
//   (s = amax / qmax or 1, round half even); q~.k~ = s_q s_k (q_codes . k_codes), the dot in int32;
// - v_bits > 0: V of each kv head quantized with its static scale (when the bundle has one; a
//   scale <= 0 becomes 1) or amax / qmax over the head's [rows, head_dim] slice;
// - scores = scale * q~.k~; softmax with exp(x - max), the sum of the exps in double,
//   p = e * float(1 / sum);
// - p_bits > 0: p rounded to k / L, L = 2^p_bits - 1, k = rint(p L);
// - out = p.v; with both P and V quantized, (s_v / L) * sum_j k_j v_codes_j in int32.
// Query head h reads kv head h / (heads / kv_heads).
#pragma once

namespace dqc_cuda {

/// Scratch bytes of one attention launch over `seq` rows (codes and scales, 64-byte aligned).
__host__ __device__ constexpr int64_t attention_scratch_bytes(int64_t seq, int64_t heads, int64_t kv_heads,
                                                              int64_t dh) {
  return (seq * heads * dh + 63) / 64 * 64 + (seq * kv_heads * dh + 63) / 64 * 64 * 2 +
         (seq * heads * 4 + 63) / 64 * 64 + (seq * kv_heads * 4 + 63) / 64 * 64 + (kv_heads * 4 + 63) / 64 * 64;
}

/// The larger of two byte counts (for the largest scratch of a model's attentions).
__host__ __device__ constexpr int64_t max_bytes(int64_t a, int64_t b) { return a > b ? a : b; }

/// Quantizes each (row, head) slice of a [rows, heads * DH] matrix per slice: one warp each.
template <int HEADS, int DH, int BITS>
__global__ void attention_quantize_rows(const float* x, int8_t* codes, float* scales, int rows) {
  constexpr float qmax = float((1 << (BITS - 1)) - 1);
  const int64_t slice = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (slice >= int64_t(rows) * HEADS) return;
  const int lane = threadIdx.x % 32;
  const float* xs = x + slice * DH;
  float amax = 0;
  for (int i = lane; i < DH; i += 32) amax = fmaxf(amax, fabsf(xs[i]));
  for (int offset = 16; offset > 0; offset >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
  const float s = row_scale(amax, qmax);
  for (int i = lane; i < DH; i += 32) codes[slice * DH + i] = int8_t(quantize_code(xs[i], s, qmax));
  if (lane == 0) scales[slice] = s;
}

/// The V scale of each kv head: static (<= 0 becomes 1) or amax / qmax over [rows, DH].
template <int KV_HEADS, int DH, int BITS>
__global__ void __launch_bounds__(kRowThreads)
    attention_v_scales(const float* v, const float* static_scales, float* scales, int rows) {
  constexpr float qmax = float((1 << (BITS - 1)) - 1);
  __shared__ float reduce[kRowThreads / 32];
  const int h = blockIdx.x;
  if (static_scales != nullptr) {
    if (threadIdx.x == 0) scales[h] = static_scales[h] > 0 ? static_scales[h] : 1.0f;
    return;
  }
  float amax = 0;
  for (int64_t i = threadIdx.x; i < int64_t(rows) * DH; i += kRowThreads)
    amax = fmaxf(amax, fabsf(v[(i / DH) * KV_HEADS * DH + int64_t(h) * DH + i % DH]));
  amax = block_max(amax, reduce);
  if (threadIdx.x == 0) scales[h] = row_scale(amax, qmax);
}

template <int KV_HEADS, int DH, int BITS>
__global__ void attention_quantize_v(const float* v, const float* scales, int8_t* codes, int rows) {
  constexpr float qmax = float((1 << (BITS - 1)) - 1);
  const int64_t i = int64_t(blockIdx.x) * kRowThreads + threadIdx.x;
  if (i >= int64_t(rows) * KV_HEADS * DH) return;
  codes[i] = int8_t(quantize_code(v[i], scales[i / DH % KV_HEADS], qmax));
}

/// Query rows per block of attention_rows: as many as 46 KiB of shared memory hold (score rows
/// of SEQ floats, the rows' q, per-slice partial sums), at most one per warp. Each key and value
/// a block reads serves all its rows, so the keys and values of a head are read seq / R times
/// instead of seq times. The emitter refuses a plan where not even one row fits.
__host__ __device__ constexpr int attention_rows_per_block(int64_t seq, int64_t dh) {
  const int64_t fit = (46 * 1024) / (4 * seq + 4 * dh + 4 * kRowThreads);
  return int(fit < 8 ? fit : 8);
}

/// One block per (R query rows, head), R = attention_rows_per_block. Q_INT: q and k as codes
/// (+ per-slice scales), else floats; PV_INT: p as codes k_j and v as codes (+ per-head scales),
/// else floats. Per row, the arithmetic and its order are those of one row alone: scores one
/// thread per key, the softmax one warp per row (the sum of exps in double), p.v in GROUPS
/// slices of the keys (each DH threads wide, keys in ascending order) summed in slice order.
template <int HEADS, int KV_HEADS, int DH, int SEQ, int QK_BITS, int P_BITS, int V_BITS>
__global__ void __launch_bounds__(kRowThreads)
    attention_rows(const float* q, const float* k, const float* v, const int8_t* q_codes,
                   const float* q_scales, const int8_t* k_codes, const float* k_scales,
                   const int8_t* v_codes, const float* v_scales, float scale, float* out, int rows) {
  static_assert(kRowThreads % DH == 0 && DH % 4 == 0, "attention: head_dim must divide 256");
  constexpr int R = attention_rows_per_block(SEQ, DH);
  static_assert(R >= 1 && R <= kRowThreads / 32, "attention: a score row must fit the shared memory");
  constexpr int GROUPS = kRowThreads / DH;
  constexpr bool QK_INT = QK_BITS > 0, PV_INT = P_BITS > 0 && V_BITS > 0;
  using Acc = typename std::conditional<PV_INT, int32_t, float>::type;
  __shared__ float p[R][SEQ];
  __shared__ float qf[QK_INT ? 1 : R][DH];
  __shared__ int32_t qw[QK_INT ? R : 1][DH / 4];
  __shared__ float qs[R];
  __shared__ Acc partial[GROUPS][R][DH];
  const int64_t i0 = int64_t(blockIdx.x) * R;
  const int live = rows - i0 < R ? int(rows - i0) : R;  // rows of this block
  const int h = blockIdx.y, kv = h / (HEADS / KV_HEADS);
  constexpr int64_t QW = int64_t(HEADS) * DH, KW = int64_t(KV_HEADS) * DH;
  // The block's q rows.
  for (int idx = threadIdx.x; idx < R * DH; idx += kRowThreads) {
    const int r = idx / DH, d = idx % DH;
    if (r >= live) continue;
    if constexpr (QK_INT) {
      if (d % 4 == 0)
        qw[r][d / 4] = *reinterpret_cast<const int32_t*>(q_codes + (i0 + r) * QW + int64_t(h) * DH + d);
      if (d == 0) qs[r] = q_scales[(i0 + r) * HEADS + h];
    } else {
      qf[r][d] = q[(i0 + r) * QW + int64_t(h) * DH + d];
    }
  }
  __syncthreads();
  // Scores: one thread per key, for every row of the block.
  for (int j = threadIdx.x; j < rows; j += kRowThreads) {
    if constexpr (QK_INT) {
      const int32_t* kw = reinterpret_cast<const int32_t*>(k_codes + int64_t(j) * KW + int64_t(kv) * DH);
      int32_t acc[R];
#pragma unroll
      for (int r = 0; r < R; r++) acc[r] = 0;
#pragma unroll
      for (int w = 0; w < DH / 4; w++) {
        const int32_t word = kw[w];
#pragma unroll
        for (int r = 0; r < R; r++) acc[r] = __dp4a(qw[r][w], word, acc[r]);
      }
      const float ks = k_scales[int64_t(j) * KV_HEADS + kv];
#pragma unroll
      for (int r = 0; r < R; r++)
        if (r < live) p[r][j] = scale * ((qs[r] * ks) * float(acc[r]));
    } else {
      const float* kr = k + int64_t(j) * KW + int64_t(kv) * DH;
      float dot[R];
#pragma unroll
      for (int r = 0; r < R; r++) dot[r] = 0;
      for (int d = 0; d < DH; d++) {
        const float kd = kr[d];
#pragma unroll
        for (int r = 0; r < R; r++) dot[r] = fmaf(qf[r][d], kd, dot[r]);
      }
#pragma unroll
      for (int r = 0; r < R; r++)
        if (r < live) p[r][j] = scale * dot[r];
    }
  }
  __syncthreads();
  // Softmax: warp r normalises row r.
  constexpr float levels = P_BITS > 0 ? float((1 << P_BITS) - 1) : 1.0f;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (warp < live) {
    float* row = p[warp];
    float m = -INFINITY;
    for (int j = lane; j < rows; j += 32) m = fmaxf(m, row[j]);
    for (int offset = 16; offset > 0; offset >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, offset));
    double sum = 0;
    for (int j = lane; j < rows; j += 32) {
      const float e = expf(row[j] - m);
      row[j] = e;
      sum += double(e);
    }
    for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    const float inv = float(1.0 / sum);
    for (int j = lane; j < rows; j += 32) {
      float pj = row[j] * inv;
      if constexpr (P_BITS > 0) {
        const float code = rintf(pj * levels);
        pj = PV_INT ? code : __fdiv_rn(code, levels);
      }
      row[j] = pj;
    }
  }
  __syncthreads();
  // out = p . v: each value read once for every row of the block.
  const int d = threadIdx.x % DH, slice = threadIdx.x / DH;
  Acc acc[R];
#pragma unroll
  for (int r = 0; r < R; r++) acc[r] = 0;
  for (int j = slice; j < rows; j += GROUPS) {
    if constexpr (PV_INT) {
      const int32_t code = v_codes[int64_t(j) * KW + int64_t(kv) * DH + d];
#pragma unroll
      for (int r = 0; r < R; r++)
        if (r < live) acc[r] += int32_t(p[r][j]) * code;
    } else {
      float vv;
      if constexpr (V_BITS > 0) {
        vv = float(v_codes[int64_t(j) * KW + int64_t(kv) * DH + d]) * v_scales[kv];
      } else {
        vv = v[int64_t(j) * KW + int64_t(kv) * DH + d];
      }
#pragma unroll
      for (int r = 0; r < R; r++)
        if (r < live) acc[r] = fmaf(p[r][j], vv, acc[r]);
    }
  }
#pragma unroll
  for (int r = 0; r < R; r++) partial[slice][r][d] = acc[r];
  __syncthreads();
  for (int idx = threadIdx.x; idx < live * DH; idx += kRowThreads) {
    const int r = idx / DH, e = idx % DH;
    Acc total = 0;
    for (int s = 0; s < GROUPS; s++) total += partial[s][r][e];
    float result;
    if constexpr (PV_INT) {
      result = __fdiv_rn(float(total) * v_scales[kv], levels);
    } else {
      result = total;
    }
    out[(i0 + r) * QW + int64_t(h) * DH + e] = result;
  }
}

/// Runs k.attention: the quantization passes it needs, then one block per (row, head).
template <int HEADS, int KV_HEADS, int DH, int SEQ, int QK_BITS, int P_BITS, int V_BITS>
cudaError_t launch_attention(const float* q, const float* k, const float* v, const float* static_v_scales,
                             float scale, float* out, int rows, uint8_t* scratch, cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  static_assert(HEADS % KV_HEADS == 0, "attention: heads must be a multiple of kv_heads");
  int8_t* q_codes = reinterpret_cast<int8_t*>(scratch);
  scratch += (int64_t(SEQ) * HEADS * DH + 63) / 64 * 64;
  int8_t* k_codes = reinterpret_cast<int8_t*>(scratch);
  scratch += (int64_t(SEQ) * KV_HEADS * DH + 63) / 64 * 64;
  int8_t* v_codes = reinterpret_cast<int8_t*>(scratch);
  scratch += (int64_t(SEQ) * KV_HEADS * DH + 63) / 64 * 64;
  float* q_scales = reinterpret_cast<float*>(scratch);
  scratch += (int64_t(SEQ) * HEADS * 4 + 63) / 64 * 64;
  float* k_scales = reinterpret_cast<float*>(scratch);
  scratch += (int64_t(SEQ) * KV_HEADS * 4 + 63) / 64 * 64;
  float* v_scales = reinterpret_cast<float*>(scratch);
  constexpr int kSlices = 8;  // warps per block of the per-slice quantization
  cudaError_t e = cudaSuccess;
  if constexpr (QK_BITS > 0) {
    const unsigned q_blocks = unsigned(blocks_for(int64_t(rows) * HEADS, kSlices));
    const unsigned k_blocks = unsigned(blocks_for(int64_t(rows) * KV_HEADS, kSlices));
    if ((e = launch(attention_quantize_rows<HEADS, DH, QK_BITS>, q_blocks, 32 * kSlices, stream, q, q_codes,
                    q_scales, rows)) != cudaSuccess ||
        (e = launch(attention_quantize_rows<KV_HEADS, DH, QK_BITS>, k_blocks, 32 * kSlices, stream, k, k_codes,
                    k_scales, rows)) != cudaSuccess)
      return e;
  }
  if constexpr (V_BITS > 0) {
    const unsigned v_blocks = unsigned(blocks_for(int64_t(rows) * KV_HEADS * DH, kRowThreads));
    if ((e = launch(attention_v_scales<KV_HEADS, DH, V_BITS>, KV_HEADS, kRowThreads, stream, v, static_v_scales,
                    v_scales, rows)) != cudaSuccess ||
        (e = launch(attention_quantize_v<KV_HEADS, DH, V_BITS>, v_blocks, kRowThreads, stream, v, v_scales,
                    v_codes, rows)) != cudaSuccess)
      return e;
  }
  constexpr int R = attention_rows_per_block(SEQ, DH);
  return launch(attention_rows<HEADS, KV_HEADS, DH, SEQ, QK_BITS, P_BITS, V_BITS>,
                dim3(unsigned(blocks_for(rows, R)), HEADS),
                kRowThreads, stream, q, k, v, q_codes, q_scales, k_codes, k_scales, v_codes, v_scales, scale, out,
                rows);
}

}  // namespace dqc_cuda
