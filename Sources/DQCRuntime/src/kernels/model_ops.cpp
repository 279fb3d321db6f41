// model_ops.cpp: the elementwise and per-row model ops (embedding, RMSNorm, RoPE, SwiGLU, add).
//
// Each op has a scalar, an AVX2 and an AVX-512 path that do the same IEEE operations in the same
// order (no fused multiply-adds but where the contract has them), so all paths and thread
// counts give identical bits. RMSNorm's double sum of squares uses vec_math.h's 16 lanes
// (element i into lane i % 16, then the fixed fold); SwiGLU uses vec_math.h's exp.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "vec_math.h"

namespace dqc::rt {
namespace {

/// Elementwise ops hand out blocks of this many elements, so that short vectors stay on the
/// calling thread.
constexpr int64_t kElementBlock = 16384;

// The helpers below capture only references and a count, so the std::function that
// parallel_for takes fits in its inline storage (no allocation per call).

/// Runs fn(r) for every row r of [0, rows), the rows split over the pool.
template <typename Fn>
void for_rows(ThreadPool& pool, int64_t rows, const Fn& fn) {
  pool.parallel_for(rows, [&fn](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  });
}

/// Runs fn(begin, end) over [0, n) in kElementBlock-aligned chunks.
template <typename Fn>
void for_elements(ThreadPool& pool, int64_t n, const Fn& fn) {
  const int64_t blocks = (n + kElementBlock - 1) / kElementBlock;
  pool.parallel_for(blocks, [n, &fn](int64_t begin, int64_t end) {
    fn(begin * kElementBlock, end * kElementBlock < n ? end * kElementBlock : n);
  });
}

enum class Path { scalar, avx2, avx512 };

Path current_path() {
#if defined(__x86_64__)
  const Isa isa = active_isa();
  if (isa >= Isa::avx512_vnni) return Path::avx512;
  if (isa >= Isa::avx2) return Path::avx2;
#endif
  return Path::scalar;
}

/// All-ones mask of the first `count` (< 16 or more) lanes.
inline __attribute__((always_inline)) uint32_t lane_mask(int64_t count) {
  return count >= 16 ? 0xFFFFu : (1u << count) - 1;
}

// --- RMSNorm: one row. Sum of squares in 16 double lanes, inv in double, y = float(x * inv) * w.

double rms_inv(double sq, int64_t d, double eps) {
  return 1 / std::sqrt(sq / static_cast<double>(d) + eps);
}

void rms_row_scalar(const float* x, int64_t d, const float* w, double eps, float* y) {
  double lanes[vmath::kSumLanes] = {};
  for (int64_t i = 0; i < d; ++i) {
    lanes[i % vmath::kSumLanes] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
  const double inv = rms_inv(vmath::fold_lanes(lanes), d, eps);
  for (int64_t i = 0; i < d; ++i) y[i] = static_cast<float>(x[i] * inv) * w[i];
}

// --- RoPE: one head of one row (dh / 2 = half). Products and sums rounded separately (no FMA
// contraction), as in the interpreter.

/// Pairs (i, i + half) for i in [begin, half).
void rope_pairs_scalar(float* v, int64_t begin, int64_t half, const float* c, const float* s) {
  for (int64_t i = begin; i < half; ++i) {
    const float x1 = v[i], x2 = v[i + half];
    const float a = x1 * c[i], b = x2 * s[i];
    const float e = x2 * c[i + half], f = x1 * s[i + half];
    v[i] = a - b;
    v[i + half] = e + f;
  }
}

void rope_head_scalar(float* v, int64_t half, const float* c, const float* s) {
  rope_pairs_scalar(v, 0, half, c, s);
}

// --- SwiGLU and add over [begin, end).

float silu_mul(float g, float u) { return g / (1 + vmath::exp_scalar(-g)) * u; }

void swiglu_scalar(const float* gate, const float* up, int64_t begin, int64_t end, float* out) {
  for (int64_t i = begin; i < end; ++i) out[i] = silu_mul(gate[i], up[i]);
}

void add_scalar(const float* a, const float* b, int64_t begin, int64_t end, float* out) {
  for (int64_t i = begin; i < end; ++i) out[i] = a[i] + b[i];
}

#if defined(__x86_64__)

DQC_TARGET_AVX2 void rms_row_avx2(const float* x, int64_t d, const float* w, double eps,
                                  float* y) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    const __m256d l0 = _mm256_cvtps_pd(_mm256_castps256_ps128(v0));
    const __m256d l1 = _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1));
    const __m256d l2 = _mm256_cvtps_pd(_mm256_castps256_ps128(v1));
    const __m256d l3 = _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1));
    // The products are exact in double, so fma(l, l, acc) rounds like acc + l * l.
    acc[0] = _mm256_fmadd_pd(l0, l0, acc[0]);
    acc[1] = _mm256_fmadd_pd(l1, l1, acc[1]);
    acc[2] = _mm256_fmadd_pd(l2, l2, acc[2]);
    acc[3] = _mm256_fmadd_pd(l3, l3, acc[3]);
  }
  double lanes[vmath::kSumLanes];
  for (int j = 0; j < 4; ++j) _mm256_storeu_pd(lanes + 4 * j, acc[j]);
  for (int64_t j = 0; i + j < d; ++j) {
    lanes[j] += static_cast<double>(x[i + j]) * static_cast<double>(x[i + j]);
  }
  const double inv_s = rms_inv(vmath::fold_lanes(lanes), d, eps);
  const __m256d inv = _mm256_set1_pd(inv_s);
  for (i = 0; i + 4 <= d; i += 4) {
    const __m128 n = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), inv));
    _mm_storeu_ps(y + i, _mm_mul_ps(n, _mm_loadu_ps(w + i)));
  }
  for (; i < d; ++i) y[i] = static_cast<float>(x[i] * inv_s) * w[i];
}

DQC_TARGET_AVX512 void rms_row_avx512(const float* x, int64_t d, const float* w, double eps,
                                      float* y) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < d; i += 16) {
    // Lanes past d load 0 and add +0 * 0: no change to their partial sums.
    const __m512 v = _mm512_maskz_loadu_ps(static_cast<__mmask16>(lane_mask(d - i)), x + i);
    const __m512d l = vmath::widen_lo(v), h = vmath::widen_hi(v);
    lo = _mm512_fmadd_pd(l, l, lo);
    hi = _mm512_fmadd_pd(h, h, hi);
  }
  double lanes[vmath::kSumLanes];
  _mm512_storeu_pd(lanes, lo);
  _mm512_storeu_pd(lanes + 8, hi);
  const __m512d inv = _mm512_set1_pd(rms_inv(vmath::fold_lanes(lanes), d, eps));
  for (int64_t i = 0; i < d; i += 8) {
    const int64_t left = d - i;
    const __mmask8 m = static_cast<__mmask8>(left >= 8 ? 0xFF : (1u << left) - 1);
    const __m256 n =
        _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i)), inv));
    _mm256_mask_storeu_ps(y + i, m, _mm256_mul_ps(n, _mm256_maskz_loadu_ps(m, w + i)));
  }
}

DQC_TARGET_AVX2 void rope_head_avx2(float* v, int64_t half, const float* c, const float* s) {
  int64_t i = 0;
  for (; i + 8 <= half; i += 8) {
    const __m256 x1 = _mm256_loadu_ps(v + i), x2 = _mm256_loadu_ps(v + i + half);
    const __m256 a = _mm256_mul_ps(x1, _mm256_loadu_ps(c + i));
    const __m256 b = _mm256_mul_ps(x2, _mm256_loadu_ps(s + i));
    const __m256 e = _mm256_mul_ps(x2, _mm256_loadu_ps(c + i + half));
    const __m256 f = _mm256_mul_ps(x1, _mm256_loadu_ps(s + i + half));
    _mm256_storeu_ps(v + i, _mm256_sub_ps(a, b));
    _mm256_storeu_ps(v + i + half, _mm256_add_ps(e, f));
  }
  rope_pairs_scalar(v, i, half, c, s);
}

DQC_TARGET_AVX512 void rope_head_avx512(float* v, int64_t half, const float* c, const float* s) {
  for (int64_t i = 0; i < half; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(lane_mask(half - i));
    const __m512 x1 = _mm512_maskz_loadu_ps(m, v + i), x2 = _mm512_maskz_loadu_ps(m, v + i + half);
    const __m512 a = _mm512_mul_ps(x1, _mm512_maskz_loadu_ps(m, c + i));
    const __m512 b = _mm512_mul_ps(x2, _mm512_maskz_loadu_ps(m, s + i));
    const __m512 e = _mm512_mul_ps(x2, _mm512_maskz_loadu_ps(m, c + i + half));
    const __m512 f = _mm512_mul_ps(x1, _mm512_maskz_loadu_ps(m, s + i + half));
    _mm512_mask_storeu_ps(v + i, m, _mm512_sub_ps(a, b));
    _mm512_mask_storeu_ps(v + i + half, m, _mm512_add_ps(e, f));
  }
}

DQC_TARGET_AVX2 void swiglu_avx2(const float* gate, const float* up, int64_t begin, int64_t end,
                                 float* out) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = vmath::exp_avx2(_mm256_xor_ps(g, sign));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  swiglu_scalar(gate, up, i, end, out);
}

DQC_TARGET_AVX512 void swiglu_avx512(const float* gate, const float* up, int64_t begin,
                                     int64_t end, float* out) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(lane_mask(end - i));
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = vmath::exp_avx512(
        _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(g), _mm512_set1_epi32(INT32_MIN))));
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

DQC_TARGET_AVX2 void add_avx2(const float* a, const float* b, int64_t begin, int64_t end,
                              float* out) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  }
  add_scalar(a, b, i, end, out);
}

DQC_TARGET_AVX512 void add_avx512(const float* a, const float* b, int64_t begin, int64_t end,
                                  float* out) {
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(lane_mask(end - i));
    _mm512_mask_storeu_ps(out + i, m,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

#endif  // __x86_64__

using RmsRow = void (*)(const float*, int64_t, const float*, double, float*);
using RopeHead = void (*)(float*, int64_t, const float*, const float*);
using Elementwise = void (*)(const float*, const float*, int64_t, int64_t, float*);

}  // namespace

bool embedding(ThreadPool& pool, const int64_t* ids, int64_t rows, const float* table,
               int64_t vocab, int64_t d, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    if (ids[r] < 0 || ids[r] >= vocab) return false;
  }
  for_rows(pool, rows, [=](int64_t r) {
    std::memcpy(out + r * d, table + ids[r] * d, static_cast<size_t>(d) * sizeof(float));
  });
  return true;
}

void rms_norm(ThreadPool& pool, const float* x, int64_t rows, int64_t d, const float* w, double eps,
              float* y) {
  RmsRow row = rms_row_scalar;
#if defined(__x86_64__)
  const Path path = current_path();
  if (path == Path::avx512) row = rms_row_avx512;
  if (path == Path::avx2) row = rms_row_avx2;
#endif
  for_rows(pool, rows, [=](int64_t r) { row(x + r * d, d, w, eps, y + r * d); });
}

void rope(ThreadPool& pool, float* x, int64_t rows, int64_t heads, int64_t dh, int64_t ldx,
          const float* cos, const float* sin, int64_t seq) {
  RopeHead head = rope_head_scalar;
#if defined(__x86_64__)
  const Path path = current_path();
  if (path == Path::avx512) head = rope_head_avx512;
  if (path == Path::avx2) head = rope_head_avx2;
#endif
  const int64_t half = dh / 2;
  for_rows(pool, rows, [=](int64_t r) {
    const float* c = cos + (r % seq) * dh;
    const float* s = sin + (r % seq) * dh;
    for (int64_t h = 0; h < heads; ++h) head(x + r * ldx + h * dh, half, c, s);
  });
}

namespace {

/// Runs an elementwise op over [0, n) in element blocks, on the active path's version.
void elementwise(ThreadPool& pool, Elementwise scalar_fn, Elementwise avx2_fn, Elementwise avx512_fn,
                 const float* a, const float* b, int64_t n, float* out) {
  Elementwise fn = scalar_fn;
  const Path path = current_path();
  if (path == Path::avx512) fn = avx512_fn;
  if (path == Path::avx2) fn = avx2_fn;
  for_elements(pool, n, [=](int64_t begin, int64_t end) { fn(a, b, begin, end, out); });
}

}  // namespace

void swiglu(ThreadPool& pool, const float* gate, const float* up, int64_t n, float* out) {
#if defined(__x86_64__)
  elementwise(pool, swiglu_scalar, swiglu_avx2, swiglu_avx512, gate, up, n, out);
#else
  elementwise(pool, swiglu_scalar, swiglu_scalar, swiglu_scalar, gate, up, n, out);
#endif
}

void add(ThreadPool& pool, const float* a, const float* b, int64_t n, float* out) {
#if defined(__x86_64__)
  elementwise(pool, add_scalar, add_avx2, add_avx512, a, b, n, out);
#else
  elementwise(pool, add_scalar, add_scalar, add_scalar, a, b, n, out);
#endif
}

}  // namespace dqc::rt
