// sgemm_scalar.cpp: the portable sgemm_packed path (the reference the vector paths match bit for
// bit: std::fma is the fused multiply-add they use).
#include <cmath>

#include "sgemm_paths.h"

namespace dqc::rt::detail {
namespace {

constexpr int kRows = 4;  // rows per tile

void tile(const SgemmArgs& a, int64_t r0, int mr, int64_t p0, int np, int64_t k0, int64_t k1) {
  for (int64_t p = p0; p < p0 + np; ++p) {
    const int64_t c0 = p * kF32PanelN;
    const int64_t channels = a.n - c0 < kF32PanelN ? a.n - c0 : kF32PanelN;
    const float* panel = a.w + p * a.k * kF32PanelN;
    float acc[kRows][kF32PanelN] = {};
    if (k0 > 0) {
      for (int r = 0; r < mr; ++r) {
        for (int64_t i = 0; i < channels; ++i) acc[r][i] = a.y[(r0 + r) * a.ldy + c0 + i];
      }
    }
    for (int64_t col = k0; col < k1; ++col) {
      const float* w = panel + col * kF32PanelN;
      for (int r = 0; r < mr; ++r) {
        const float x = a.x[(r0 + r) * a.ldx + col];
        for (int i = 0; i < kF32PanelN; ++i) acc[r][i] = std::fma(x, w[i], acc[r][i]);
      }
    }
    const bool last = k1 == a.k;
    for (int r = 0; r < mr; ++r) {
      float* y = a.y + (r0 + r) * a.ldy + c0;
      for (int64_t i = 0; i < channels; ++i) {
        y[i] = last && a.bias != nullptr ? acc[r][i] + a.bias[c0 + i] : acc[r][i];
      }
    }
  }
}

}  // namespace

SgemmPath sgemm_path_scalar() { return {kRows, 1, tile}; }

}  // namespace dqc::rt::detail
