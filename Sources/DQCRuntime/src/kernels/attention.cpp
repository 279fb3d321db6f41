// attention.cpp: bidirectional softmax attention with the interpreter's optional fake
// quantization of q/k, V and the probabilities.
//
// Two passes over the pool. First, per (batch, kv head), K and V (fake-quantized when their
// bits are set) packed as layout-3 weights: K as [seq keys, head_dim], V as [head_dim, seq] (its
// panels are then 16-column slices of V's rows). Then per (batch, head, block of queries):
// scores = scale * (Q K^T) and out = P V, both by sgemm_packed's tiles on the calling thread,
// the softmax in between. Every output is an fma chain in a fixed order, so results depend
// neither on the thread count nor on the instruction-set path. The elementwise steps (max-abs,
// fake quantization, softmax with vec_math.h's exp and lane sums) have scalar, AVX2 and AVX-512
// versions with the same IEEE operations; rows of one head sit a page apart in the token-major
// inputs, so they are prefetched a few rows ahead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.h"
#include "sgemm_paths.h"
#include "vec_math.h"

namespace dqc::rt {
namespace {

/// Queries per unit of work (and rows of a thread's score buffer).
constexpr int64_t kQueryBlock = 64;

float qmax_for(int bits) { return static_cast<float>((1 << (bits - 1)) - 1); }

// ---------------------------------------------------------------------------------------------
// The elementwise steps, on each instruction-set path. All paths do the same IEEE operations in
// the same order (vec_math.h's exp, its 16 double lanes for the softmax sum), so they agree bit
// for bit.

/// The steps one path provides.
struct Steps {
  /// max |src[i]| over n values.
  float (*max_abs)(const float* src, int64_t n);
  /// dst[i] = clamp(round_half_even(src[i] / s), -qmax, qmax) * s, or src[i] when s == 0.
  void (*fake_quantize)(const float* src, int64_t n, float s, float qmax, float* dst);
  /// One score row in place: x = scale * x (f32); p = exp(x - max) times float(1 / sum), the
  /// sum of the exps in double (vec_math's 16 lanes); then the optional rounding of p to
  /// 2^p_bits - 1 steps.
  void (*softmax)(float* row, int64_t n, float scale, int p_bits);
};

/// round_half_even(x / s) clamped to +-qmax, times s.
float fake_quantize_value(float x, float s, float qmax) {
  return std::min(std::max(std::nearbyint(x / s), -qmax), qmax) * s;
}

float max_abs_scalar(const float* src, int64_t n) {
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(src[i]));
  return amax;
}

void fake_quantize_scalar(const float* src, int64_t n, float s, float qmax, float* dst) {
  if (s == 0) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = fake_quantize_value(src[i], s, qmax);
}

/// How p is rounded to `levels` steps: round_half_even(p * levels) / levels, the division done as
/// vec_math's div_levels when the levels allow it (identical bits), else as a division.
struct PLevels {
  int bits = 0;
  float levels = 0, inv = 0;
  bool exact_inverse = false;
  explicit PLevels(int p_bits) : bits(p_bits) {
    if (p_bits <= 0) return;
    levels = static_cast<float>((int64_t{1} << p_bits) - 1);
    inv = 1 / levels;
    exact_inverse = p_bits <= vmath::kMaxExactBits;
  }
};

float round_p(float p, const PLevels& l) {
  const float k = std::nearbyint(p * l.levels);
  return l.exact_inverse ? vmath::div_levels(k, l.levels, l.inv) : k / l.levels;
}

void softmax_scalar(float* row, int64_t n, float scale, int p_bits) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, row[i] * scale);
  double lanes[vmath::kSumLanes] = {};
  for (int64_t i = 0; i < n; ++i) {
    row[i] = vmath::exp_scalar(row[i] * scale - m);
    lanes[i % vmath::kSumLanes] += row[i];
  }
  const float inv = static_cast<float>(1 / vmath::fold_lanes(lanes));
  const PLevels levels(p_bits);
  for (int64_t i = 0; i < n; ++i) {
    row[i] *= inv;
    if (p_bits > 0) row[i] = round_p(row[i], levels);
  }
}

#if defined(__x86_64__)

DQC_TARGET_AVX2 float max_abs_avx2(const float* src, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 vmax = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(src + i)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float amax = 0;
  for (float lane : lanes) amax = std::max(amax, lane);
  return std::max(amax, max_abs_scalar(src + i, n - i));
}

DQC_TARGET_AVX2 void fake_quantize_avx2(const float* src, int64_t n, float s, float qmax,
                                        float* dst) {
  if (s == 0) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const __m256 vs = _mm256_set1_ps(s), hi = _mm256_set1_ps(qmax), lo = _mm256_set1_ps(-qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(src + i), vs),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_min_ps(_mm256_max_ps(v, lo), hi), vs));
  }
  for (; i < n; ++i) dst[i] = fake_quantize_value(src[i], s, qmax);
}

DQC_TARGET_AVX2 void softmax_avx2(float* row, int64_t n, float scale, int p_bits) {
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_mul_ps(_mm256_loadu_ps(row + i), vscale));
  alignas(32) float maxes[8];
  _mm256_store_ps(maxes, vmax);
  float m = -INFINITY;
  for (float lane : maxes) m = std::max(m, lane);
  for (; i < n; ++i) m = std::max(m, row[i] * scale);

  const __m256 vm = _mm256_set1_ps(m);
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  for (i = 0; i + 16 <= n; i += 16) {
    const __m256 e0 =
        vmath::exp_avx2(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(row + i), vscale), vm));
    const __m256 e1 =
        vmath::exp_avx2(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(row + i + 8), vscale), vm));
    _mm256_storeu_ps(row + i, e0);
    _mm256_storeu_ps(row + i + 8, e1);
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(e0)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(e0, 1)));
    acc[2] = _mm256_add_pd(acc[2], _mm256_cvtps_pd(_mm256_castps256_ps128(e1)));
    acc[3] = _mm256_add_pd(acc[3], _mm256_cvtps_pd(_mm256_extractf128_ps(e1, 1)));
  }
  double lanes[vmath::kSumLanes];
  for (int j = 0; j < 4; ++j) _mm256_storeu_pd(lanes + 4 * j, acc[j]);
  for (int64_t j = 0; i + j < n; ++j) {
    row[i + j] = vmath::exp_scalar(row[i + j] * scale - m);
    lanes[j] += row[i + j];
  }

  const float inv = static_cast<float>(1 / vmath::fold_lanes(lanes));
  const PLevels levels(p_bits);
  const __m256 vinv = _mm256_set1_ps(inv), vlevels = _mm256_set1_ps(levels.levels),
               vlevels_inv = _mm256_set1_ps(levels.inv);
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 p = _mm256_mul_ps(_mm256_loadu_ps(row + i), vinv);
    if (p_bits > 0) {
      const __m256 k = _mm256_round_ps(_mm256_mul_ps(p, vlevels),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      if (levels.exact_inverse) {
        const __m256 q = _mm256_mul_ps(k, vlevels_inv);
        p = _mm256_fmadd_ps(_mm256_fnmadd_ps(q, vlevels, k), vlevels_inv, q);
      } else {
        p = _mm256_div_ps(k, vlevels);
      }
    }
    _mm256_storeu_ps(row + i, p);
  }
  for (; i < n; ++i) {
    row[i] *= inv;
    if (p_bits > 0) row[i] = round_p(row[i], levels);
  }
}

inline __mmask16 first_lanes(int64_t count) {
  return static_cast<__mmask16>(count >= 16 ? 0xFFFF : (1u << count) - 1);
}

DQC_TARGET_AVX512 float max_abs_avx512(const float* src, int64_t n) {
  const __m512i abs_bits = _mm512_set1_epi32(0x7FFFFFFF);
  __m512 vmax = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(first_lanes(n - i), src + i));
    vmax = _mm512_max_ps(vmax, _mm512_castsi512_ps(_mm512_and_si512(v, abs_bits)));
  }
  return _mm512_reduce_max_ps(vmax);
}

DQC_TARGET_AVX512 void fake_quantize_avx512(const float* src, int64_t n, float s, float qmax,
                                            float* dst) {
  if (s == 0) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const __m512 vs = _mm512_set1_ps(s), hi = _mm512_set1_ps(qmax), lo = _mm512_set1_ps(-qmax);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m512 v = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, src + i), vs),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_mul_ps(_mm512_min_ps(_mm512_max_ps(v, lo), hi), vs));
  }
}

DQC_TARGET_AVX512 void softmax_avx512(float* row, int64_t n, float scale, int p_bits) {
  const __m512 vscale = _mm512_set1_ps(scale);
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), vscale));
  }
  const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));

  // Lanes past n are zeroed before they are added (+0 leaves a partial sum as it is).
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m512 e = _mm512_maskz_mov_ps(
        m, vmath::exp_avx512(
               _mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), vscale), vm)));
    _mm512_mask_storeu_ps(row + i, m, e);
    lo = _mm512_add_pd(lo, vmath::widen_lo(e));
    hi = _mm512_add_pd(hi, vmath::widen_hi(e));
  }
  double lanes[vmath::kSumLanes];
  _mm512_storeu_pd(lanes, lo);
  _mm512_storeu_pd(lanes + 8, hi);

  const __m512 vinv = _mm512_set1_ps(static_cast<float>(1 / vmath::fold_lanes(lanes)));
  const PLevels levels(p_bits);
  const __m512 vlevels = _mm512_set1_ps(levels.levels), vlevels_inv = _mm512_set1_ps(levels.inv);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), vinv);
    if (p_bits > 0) {
      const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(p, vlevels),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      if (levels.exact_inverse) {
        const __m512 q = _mm512_mul_ps(k, vlevels_inv);
        p = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, vlevels, k), vlevels_inv, q);
      } else {
        p = _mm512_div_ps(k, vlevels);
      }
    }
    _mm512_mask_storeu_ps(row + i, m, p);
  }
}

#endif  // __x86_64__

Steps select_steps(Isa isa) {
#if defined(__x86_64__)
  if (isa >= Isa::avx512_vnni) return {max_abs_avx512, fake_quantize_avx512, softmax_avx512};
  if (isa >= Isa::avx2) return {max_abs_avx2, fake_quantize_avx2, softmax_avx2};
#endif
  (void)isa;
  return {max_abs_scalar, fake_quantize_scalar, softmax_scalar};
}

/// Asks for the n floats at src to be brought into the cache: rows of one head are a page apart
/// in token-major activations, beyond the reach of the hardware prefetchers.
void prefetch_row(const float* src, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(src + i, 0, 3);
}

/// Rows prefetched ahead of use.
constexpr int64_t kPrefetchRows = 16;

/// The symmetric scale of n values with their own max-abs: amax / qmax, or 1 for all zeros.
float own_scale(const Steps& steps, const float* src, int64_t n, float qmax) {
  const float amax = steps.max_abs(src, n);
  return amax > 0 ? amax / qmax : 1.0f;
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
  Steps steps;
};

/// Pass 1 for (batch b, kv head kh): its K rows (each fake-quantized with qk_bits) packed with
/// the keys as channels, and its V slice (fake-quantized with v_bits) with head_dim as channels.
/// Only the pad lanes of the last panels (keys past seq, columns past head_dim) are zeroed.
void pack_kv(const AttentionArgs& a, int64_t b, int64_t kh) {
  const AttentionParams& p = a.p;
  const Steps& steps = a.steps;
  const int64_t d = p.head_dim;
  float* k_packed = a.packed + (b * p.kv_heads + kh) * (a.layout.k_size + a.layout.v_size);
  float* v_packed = k_packed + a.layout.k_size;
  if (p.seq % kF32PanelN != 0) {
    std::memset(k_packed + (p.seq / kF32PanelN) * d * kF32PanelN, 0,
                static_cast<size_t>(d * kF32PanelN) * sizeof(float));
  }
  if (d % kF32PanelN != 0) {
    std::memset(v_packed + (d / kF32PanelN) * p.seq * kF32PanelN, 0,
                static_cast<size_t>(p.seq * kF32PanelN) * sizeof(float));
  }

  // Key s, column i goes to panel s / 16, lane s % 16, at ((s / 16) * d + i) * 16 + s % 16.
  constexpr int64_t kChunk = 64;
  alignas(64) float chunk[kChunk];
  const float k_qmax = p.qk_bits > 0 ? qmax_for(p.qk_bits) : 0;
  const float* keys = a.k + b * p.seq * a.ldk + kh * d;
  for (int64_t s = 0; s < std::min(kPrefetchRows, p.seq); ++s) prefetch_row(keys + s * a.ldk, d);
  for (int64_t s = 0; s < p.seq; ++s) {
    const float* key = keys + s * a.ldk;
    if (s + kPrefetchRows < p.seq) prefetch_row(key + kPrefetchRows * a.ldk, d);
    const float scale = p.qk_bits > 0 ? own_scale(steps, key, d, k_qmax) : 0;
    float* dst = k_packed + (s / kF32PanelN) * d * kF32PanelN + s % kF32PanelN;
    for (int64_t i0 = 0; i0 < d; i0 += kChunk) {
      const int64_t n = std::min(kChunk, d - i0);
      const float* src = key + i0;
      if (p.qk_bits > 0) {
        steps.fake_quantize(src, n, scale, k_qmax, chunk);
        src = chunk;
      }
      for (int64_t i = 0; i < n; ++i) dst[(i0 + i) * kF32PanelN] = src[i];
    }
  }

  const float* v = a.v + b * p.seq * a.ldv + kh * d;
  float scale = 0;  // 0: copy
  const float qmax = p.v_bits > 0 ? qmax_for(p.v_bits) : 0;
  if (p.v_bits > 0) {
    if (p.v_scales != nullptr) {
      scale = p.v_scales[kh];
    } else {
      float amax = 0;
      for (int64_t s = 0; s < p.seq; ++s) {
        if (s + kPrefetchRows < p.seq) prefetch_row(v + (s + kPrefetchRows) * a.ldv, d);
        amax = std::max(amax, steps.max_abs(v + s * a.ldv, d));
      }
      scale = amax / qmax;
    }
    if (scale <= 0) scale = 1;
  }
  // Token s, columns 16j.. go to panel j, at (j * seq + s) * 16: 16 contiguous floats.
  for (int64_t s = 0; s < p.seq; ++s) {
    if (s + kPrefetchRows < p.seq) prefetch_row(v + (s + kPrefetchRows) * a.ldv, d);
    for (int64_t i0 = 0; i0 < d; i0 += kF32PanelN) {
      steps.fake_quantize(v + s * a.ldv + i0, std::min(kF32PanelN, d - i0), scale, qmax,
                          v_packed + ((i0 / kF32PanelN) * p.seq + s) * kF32PanelN);
    }
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
    const float qmax = qmax_for(p.qk_bits);
    for (int64_t t = 0; t < std::min(kPrefetchRows, rows); ++t) prefetch_row(q + t * a.ldq, p.head_dim);
    for (int64_t t = 0; t < rows; ++t) {
      const float* row = q + t * a.ldq;
      if (t + kPrefetchRows < rows) prefetch_row(row + kPrefetchRows * a.ldq, p.head_dim);
      a.steps.fake_quantize(row, p.head_dim, own_scale(a.steps, row, p.head_dim, qmax), qmax,
                            q_quantized + t * p.head_dim);
    }
    q = q_quantized;
    ldq = p.head_dim;
  }

  detail::sgemm_packed_serial(q, rows, p.head_dim, ldq, k_packed, p.seq, nullptr, scores, p.seq);
  for (int64_t t = 0; t < rows; ++t) a.steps.softmax(scores + t * p.seq, p.seq, p.scale, p.p_bits);
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
                           base, base + p.batch * p.kv_heads * (layout.k_size + layout.v_size),
                           select_steps(active_isa())};

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
