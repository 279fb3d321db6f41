// pack.cpp: weight layouts (row-major codes or floats <-> the panel layouts of kernels.h) and
// the scale/zero panels.
#include <cstring>

#include "kernels.h"

namespace dqc::rt {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Element `i` of a row-major array of 4-bit codes, two per byte, low nibble first.
uint8_t nibble_at(const uint8_t* codes, int64_t i) {
  return static_cast<uint8_t>((codes[i / 2] >> (4 * (i % 2))) & 0x0F);
}

static_assert(kQ4PanelN == kQ8PanelN, "both layouts share the panel width");

/// Byte offset of (channel c, column col) in layout 1 or 2, whose k-blocks hold `block_k`
/// columns; for layout 1 the column's nibble is the high one when col % 8 >= 4.
int64_t panel_offset(int64_t c, int64_t col, int64_t k, int64_t block_k) {
  const int64_t p = c / kQ4PanelN, b = col / block_k;
  return (p * ceil_div(k, block_k) + b) * 64 + (c % kQ4PanelN) * 4 + col % 4;
}

/// IEEE half-precision bits to float, exactly (subnormals, infinities and NaNs included).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // A subnormal, mantissa * 2^-24: shift its leading one into the implicit bit.
    exponent = 113;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

size_t q4_packed_size(int64_t n, int64_t k) {
  return static_cast<size_t>(ceil_div(n, kQ4PanelN) * ceil_div(k, kQ4BlockK) * 64);
}

size_t q8_packed_size(int64_t n, int64_t k) {
  return static_cast<size_t>(ceil_div(n, kQ8PanelN) * ceil_div(k, kQ8BlockK) * 64);
}

void q4_pack(const uint8_t* codes, int64_t n, int64_t k, bool signed_codes, uint8_t* out) {
  std::memset(out, 0, q4_packed_size(n, k));
  // Flipping the sign bit of an i4 nibble adds 8 modulo 16.
  const uint8_t flip = signed_codes ? 0x8 : 0;
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t col = 0; col < k; ++col) {
      const uint8_t code = nibble_at(codes, c * k + col) ^ flip;
      const int shift = col % kQ4BlockK >= 4 ? 4 : 0;
      out[panel_offset(c, col, k, kQ4BlockK)] |= static_cast<uint8_t>(code << shift);
    }
  }
}

void q4_unpack(const uint8_t* packed, int64_t n, int64_t k, bool signed_codes, uint8_t* codes) {
  std::memset(codes, 0, static_cast<size_t>(ceil_div(n * k, 2)));
  const uint8_t flip = signed_codes ? 0x8 : 0;
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t col = 0; col < k; ++col) {
      const int shift = col % kQ4BlockK >= 4 ? 4 : 0;
      const uint8_t code = ((packed[panel_offset(c, col, k, kQ4BlockK)] >> shift) & 0x0F) ^ flip;
      const int64_t i = c * k + col;
      codes[i / 2] |= static_cast<uint8_t>(code << (4 * (i % 2)));
    }
  }
}

void q8_pack(const uint8_t* codes, int64_t n, int64_t k, bool signed_codes, uint8_t* out) {
  std::memset(out, 0, q8_packed_size(n, k));
  // Flipping the sign bit of an i8 adds 128 modulo 256.
  const uint8_t flip = signed_codes ? 0x80 : 0;
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t col = 0; col < k; ++col) {
      out[panel_offset(c, col, k, kQ8BlockK)] = codes[c * k + col] ^ flip;
    }
  }
}

void q8_unpack(const uint8_t* packed, int64_t n, int64_t k, bool signed_codes, uint8_t* codes) {
  const uint8_t flip = signed_codes ? 0x80 : 0;
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t col = 0; col < k; ++col) {
      codes[c * k + col] = packed[panel_offset(c, col, k, kQ8BlockK)] ^ flip;
    }
  }
}

size_t f32_packed_size(int64_t n, int64_t k) {
  return static_cast<size_t>(ceil_div(n, kF32PanelN) * kF32PanelN * k) * sizeof(float);
}

void f32_pack(const float* w, int64_t n, int64_t k, float* out) {
  if (k <= 0) return;  // an empty image
  std::memset(out, 0, f32_packed_size(n, k));
  for (int64_t c = 0; c < n; ++c) {
    float* panel = out + c / kF32PanelN * k * kF32PanelN + c % kF32PanelN;
    for (int64_t col = 0; col < k; ++col) panel[col * kF32PanelN] = w[c * k + col];
  }
}

void f32_unpack(const float* packed, int64_t n, int64_t k, float* w) {
  if (k <= 0) return;
  for (int64_t c = 0; c < n; ++c) {
    const float* panel = packed + c / kF32PanelN * k * kF32PanelN + c % kF32PanelN;
    for (int64_t col = 0; col < k; ++col) w[c * k + col] = panel[col * kF32PanelN];
  }
}

size_t qparams_panel_size(int64_t n, int64_t groups) {
  return static_cast<size_t>(ceil_div(n, kQ4PanelN) * groups * kQ4PanelN);
}

void build_qparams_panels(const void* scales, bool scales_are_f16, const uint8_t* zeros, int64_t n,
                          int64_t groups, int bits, float* scale_panel, int32_t* zero_panel) {
  const size_t size = qparams_panel_size(n, groups);
  std::memset(scale_panel, 0, size * sizeof(float));
  std::memset(zero_panel, 0, size * sizeof(int32_t));
  const int32_t symmetric_zero = 1 << (bits - 1);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t src = c * groups + g;
      const int64_t dst = ((c / kQ4PanelN) * groups + g) * kQ4PanelN + c % kQ4PanelN;
      if (scales_are_f16) {
        uint16_t h;
        std::memcpy(&h, static_cast<const uint8_t*>(scales) + src * 2, sizeof h);
        scale_panel[dst] = half_to_float(h);
      } else {
        std::memcpy(&scale_panel[dst], static_cast<const uint8_t*>(scales) + src * 4,
                    sizeof(float));
      }
      zero_panel[dst] = zeros != nullptr ? zeros[src] : symmetric_zero;
    }
  }
}

}  // namespace dqc::rt
