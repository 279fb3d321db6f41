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

/// One block per (query row, head). Q_INT: q and k as codes (+ per-slice scales), else floats;
/// PV_INT: p as codes k_j and v as codes (+ per-head scales), else floats.
template <int HEADS, int KV_HEADS, int DH, int SEQ, int QK_BITS, int P_BITS, int V_BITS>
__global__ void __launch_bounds__(kRowThreads)
    attention_rows(const float* q, const float* k, const float* v, const int8_t* q_codes,
                   const float* q_scales, const int8_t* k_codes, const float* k_scales,
                   const int8_t* v_codes, const float* v_scales, float scale, float* out, int rows) {
  static_assert(kRowThreads % DH == 0 && DH % 4 == 0, "attention: head_dim must divide 256");
  constexpr int GROUPS = kRowThreads / DH;
  constexpr bool QK_INT = QK_BITS > 0, PV_INT = P_BITS > 0 && V_BITS > 0;
  __shared__ float p[SEQ];
  __shared__ float qf[DH];
  __shared__ float partial[GROUPS][DH];
  __shared__ int32_t partial_codes[GROUPS][DH];
  __shared__ double reduce_d[kRowThreads / 32];
  __shared__ float reduce_f[kRowThreads / 32];
  const int64_t i = blockIdx.x;
  const int h = blockIdx.y, kv = h / (HEADS / KV_HEADS);
  constexpr int64_t QW = int64_t(HEADS) * DH, KW = int64_t(KV_HEADS) * DH;
  // Scores.
  if constexpr (!QK_INT) {
    for (int d = threadIdx.x; d < DH; d += kRowThreads) qf[d] = q[i * QW + int64_t(h) * DH + d];
    __syncthreads();
  }
  for (int j = threadIdx.x; j < rows; j += kRowThreads) {
    float dot;
    if constexpr (QK_INT) {
      const int32_t* qw = reinterpret_cast<const int32_t*>(q_codes + i * QW + int64_t(h) * DH);
      const int32_t* kw = reinterpret_cast<const int32_t*>(k_codes + int64_t(j) * KW + int64_t(kv) * DH);
      int32_t acc = 0;
#pragma unroll
      for (int w = 0; w < DH / 4; w++) acc = __dp4a(qw[w], kw[w], acc);
      dot = (q_scales[i * HEADS + h] * k_scales[int64_t(j) * KV_HEADS + kv]) * float(acc);
    } else {
      const float* kr = k + int64_t(j) * KW + int64_t(kv) * DH;
      dot = 0;
      for (int d = 0; d < DH; d++) dot = fmaf(qf[d], kr[d], dot);
    }
    p[j] = scale * dot;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int j = threadIdx.x; j < rows; j += kRowThreads) m = fmaxf(m, p[j]);
  m = block_max(m, reduce_f);
  double sum = 0;
  for (int j = threadIdx.x; j < rows; j += kRowThreads) {
    const float e = expf(p[j] - m);
    p[j] = e;
    sum += double(e);
  }
  sum = block_sum(sum, reduce_d);
  const float inv = float(1.0 / sum);
  constexpr float levels = P_BITS > 0 ? float((1 << P_BITS) - 1) : 1.0f;
  for (int j = threadIdx.x; j < rows; j += kRowThreads) {
    float pj = p[j] * inv;
    if constexpr (P_BITS > 0) {
      const float code = rintf(pj * levels);
      pj = PV_INT ? code : __fdiv_rn(code, levels);
    }
    p[j] = pj;
  }
  __syncthreads();
  // out = p . v: GROUPS slices of the keys, each DH threads wide, then summed in slice order.
  const int d = threadIdx.x % DH, slice = threadIdx.x / DH;
  float result = 0;
  if constexpr (PV_INT) {
    int32_t acc = 0;
    for (int j = slice; j < rows; j += GROUPS)
      acc += int32_t(p[j]) * int32_t(v_codes[int64_t(j) * KW + int64_t(kv) * DH + d]);
    partial_codes[slice][d] = acc;
    __syncthreads();
    if (slice == 0) {
      int32_t total = 0;
      for (int s = 0; s < GROUPS; s++) total += partial_codes[s][d];
      result = __fdiv_rn(float(total) * v_scales[kv], levels);
    }
  } else {
    float acc = 0;
    for (int j = slice; j < rows; j += GROUPS) {
      float vv;
      if constexpr (V_BITS > 0) {
        vv = float(v_codes[int64_t(j) * KW + int64_t(kv) * DH + d]) * v_scales[kv];
      } else {
        vv = v[int64_t(j) * KW + int64_t(kv) * DH + d];
      }
      acc = fmaf(p[j], vv, acc);
    }
    partial[slice][d] = acc;
    __syncthreads();
    if (slice == 0) {
      result = 0;
      for (int s = 0; s < GROUPS; s++) result += partial[s][d];
    }
  }
  if (slice == 0) out[i * QW + int64_t(h) * DH + d] = result;
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
  return launch(attention_rows<HEADS, KV_HEADS, DH, SEQ, QK_BITS, P_BITS, V_BITS>, dim3(unsigned(rows), HEADS),
                kRowThreads, stream, q, k, v, q_codes, q_scales, k_codes, k_scales, v_codes, v_scales, scale, out,
                rows);
}

}  // namespace dqc_cuda
