// qgemm_scalar.cpp: the portable qgemm path (the reference the vector paths match bit for bit).
#include "qgemm_paths.h"

namespace dqc::rt::detail {
namespace {

constexpr int kRows = 4;  // rows per tile

/// Adds one group's products xq[r, k] * code(c, k) for the panel's 16 channels into acc.
void accumulate_group(const QgemmArgs& a, const uint8_t* panel, const int8_t* x, int mr, int64_t g,
                      int32_t (&acc)[kRows][kQ4PanelN]) {
  const QWeight& w = *a.w;
  if (w.bits == 4) {
    for (int64_t b = g * w.group / kQ4BlockK; b < (g + 1) * w.group / kQ4BlockK; ++b) {
      const uint8_t* block = panel + b * 64;
      for (int j = 0; j < 64; ++j) {
        const int32_t low = block[j] & 0x0F, high = block[j] >> 4;
        const int64_t col = b * kQ4BlockK + j % 4;
        for (int r = 0; r < mr; ++r) {
          const int8_t* xr = x + r * a.ldq;
          acc[r][j / 4] += low * xr[col] + high * xr[col + 4];
        }
      }
    }
  } else {
    for (int64_t b = g * w.group / kQ8BlockK; b < (g + 1) * w.group / kQ8BlockK; ++b) {
      const uint8_t* block = panel + b * 64;
      for (int j = 0; j < 64; ++j) {
        const int64_t col = b * kQ8BlockK + j % 4;
        for (int r = 0; r < mr; ++r) acc[r][j / 4] += block[j] * x[r * a.ldq + col];
      }
    }
  }
}

void tile(const QgemmArgs& a, const uint8_t* panels, int64_t r0, int mr, int64_t p0, int np) {
  const QWeight& w = *a.w;
  const int8_t* x = a.xq + r0 * a.ldq;
  for (int64_t p = p0; p < p0 + np; ++p) {
    float out[kRows][kQ4PanelN] = {};
    for (int64_t g = 0; g < a.groups; ++g) {
      int32_t acc[kRows][kQ4PanelN] = {};
      accumulate_group(a, panels + (p - p0) * a.k_blocks * 64, x, mr, g, acc);
      const int64_t params = (p * a.groups + g) * kQ4PanelN;
      for (int r = 0; r < mr; ++r) {
        const int32_t xsum = a.xsum[(r0 + r) * a.groups + g];
        for (int i = 0; i < kQ4PanelN; ++i) {
          // Separate statements keep the multiply and the add apart (no FMA contraction).
          const float term = w.scale_panel[params + i] *
                             static_cast<float>(acc[r][i] - w.zero_panel[params + i] * xsum);
          out[r][i] += term;
        }
      }
    }
    const int64_t channels = w.n - p * kQ4PanelN < kQ4PanelN ? w.n - p * kQ4PanelN : kQ4PanelN;
    for (int r = 0; r < mr; ++r) {
      float* y = a.y + (r0 + r) * a.ldy + p * kQ4PanelN;
      for (int64_t i = 0; i < channels; ++i) {
        const float scaled = a.xs[r0 + r] * out[r][i];
        y[i] = w.bias != nullptr ? scaled + w.bias[p * kQ4PanelN + i] : scaled;
      }
    }
  }
}

}  // namespace

QgemmPath qgemm_path_scalar(int) { return {kRows, 1, tile, nullptr, nullptr}; }

}  // namespace dqc::rt::detail
