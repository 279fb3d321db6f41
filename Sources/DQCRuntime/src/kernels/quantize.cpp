// quantize.cpp: per-row symmetric activation quantization ahead of qgemm.
//
// The vector path does the same IEEE operations as the scalar one (a true division and
// round-half-even), so both give identical codes.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dqc::rt {
namespace {

struct QuantizeArgs {
  const float* x;
  int64_t k, ldx, group;
  float qmax;
  int8_t* xq;
  int64_t ldq;
  float* xs;
  int32_t* xsum;
};

float row_scale(float amax, float qmax) { return amax > 0 ? amax / qmax : 1.0f; }

int32_t quantize_value(float x, float s, float qmax) {
  return static_cast<int32_t>(std::min(std::max(std::nearbyint(x / s), -qmax), qmax));
}

void quantize_row_scalar(const QuantizeArgs& a, int64_t r) {
  const float* x = a.x + r * a.ldx;
  float amax = 0;
  for (int64_t c = 0; c < a.k; ++c) amax = std::max(amax, std::fabs(x[c]));
  const float s = row_scale(amax, a.qmax);
  int8_t* q = a.xq + r * a.ldq;
  const int64_t groups = a.k / a.group;
  for (int64_t g = 0; g < groups; ++g) {
    int32_t sum = 0;
    for (int64_t c = g * a.group; c < (g + 1) * a.group; ++c) {
      const int32_t v = quantize_value(x[c], s, a.qmax);
      q[c] = static_cast<int8_t>(v);
      sum += v;
    }
    a.xsum[r * groups + g] = sum;
  }
  std::memset(q + a.k, 0, static_cast<size_t>(a.ldq - a.k));
  a.xs[r] = s;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void quantize_row_avx2(const QuantizeArgs& a, int64_t r) {
  const float* x = a.x + r * a.ldx;
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 vmax = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= a.k; c += 8)
    vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + c)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float amax = 0;
  for (float lane : lanes) amax = std::max(amax, lane);
  for (; c < a.k; ++c) amax = std::max(amax, std::fabs(x[c]));
  const float s = row_scale(amax, a.qmax);

  const __m256 vs = _mm256_set1_ps(s), hi = _mm256_set1_ps(a.qmax), lo = _mm256_set1_ps(-a.qmax);
  int8_t* q = a.xq + r * a.ldq;
  const int64_t groups = a.k / a.group;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t end = (g + 1) * a.group;
    __m256i vsum = _mm256_setzero_si256();
    for (c = g * a.group; c + 8 <= end; c += 8) {
      const __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + c), vs),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m256i i = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
      vsum = _mm256_add_epi32(vsum, i);
      // Narrow 8 int32 to 8 int8 (the values fit, so the saturating packs are exact); each
      // 128-bit lane ends up with its four values in its low 4 bytes.
      const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i, i), _mm256_setzero_si256());
      const __m128i both =
          _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(q + c), both);
    }
    alignas(32) int32_t sums[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums), vsum);
    int32_t sum = 0;
    for (int32_t part : sums) sum += part;
    for (; c < end; ++c) {
      const int32_t v = quantize_value(x[c], s, a.qmax);
      q[c] = static_cast<int8_t>(v);
      sum += v;
    }
    a.xsum[r * groups + g] = sum;
  }
  std::memset(q + a.k, 0, static_cast<size_t>(a.ldq - a.k));
  a.xs[r] = s;
}
#endif

}  // namespace

void quantize_rows(ThreadPool& pool, const float* x, int64_t rows, int64_t k, int64_t ldx, int bits,
                   int64_t group, int8_t* xq, int64_t ldq, float* xs, int32_t* xsum) {
  const QuantizeArgs args{x,  k,   ldx, group, static_cast<float>((1 << (bits - 1)) - 1),
                          xq, ldq, xs,  xsum};
  void (*row_fn)(const QuantizeArgs&, int64_t) = quantize_row_scalar;
#if defined(__x86_64__)
  if (active_isa() >= Isa::avx2) row_fn = quantize_row_avx2;
#endif
  pool.parallel_for(rows, [&args, row_fn](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_fn(args, r);
  });
}

}  // namespace dqc::rt
