// vec_math.h: the kernels' f32 exp and the fixed-order double lane sums, on every path
// (internal to the kernel sources; C++17).
//
// exp: one algorithm, written three times (scalar, AVX2, AVX-512) with the same IEEE operations
// in the same order, so the three give identical bits for every input:
//   x clamped to [-104, 89] (a NaN stays NaN);
//   t = x * log2(e) + 1.5 * 2^23, n = t - 1.5 * 2^23  (n = round_half_even(x * log2 e), in float);
//   r = fma(n, -ln2_hi, x) (exact), r = fma(n, -ln2_lo, r);
//   P = Horner over Cephes' expf coefficients c5..c0 with fma; y = fma(P, r * r, r) + 1;
//   exp = (y * 2^(n >> 1)) * 2^(n - (n >> 1))  (the first product exact, so one rounding, also
//   into the subnormal range and to +inf above FLT_MAX; AVX-512's scalef(y, n) rounds the same
//   exact y * 2^n once, so it gives the same bits).
// Max error 1.013 ulp against float64 exp, measured over every float with |x| < 110 (all others
// saturate; kernel_tests checks <= 2 ulp over a dense sweep and the specials); -inf -> 0, +inf -> +inf, large -> +inf, very negative -> 0 (through the
// subnormals), NaN -> NaN (the scalar path returns x + x; the vector paths let the NaN run
// through the arithmetic, so only its payload could differ between paths).
//
// Lane sums: `kSumLanes` double partial sums, element i added to lane i % 16 in ascending i, then
// folded by `fold_lanes` (lane j += lane j + h for h = 8, 4, 2, 1); the vector paths keep the lanes
// in registers but add the same values to each in the same order, so all paths agree bit for bit.
//
// Everything here is compiled without -m flags: the vector functions carry target attributes
// and must only be called after a run-time check of active_isa() (and from functions with the
// same target, so that they inline).
#ifndef DQC_RUNTIME_VEC_MATH_H
#define DQC_RUNTIME_VEC_MATH_H

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The algorithms count their roundings.
#include "exact_arithmetic.h"

#define DQC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define DQC_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

namespace dqc::rt::vmath {

constexpr float kExpLo = -104.0f;  // exp(-104) < 2^-150: rounds to 0
constexpr float kExpHi = 89.0f;    // exp(89) > FLT_MAX: rounds to +inf
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23
constexpr float kLn2Hi = 0.693147182464599609375f;  // float(ln 2)
constexpr float kLn2Lo = -1.9046542121259336e-09f;   // float(ln 2 - kLn2Hi)
// Cephes expf: exp(r) ~ 1 + r + r^2 * (c0 + c1 r + ... + c5 r^5) on |r| <= ln(2) / 2.
constexpr float kC0 = 5.0000001201e-1f;
constexpr float kC1 = 1.6666665459e-1f;
constexpr float kC2 = 4.1665795894e-2f;
constexpr float kC3 = 8.3334519073e-3f;
constexpr float kC4 = 1.3981999507e-3f;
constexpr float kC5 = 1.9875691500e-4f;

inline int32_t float_bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}
inline float bits_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

inline float exp_scalar(float x) {
  if (x != x) return x + x;
  x = x < kExpLo ? kExpLo : x;
  x = x > kExpHi ? kExpHi : x;
  const float t = x * kLog2e + kRoundMagic;
  const float n = t - kRoundMagic;
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float p = std::fma(kC5, r, kC4);
  p = std::fma(p, r, kC3);
  p = std::fma(p, r, kC2);
  p = std::fma(p, r, kC1);
  p = std::fma(p, r, kC0);
  const float y = std::fma(p, r * r, r) + 1.0f;
  const int32_t ni = float_bits(t) - float_bits(kRoundMagic);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  return (y * bits_float((n1 + 127) << 23)) * bits_float((n2 + 127) << 23);
}

/// k / levels for an integer k in [0, levels], levels = 2^bits - 1 with bits <= kMaxExactBits,
/// without a division: q = k * inv, then one Markstein correction (inv = float(1 / levels)).
/// Equal to the correctly rounded k / levels for every such k and levels (kernel_tests checks
/// all of them); the vector paths do the same three operations.
constexpr int kMaxExactBits = 24;
inline float div_levels(float k, float levels, float inv) {
  const float q = k * inv;
  return std::fma(std::fma(-q, levels, k), inv, q);
}

/// Folds 16 partial sums into one: lane j += lane j + h for h = 8, 4, 2, 1; returns lane 0.
inline double fold_lanes(double* lanes) {
  for (int h = 8; h >= 1; h /= 2) {
    for (int j = 0; j < h; ++j) lanes[j] += lanes[j + h];
  }
  return lanes[0];
}
constexpr int kSumLanes = 16;

#if defined(__x86_64__)

DQC_TARGET_AVX2 inline __m256 exp_avx2(__m256 x) {
  // max/min return their second operand when one is NaN: a NaN x stays NaN to the end.
  x = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
  const __m256 magic = _mm256_set1_ps(kRoundMagic);
  const __m256 t = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), magic);
  const __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kC5), r, _mm256_set1_ps(kC4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC0));
  const __m256 y =
      _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

DQC_TARGET_AVX512 inline __m512 exp_avx512(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
  const __m512 magic = _mm512_set1_ps(kRoundMagic);
  const __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), magic),
                                 magic);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Hi), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Lo), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kC5), r, _mm512_set1_ps(kC4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC0));
  const __m512 y =
      _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  // scalef: y * 2^n rounded once, the same value as the two exact-then-rounded products.
  return _mm512_scalef_ps(y, n);
}

/// The low and high 8 floats of v widened to doubles.
DQC_TARGET_AVX512 inline __m512d widen_lo(__m512 v) {
  return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}
DQC_TARGET_AVX512 inline __m512d widen_hi(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

#endif  // __x86_64__

/// y[i] = exp(x[i]) for i < n on each path (for tests and elementwise users).
inline void exp_array_scalar(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_scalar(x[i]);
}
#if defined(__x86_64__)
DQC_TARGET_AVX2 inline void exp_array_avx2(const float* x, int64_t n, float* y) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_avx2(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = exp_scalar(x[i]);
}
DQC_TARGET_AVX512 inline void exp_array_avx512(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, exp_avx512(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
#endif

}  // namespace dqc::rt::vmath

#endif
