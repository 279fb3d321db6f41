// sgemm_avx512.cpp: the AVX-512 sgemm_packed path.
//
// A tile is up to 12 rows by 2 panels (32 channels): 24 zmm accumulators, each a row times 16
// channels, so 24 independent FMA chains hide the FMA latency on both FMA ports. Per column the
// tile loads the panels' 16-channel vectors and broadcasts each row's x[r, k]: 2 loads and 12
// broadcasts feed 24 FMAs.
#if defined(__x86_64__)

#include <immintrin.h>

#include <array>
#include <utility>

#include "sgemm_paths.h"

#define DQC_AVX512 __attribute__((target("avx512f")))

namespace dqc::rt::detail {
namespace {

constexpr int kRows = 12;
constexpr int kPanels = 2;

template <int MR, int NP>
DQC_AVX512 void tile(const SgemmArgs& a, int64_t r0, int64_t p0, int64_t k0, int64_t k1) {
  const float* x = a.x + r0 * a.ldx;
  const int64_t ldx = a.ldx;
  const float* panel[NP];
  float* y[NP];
  __mmask16 mask[NP];
  DQC_UNROLL
  for (int j = 0; j < NP; ++j) {
    const int64_t c0 = (p0 + j) * kF32PanelN;
    const int64_t channels = a.n - c0 < kF32PanelN ? a.n - c0 : kF32PanelN;
    panel[j] = a.w + (p0 + j) * a.k * kF32PanelN;
    y[j] = a.y + r0 * a.ldy + c0;
    mask[j] = static_cast<__mmask16>((1u << channels) - 1);
  }

  __m512 acc[MR][NP];
  DQC_UNROLL
  for (int i = 0; i < MR; ++i) {
    DQC_UNROLL
    for (int j = 0; j < NP; ++j) {
      acc[i][j] = k0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[j], y[j] + i * a.ldy);
    }
  }
  for (int64_t col = k0; col < k1; ++col) {
    __m512 w[NP];
    DQC_UNROLL
    for (int j = 0; j < NP; ++j) w[j] = _mm512_loadu_ps(panel[j] + col * kF32PanelN);
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512 xv = _mm512_set1_ps(x[i * ldx + col]);
      DQC_UNROLL
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_fmadd_ps(xv, w[j], acc[i][j]);
    }
  }

  const bool add_bias = k1 == a.k && a.bias != nullptr;
  DQC_UNROLL
  for (int j = 0; j < NP; ++j) {
    const __m512 bias = add_bias ? _mm512_maskz_loadu_ps(mask[j], a.bias + (p0 + j) * kF32PanelN)
                                 : _mm512_setzero_ps();
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512 v = add_bias ? _mm512_add_ps(acc[i][j], bias) : acc[i][j];
      _mm512_mask_storeu_ps(y[j] + i * a.ldy, mask[j], v);
    }
  }
}

using TileFn = void (*)(const SgemmArgs&, int64_t, int64_t, int64_t, int64_t);
/// kTiles[np - 1][mr - 1] is tile<mr, np>.
template <int NP, size_t... I>
constexpr std::array<TileFn, kRows> tiles_for_rows(std::index_sequence<I...>) {
  return {&tile<static_cast<int>(I) + 1, NP>...};
}
template <size_t... P>
constexpr std::array<std::array<TileFn, kRows>, kPanels> all_tiles(std::index_sequence<P...>) {
  return {tiles_for_rows<static_cast<int>(P) + 1>(std::make_index_sequence<kRows>())...};
}
constexpr auto kTiles = all_tiles(std::make_index_sequence<kPanels>());

void run(const SgemmArgs& a, int64_t r0, int mr, int64_t p0, int np, int64_t k0, int64_t k1) {
  kTiles[np - 1][mr - 1](a, r0, p0, k0, k1);
}

}  // namespace

SgemmPath sgemm_path_avx512() { return {kRows, kPanels, run}; }

}  // namespace dqc::rt::detail

#endif
