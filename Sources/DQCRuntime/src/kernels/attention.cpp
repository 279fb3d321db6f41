// attention.cpp: bidirectional softmax attention with the interpreter's optional fake
// quantization of q/k, V and the probabilities.
//
// Two passes over the pool. First, per (batch, kv head), K and V (fake-quantized when their
// bits are set) packed as layout-3 weights: K as [seq keys, head_dim], V as [head_dim, seq] (its
// panels are then 16-column slices of V's rows). Then per (batch, head, block of queries):
// scores = scale * (Q K^T) and out = P V, both by sgemm_packed's tiles on the calling thread,
// the softmax in between. Every output is an fma chain in a fixed order, so results depend
// neither on the thread count nor on the instruction-set path.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.h"
#include "sgemm_paths.h"

namespace dqc::rt {
namespace {

/// Queries per unit of work (and rows of a thread's score buffer).
constexpr int64_t kQueryBlock = 64;

float qmax_for(int bits) { return static_cast<float>((1 << (bits - 1)) - 1); }

/// round_half_even(x / s) clamped to +-qmax, times s.
float fake_quantize(float x, float s, float qmax) {
  return std::min(std::max(std::nearbyint(x / s), -qmax), qmax) * s;
}

/// The symmetric scale of n values with their own max-abs: amax / qmax, or 1 for all zeros.
float row_scale(const float* src, int64_t n, float qmax) {
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(src[i]));
  return amax > 0 ? amax / qmax : 1.0f;
}

/// Fake-quantizes n values symmetrically with their own max-abs scale, src to dst.
void fake_quantize_row(const float* src, int64_t n, int bits, float* dst) {
  const float qmax = qmax_for(bits);
  const float s = row_scale(src, n, qmax);
  for (int64_t i = 0; i < n; ++i) dst[i] = fake_quantize(src[i], s, qmax);
}

/// Floats rounded up to whole 64-byte lines, so that every scratch region is line-aligned.
int64_t whole_lines(int64_t floats) { return (floats + 15) / 16 * 16; }

/// The scratch layout, from its first 64-byte boundary: per (batch, kv head) packed K and
/// packed V, then per thread a score block [kQueryBlock][seq] and, with qk_bits, a quantized
/// query block [kQueryBlock][head_dim].
struct Scratch {
  int64_t k_size = 0;  // floats of one (batch, kv head)'s packed K
  int64_t v_size = 0;  // and of its packed V
  int64_t query_rows = 0;
  int64_t scores = 0;  // floats of a thread's score block
  int64_t per_thread = 0;
  int64_t total = 0;

  explicit Scratch(const AttentionParams& p, int threads) {
    k_size = whole_lines(static_cast<int64_t>(f32_packed_size(p.seq, p.head_dim) / sizeof(float)));
    v_size = whole_lines(static_cast<int64_t>(f32_packed_size(p.head_dim, p.seq) / sizeof(float)));
    query_rows = std::min(kQueryBlock, p.seq);
    scores = whole_lines(query_rows * p.seq);
    per_thread = scores + (p.qk_bits > 0 ? whole_lines(query_rows * p.head_dim) : 0);
    // + 16: room to skip to the first 64-byte boundary of the caller's buffer.
    total = p.batch * p.kv_heads * (k_size + v_size) + threads * per_thread + 16;
  }
};

struct AttentionArgs {
  const float* q;
  int64_t ldq;
  const float* k;
  int64_t ldk;
  const float* v;
  int64_t ldv;
  const AttentionParams& p;
  float* out;
  int64_t ldo;
  const Scratch& layout;
  float* packed;  // packed K and V per (batch, kv head)
  float* thread_scratch;
};

/// Pass 1 for (batch b, kv head kh): its K rows (each fake-quantized with qk_bits) packed with
/// the keys as channels, and its V slice (fake-quantized with v_bits) with head_dim as channels.
void pack_kv(const AttentionArgs& a, int64_t b, int64_t kh) {
  const AttentionParams& p = a.p;
  const int64_t d = p.head_dim;
  float* k_packed = a.packed + (b * p.kv_heads + kh) * (a.layout.k_size + a.layout.v_size);
  float* v_packed = k_packed + a.layout.k_size;
  std::memset(k_packed, 0, (a.layout.k_size + a.layout.v_size) * sizeof(float));

  // Key s, column i goes to panel s / 16, lane s % 16, at ((s / 16) * d + i) * 16 + s % 16.
  const float k_qmax = p.qk_bits > 0 ? qmax_for(p.qk_bits) : 0;
  for (int64_t s = 0; s < p.seq; ++s) {
    const float* key = a.k + (b * p.seq + s) * a.ldk + kh * d;
    const float scale = p.qk_bits > 0 ? row_scale(key, d, k_qmax) : 1;
    float* dst = k_packed + (s / kF32PanelN) * d * kF32PanelN + s % kF32PanelN;
    for (int64_t i = 0; i < d; ++i) {
      dst[i * kF32PanelN] = p.qk_bits > 0 ? fake_quantize(key[i], scale, k_qmax) : key[i];
    }
  }

  const float* v = a.v + b * p.seq * a.ldv + kh * d;
  float scale = 1;
  const float qmax = p.v_bits > 0 ? qmax_for(p.v_bits) : 0;
  if (p.v_bits > 0) {
    if (p.v_scales != nullptr) {
      scale = p.v_scales[kh];
    } else {
      float amax = 0;
      for (int64_t s = 0; s < p.seq; ++s) {
        for (int64_t i = 0; i < d; ++i) amax = std::max(amax, std::fabs(v[s * a.ldv + i]));
      }
      scale = amax / qmax;
    }
    if (scale <= 0) scale = 1;
  }
  // Token s, column i goes to panel i / 16, lane i % 16, at ((i / 16) * seq + s) * 16 + i % 16.
  for (int64_t s = 0; s < p.seq; ++s) {
    for (int64_t i = 0; i < d; ++i) {
      const float value = v[s * a.ldv + i];
      v_packed[((i / kF32PanelN) * p.seq + s) * kF32PanelN + i % kF32PanelN] =
          p.v_bits > 0 ? fake_quantize(value, scale, qmax) : value;
    }
  }
}

/// Softmax of one score row in place (expf(x - max), a double sum, times float(1 / sum)), then
/// the optional rounding of p to `levels` steps.
void softmax_row(float* row, int64_t n, int p_bits) {
  float m = row[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, row[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = std::exp(row[i] - m);
    sum += row[i];
  }
  const float inv = static_cast<float>(1 / sum);
  for (int64_t i = 0; i < n; ++i) row[i] *= inv;
  if (p_bits > 0) {
    const float levels = static_cast<float>((1 << p_bits) - 1);
    for (int64_t i = 0; i < n; ++i) row[i] = std::nearbyint(row[i] * levels) / levels;
  }
}

/// Pass 2 for one (batch b, head h, query block qb), with one thread's scratch.
void attend(const AttentionArgs& a, int64_t b, int64_t h, int64_t qb, float* scratch) {
  const AttentionParams& p = a.p;
  const int64_t kh = h / (p.heads / p.kv_heads);
  const int64_t t0 = qb * kQueryBlock;
  const int64_t rows = std::min(kQueryBlock, p.seq - t0);
  const float* k_packed = a.packed + (b * p.kv_heads + kh) * (a.layout.k_size + a.layout.v_size);
  const float* v_packed = k_packed + a.layout.k_size;
  float* scores = scratch;

  const float* q = a.q + (b * p.seq + t0) * a.ldq + h * p.head_dim;
  int64_t ldq = a.ldq;
  if (p.qk_bits > 0) {
    float* q_quantized = scratch + a.layout.scores;
    for (int64_t t = 0; t < rows; ++t) {
      fake_quantize_row(q + t * a.ldq, p.head_dim, p.qk_bits, q_quantized + t * p.head_dim);
    }
    q = q_quantized;
    ldq = p.head_dim;
  }

  detail::sgemm_packed_serial(q, rows, p.head_dim, ldq, k_packed, p.seq, nullptr, scores, p.seq);
  for (int64_t t = 0; t < rows; ++t) {
    float* row = scores + t * p.seq;
    for (int64_t s = 0; s < p.seq; ++s) row[s] *= p.scale;
    softmax_row(row, p.seq, p.p_bits);
  }
  detail::sgemm_packed_serial(scores, rows, p.seq, p.seq, v_packed, p.head_dim, nullptr,
                              a.out + (b * p.seq + t0) * a.ldo + h * p.head_dim, a.ldo);
}

}  // namespace

size_t attention_scratch_size(const AttentionParams& p, int threads) {
  return static_cast<size_t>(Scratch(p, threads).total) * sizeof(float);
}

void attention(ThreadPool& pool, const float* q, int64_t ldq, const float* k, int64_t ldk,
               const float* v, int64_t ldv, const AttentionParams& p, float* out, int64_t ldo,
               void* scratch) {
  if (p.batch <= 0 || p.seq <= 0 || p.heads <= 0 || p.kv_heads <= 0 || p.head_dim <= 0) return;

  const Scratch layout(p, pool.size());
  const uintptr_t address = reinterpret_cast<uintptr_t>(scratch);
  float* base = reinterpret_cast<float*>((address + 63) / 64 * 64);
  const AttentionArgs args{q,   ldq, k,      ldk,  v,
                           ldv, p,   out,    ldo,  layout,
                           base, base + p.batch * p.kv_heads * (layout.k_size + layout.v_size)};

  pool.parallel_for(p.batch * p.kv_heads, [&args](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pack_kv(args, i / args.p.kv_heads, i % args.p.kv_heads);
  });

  // One chunk per thread slot (parallel_for gives each at most one), so slot i owns scratch i.
  const int64_t blocks = (p.seq + kQueryBlock - 1) / kQueryBlock;
  const int64_t units = p.batch * p.heads * blocks;
  const struct {
    const AttentionArgs& args;
    int64_t blocks, units, slots;
  } plan{args, blocks, units, std::min<int64_t>(pool.size(), units)};
  pool.parallel_for(plan.slots, [&plan](int64_t begin, int64_t end) {
    for (int64_t slot = begin; slot < end; ++slot) {
      float* scratch = plan.args.thread_scratch + slot * plan.args.layout.per_thread;
      for (int64_t u = plan.units * slot / plan.slots; u < plan.units * (slot + 1) / plan.slots;
           ++u) {
        const int64_t head = u / plan.blocks;
        attend(plan.args, head / plan.args.p.heads, head % plan.args.p.heads, u % plan.blocks,
               scratch);
      }
    }
  });
}

}  // namespace dqc::rt
