// qgemm_avx2.cpp: the AVX2 qgemm path without VNNI (vpmaddubsw + vpmaddwd).
//
// Tiles and layouts as in qgemm_avx2_vnni.cpp. vpmaddubsw multiplies u8 codes by s8
// activations and adds adjacent pairs with int16 saturation; vpmaddwd by ones then adds the
// pairs of pairs into int32 lanes. With 4-bit codes (<= 15) and |x| <= 127 a pair is at most
// 3810, so the low- and high-nibble pairs can share one int16 sum (7620) without saturating.
// 8-bit codes would saturate (255 * 127 * 2 > 32767), so they are split into nibbles too:
// code * x = low * x + 16 * (high * x), the factor 16 applied by vpmaddwd in int32.
#if defined(__x86_64__)

#include <immintrin.h>

#include <cstring>
#include <utility>

#include "qgemm_paths.h"

#define DQC_AVX2 __attribute__((target("avx2,fma")))

namespace dqc::rt::detail {
namespace {

constexpr int kRows = 4;

/// Four activation bytes broadcast to every 32-bit lane.
DQC_AVX2 inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

/// Lane masks for the first `channels` of 8 floats.
DQC_AVX2 inline __m256i lane_mask(int64_t channels) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(channels)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int MR, int BITS>
DQC_AVX2 void tile(const QgemmArgs& a, const uint8_t* panel, int64_t r0, int64_t p) {
  const QWeight& w = *a.w;
  const int8_t* x = a.xq + r0 * a.ldq;
  const int64_t ldq = a.ldq;
  constexpr int64_t block_k = BITS == 4 ? kQ4BlockK : kQ8BlockK;
  const int64_t blocks_per_group = w.group / block_k;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i sixteens = _mm256_set1_epi16(16);

  __m256 out[MR][2];
  DQC_UNROLL
  for (int i = 0; i < MR; ++i) out[i][0] = out[i][1] = _mm256_setzero_ps();
  for (int64_t g = 0; g < a.groups; ++g) {
    __m256i acc[MR][2];
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
      const int8_t* xb = x + b * block_k;
      __m256i low[2], high[2];
      DQC_UNROLL
      for (int h = 0; h < 2; ++h) {
        const __m256i raw =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + b * 64 + 32 * h));
        low[h] = _mm256_and_si256(raw, low4);
        high[h] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
      }
      DQC_UNROLL
      for (int i = 0; i < MR; ++i) {
        if constexpr (BITS == 4) {
          // Low nibbles are columns 8b..8b+3, high nibbles 8b+4..8b+7.
          const __m256i x_low = broadcast4(xb + i * ldq), x_high = broadcast4(xb + i * ldq + 4);
          DQC_UNROLL
          for (int h = 0; h < 2; ++h) {
            const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(low[h], x_low),
                                                   _mm256_maddubs_epi16(high[h], x_high));
            acc[i][h] = _mm256_add_epi32(acc[i][h], _mm256_madd_epi16(pairs, ones));
          }
        } else {
          // Both nibbles of a byte are the same column.
          const __m256i xv = broadcast4(xb + i * ldq);
          DQC_UNROLL
          for (int h = 0; h < 2; ++h) {
            const __m256i sum =
                _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(low[h], xv), ones),
                                 _mm256_madd_epi16(_mm256_maddubs_epi16(high[h], xv), sixteens));
            acc[i][h] = _mm256_add_epi32(acc[i][h], sum);
          }
        }
      }
    }
    // Group end: out += scale * float(acc - zero * xsum).
    const int64_t params = (p * a.groups + g) * kQ4PanelN;
    DQC_UNROLL
    for (int h = 0; h < 2; ++h) {
      const __m256 scale = _mm256_loadu_ps(w.scale_panel + params + 8 * h);
      const __m256i zero =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.zero_panel + params + 8 * h));
      DQC_UNROLL
      for (int i = 0; i < MR; ++i) {
        const __m256i xsum = _mm256_set1_epi32(a.xsum[(r0 + i) * a.groups + g]);
        const __m256i sum = _mm256_sub_epi32(acc[i][h], _mm256_mullo_epi32(zero, xsum));
        out[i][h] = _mm256_add_ps(out[i][h], _mm256_mul_ps(scale, _mm256_cvtepi32_ps(sum)));
      }
    }
  }

  DQC_UNROLL
  for (int h = 0; h < 2; ++h) {
    const int64_t c0 = p * kQ4PanelN + 8 * h;
    if (c0 >= w.n) break;
    const __m256i mask = lane_mask(w.n - c0);
    const __m256 bias =
        w.bias != nullptr ? _mm256_maskload_ps(w.bias + c0, mask) : _mm256_setzero_ps();
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      __m256 v = _mm256_mul_ps(_mm256_set1_ps(a.xs[r0 + i]), out[i][h]);
      if (w.bias != nullptr) v = _mm256_add_ps(v, bias);
      _mm256_maskstore_ps(a.y + (r0 + i) * a.ldy + c0, mask, v);
    }
  }
}

using TileFn = void (*)(const QgemmArgs&, const uint8_t*, int64_t, int64_t);

template <int BITS, size_t... I>
constexpr TileFn tile_for_rows(int mr, std::index_sequence<I...>) {
  constexpr TileFn fns[] = {&tile<static_cast<int>(I) + 1, BITS>...};
  return fns[mr - 1];
}

template <int BITS>
void run(const QgemmArgs& a, const uint8_t* panel, int64_t r0, int mr, int64_t p0, int) {
  tile_for_rows<BITS>(mr, std::make_index_sequence<kRows>())(a, panel, r0, p0);
}

}  // namespace

QgemmPath qgemm_path_avx2(int bits) { return {kRows, 1, bits == 4 ? run<4> : run<8>, nullptr, nullptr}; }

}  // namespace dqc::rt::detail

#endif
