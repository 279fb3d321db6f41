// sgemm_avx2.cpp: the AVX2 + FMA sgemm_packed path.
//
// A tile is up to 6 rows by 1 panel (16 channels, two ymm halves): 12 ymm accumulators, two
// weight vectors and a broadcast fill the 16 registers. y and the bias go through masked loads
// and stores, so a last panel with fewer than 16 channels touches only those.
#if defined(__x86_64__)

#include <immintrin.h>

#include <utility>

#include "sgemm_paths.h"

#define DQC_AVX2 __attribute__((target("avx2,fma")))

namespace dqc::rt::detail {
namespace {

constexpr int kRows = 6;

/// Lane masks for the first `channels` of 8 floats.
DQC_AVX2 inline __m256i lane_mask(int64_t channels) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(channels)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int MR>
DQC_AVX2 void tile(const SgemmArgs& a, int64_t r0, int64_t p, int64_t k0, int64_t k1) {
  const float* x = a.x + r0 * a.ldx;
  const int64_t ldx = a.ldx;
  const int64_t c0 = p * kF32PanelN;
  const int64_t channels = a.n - c0 < kF32PanelN ? a.n - c0 : kF32PanelN;
  const float* panel = a.w + p * a.k * kF32PanelN;
  float* y = a.y + r0 * a.ldy + c0;
  const __m256i mask[2] = {lane_mask(channels), lane_mask(channels - 8)};

  __m256 acc[MR][2];
  DQC_UNROLL
  for (int i = 0; i < MR; ++i) {
    for (int h = 0; h < 2; ++h) {
      acc[i][h] = k0 == 0 ? _mm256_setzero_ps()
                          : _mm256_maskload_ps(y + i * a.ldy + 8 * h, mask[h]);
    }
  }
  for (int64_t col = k0; col < k1; ++col) {
    const __m256 w0 = _mm256_loadu_ps(panel + col * kF32PanelN);
    const __m256 w1 = _mm256_loadu_ps(panel + col * kF32PanelN + 8);
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_broadcast_ss(x + i * ldx + col);
      acc[i][0] = _mm256_fmadd_ps(xv, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(xv, w1, acc[i][1]);
    }
  }

  const bool add_bias = k1 == a.k && a.bias != nullptr;
  for (int h = 0; h < 2; ++h) {
    const __m256 bias =
        add_bias ? _mm256_maskload_ps(a.bias + c0 + 8 * h, mask[h]) : _mm256_setzero_ps();
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m256 v = add_bias ? _mm256_add_ps(acc[i][h], bias) : acc[i][h];
      _mm256_maskstore_ps(y + i * a.ldy + 8 * h, mask[h], v);
    }
  }
}

using TileFn = void (*)(const SgemmArgs&, int64_t, int64_t, int64_t, int64_t);

template <size_t... I>
constexpr TileFn tile_for_rows(int mr, std::index_sequence<I...>) {
  constexpr TileFn fns[] = {&tile<static_cast<int>(I) + 1>...};
  return fns[mr - 1];
}

void run(const SgemmArgs& a, int64_t r0, int mr, int64_t p0, int np, int64_t k0, int64_t k1) {
  const TileFn fn = tile_for_rows(mr, std::make_index_sequence<kRows>());
  for (int64_t p = p0; p < p0 + np; ++p) fn(a, r0, p, k0, k1);
}

}  // namespace

SgemmPath sgemm_path_avx2() { return {kRows, 1, run}; }

}  // namespace dqc::rt::detail

#endif
