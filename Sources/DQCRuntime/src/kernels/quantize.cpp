// quantize.cpp: per-row symmetric activation quantization ahead of qgemm.
//
// The vector paths (AVX2, AVX-512) do the same IEEE operations as the scalar one (a true
// division and round-half-even), so all give identical codes.
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

#define DQC_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

DQC_AVX512 void quantize_row_avx512(const QuantizeArgs& a, int64_t r) {
  const float* x = a.x + r * a.ldx;
  auto mask_of = [](int64_t left) {
    return static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1);
  };
  const __m512i abs_bits = _mm512_set1_epi32(0x7FFFFFFF);
  __m512 vmax = _mm512_setzero_ps();
  for (int64_t c = 0; c < a.k; c += 16) {
    const __m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask_of(a.k - c), x + c));
    vmax = _mm512_max_ps(vmax, _mm512_castsi512_ps(_mm512_and_si512(v, abs_bits)));
  }
  const float s = row_scale(_mm512_reduce_max_ps(vmax), a.qmax);

  const __m512 vs = _mm512_set1_ps(s), hi = _mm512_set1_ps(a.qmax), lo = _mm512_set1_ps(-a.qmax);
  int8_t* q = a.xq + r * a.ldq;
  const int64_t groups = a.k / a.group;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t end = (g + 1) * a.group;
    __m512i vsum = _mm512_setzero_si512();
    for (int64_t c = g * a.group; c < end; c += 16) {
      const __mmask16 m = mask_of(end - c);
      // Lanes past the group load 0 and give code 0: they add nothing and are not stored.
      const __m512 v = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + c), vs),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i i = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi));
      vsum = _mm512_add_epi32(vsum, i);
      _mm_mask_storeu_epi8(q + c, m, _mm512_cvtepi32_epi8(i));
    }
    a.xsum[r * groups + g] = _mm512_reduce_add_epi32(vsum);
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
  if (active_isa() >= Isa::avx512_vnni) row_fn = quantize_row_avx512;
#endif
  pool.parallel_for(rows, [&args, row_fn](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_fn(args, r);
  });
}

}  // namespace dqc::rt
