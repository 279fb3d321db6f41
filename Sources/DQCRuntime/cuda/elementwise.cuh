// elementwise.cuh: k.embedding, k.rope, k.swiglu and k.add (f32, the CPU back end's semantics).
#pragma once

namespace dqc_cuda {

inline constexpr int kElementThreads = 256;

/// out[r, :] = table[ids[r], :]; the host checks the ids against the vocabulary first.
template <int D>
__global__ void embedding(const int64_t* ids, const float* table, float* out, int rows) {
  const int64_t i = int64_t(blockIdx.x) * kElementThreads + threadIdx.x;
  if (i >= int64_t(rows) * D) return;
  const int64_t r = i / D, c = i % D;
  out[i] = table[ids[r] * D + c];
}

/// Rotate-half RoPE: out[i] = x[i] cos[p][i] + (i < dh/2 ? -x[i + dh/2] : x[i - dh/2]) sin[p][i]
/// for each head of row r at position p = r; one thread per pair (i, i + dh/2), so x may be out.
template <int HEADS, int DH>
__global__ void rope(const float* x, const float* cos_table, const float* sin_table, float* out, int rows) {
  constexpr int HALF = DH / 2;
  const int64_t i = int64_t(blockIdx.x) * kElementThreads + threadIdx.x;
  if (i >= int64_t(rows) * HEADS * HALF) return;
  const int64_t r = i / (HEADS * HALF);
  const int h = int(i / HALF % HEADS), j = int(i % HALF);
  const int64_t base = r * HEADS * DH + int64_t(h) * DH;
  const float a = x[base + j], b = x[base + j + HALF];
  const float* c = cos_table + r * DH;
  const float* s = sin_table + r * DH;
  out[base + j] = a * c[j] + (-b) * s[j];
  out[base + j + HALF] = b * c[j + HALF] + a * s[j + HALF];
}

/// silu(g) * u = (g / (1 + exp(-g))) * u.
__global__ void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * kElementThreads + threadIdx.x;
  if (i >= n) return;
  const float g = gate[i];
  out[i] = __fdiv_rn(g, 1.0f + expf(-g)) * up[i];
}

__global__ void add(const float* a, const float* b, float* out, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * kElementThreads + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

/// The grid of an elementwise launch over n items.
inline unsigned element_blocks(int64_t n) { return unsigned(blocks_for(n > 0 ? n : 1, kElementThreads)); }

}  // namespace dqc_cuda
