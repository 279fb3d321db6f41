// qgemm_avx512.cpp: the AVX-512 VNNI qgemm path.
//
// Tiles read layout 2 (q8-n16k4): a 64-byte block of a panel is [16 channels x 4 columns] of u8
// codes, exactly vpdpbusd's layout (codes times the row's 4 s8 activations broadcast to every
// lane). 8-bit weights are read as packed. 4-bit ones are staged: each panel block's nibbles are
// unpacked to bytes once, into the work unit's scratch, and read from there (L1/L2) by all its
// row tiles; a block of a few row tiles unpacks them in registers instead. A tile is up to 8 rows
// by 2 panels (32 channels): 16 zmm int32 accumulators, each a row times 16 channels (more rows
// make clang spill inside the inner loop).
#if defined(__x86_64__)

#include <immintrin.h>

#include <cstring>
#include <utility>

#include "qgemm_paths.h"

#define DQC_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace dqc::rt::detail {
namespace {

constexpr int kRows = 8;
constexpr int kPanels = 2;

/// Four activation bytes broadcast to every 32-bit lane.
DQC_AVX512 inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

/// Unpacks layout-1 panels [p0, p0 + np) to layout 2: each 64-byte block (8 columns) becomes
/// its low nibbles (columns 8b..8b+3) then its high ones (8b+4..8b+7).
DQC_AVX512 const uint8_t* stage_q4(const QgemmArgs& a, int64_t p0, int np, uint8_t* scratch) {
  const uint8_t* src = a.w->packed + p0 * a.k_blocks * 64;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < np * a.k_blocks; ++b) {
    const __m512i raw = _mm512_loadu_si512(src + b * 64);
    _mm512_store_si512(scratch + b * 128, _mm512_and_si512(raw, low4));
    _mm512_store_si512(scratch + b * 128 + 64, _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4));
  }
  return scratch;
}

/// LAYOUT 2: the panels are layout 2 (8-bit weights, or 4-bit ones staged); LAYOUT 1: they are
/// layout 1, unpacked in registers block by block (cheaper than staging for a few row tiles).
template <int MR, int NP, int LAYOUT>
DQC_AVX512 void tile(const QgemmArgs& a, const uint8_t* panels, int64_t r0, int64_t p0) {
  const QWeight& w = *a.w;
  const int8_t* x[MR];
  DQC_UNROLL
  for (int i = 0; i < MR; ++i) x[i] = a.xq + (r0 + i) * a.ldq;
  const int64_t blocks_per_group = w.group / 4;  // 4-column blocks of layout 2
  const int64_t panel_bytes = a.k_blocks * 64 * (LAYOUT == 2 && w.bits == 4 ? 2 : 1);
  // xsum in [-128 * group, 127 * group] fits int16 for groups up to 256: then vpmaddwd of the
  // int16 pairs (-zero, 0) and (xsum, its sign bits) starts the accumulators at -zero * xsum in one instruction
  // (vpmulld is two, and the subtraction a third).
  const bool short_groups = w.group <= 256;
  const uint8_t* panel[NP];
  DQC_UNROLL
  for (int j = 0; j < NP; ++j) panel[j] = panels + j * panel_bytes;

  __m512 out[MR][NP];
  DQC_UNROLL
  for (int i = 0; i < MR; ++i) {
    DQC_UNROLL
    for (int j = 0; j < NP; ++j) out[i][j] = _mm512_setzero_ps();
  }
  for (int64_t g = 0; g < a.groups; ++g) {
    __m512 scale[NP];
    __m512i zero[NP];
    DQC_UNROLL
    for (int j = 0; j < NP; ++j) {
      const int64_t params = ((p0 + j) * a.groups + g) * kQ4PanelN;
      scale[j] = _mm512_loadu_ps(w.scale_panel + params);
      zero[j] = _mm512_loadu_si512(w.zero_panel + params);
    }
    __m512i acc[MR][NP];
    if (short_groups) {
      __m512i neg_zero[NP];
      DQC_UNROLL
      for (int j = 0; j < NP; ++j) {
        neg_zero[j] = _mm512_and_si512(_mm512_sub_epi32(_mm512_setzero_si512(), zero[j]),
                                       _mm512_set1_epi32(0xFFFF));
      }
      DQC_UNROLL
      for (int i = 0; i < MR; ++i) {
        const __m512i xsum = _mm512_set1_epi32(a.xsum[(r0 + i) * a.groups + g]);
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) {
          acc[i][j] = _mm512_madd_epi16(neg_zero[j], xsum);
        }
      }
    } else {
      DQC_UNROLL
      for (int i = 0; i < MR; ++i) {
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_si512();
      }
    }
    if constexpr (LAYOUT == 1) {
      const __m512i low4 = _mm512_set1_epi8(0x0F);
      for (int64_t b = g * blocks_per_group / 2; b < (g + 1) * blocks_per_group / 2; ++b) {
        __m512i raw[NP], code[NP];
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) {
          raw[j] = _mm512_loadu_si512(panel[j] + b * 64);
          code[j] = _mm512_and_si512(raw[j], low4);  // columns 8b .. 8b+3
        }
        DQC_UNROLL
        for (int i = 0; i < MR; ++i) {
          const __m512i xv = broadcast4(x[i] + b * 8);
          DQC_UNROLL
          for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], code[j], xv);
        }
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) {
          code[j] = _mm512_and_si512(_mm512_srli_epi16(raw[j], 4), low4);  // 8b+4 .. 8b+7
        }
        DQC_UNROLL
        for (int i = 0; i < MR; ++i) {
          const __m512i xv = broadcast4(x[i] + b * 8 + 4);
          DQC_UNROLL
          for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], code[j], xv);
        }
      }
    } else {
      for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
        __m512i code[NP];
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) code[j] = _mm512_loadu_si512(panel[j] + b * 64);
        DQC_UNROLL
        for (int i = 0; i < MR; ++i) {
          const __m512i xv = broadcast4(x[i] + b * 4);
          DQC_UNROLL
          for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], code[j], xv);
        }
      }
    }
    // Group end: out += scale * float(acc - zero * xsum).
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512i xsum = _mm512_set1_epi32(a.xsum[(r0 + i) * a.groups + g]);
      DQC_UNROLL
      for (int j = 0; j < NP; ++j) {
        const __m512i sum = short_groups
                                ? acc[i][j]
                                : _mm512_sub_epi32(acc[i][j], _mm512_mullo_epi32(zero[j], xsum));
        out[i][j] = _mm512_add_ps(out[i][j], _mm512_mul_ps(scale[j], _mm512_cvtepi32_ps(sum)));
      }
    }
  }

  DQC_UNROLL
  for (int j = 0; j < NP; ++j) {
    const int64_t c0 = (p0 + j) * kQ4PanelN;
    const int64_t channels = w.n - c0 < kQ4PanelN ? w.n - c0 : kQ4PanelN;
    const __mmask16 mask = static_cast<__mmask16>((1u << channels) - 1);
    const __m512 bias =
        w.bias != nullptr ? _mm512_maskz_loadu_ps(mask, w.bias + c0) : _mm512_setzero_ps();
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      __m512 v = _mm512_mul_ps(_mm512_set1_ps(a.xs[r0 + i]), out[i][j]);
      if (w.bias != nullptr) v = _mm512_add_ps(v, bias);
      _mm512_mask_storeu_ps(a.y + (r0 + i) * a.ldy + c0, mask, v);
    }
  }
}

using TileFn = void (*)(const QgemmArgs&, const uint8_t*, int64_t, int64_t);

template <int NP, int LAYOUT, size_t... I>
constexpr TileFn tile_for_rows(int mr, std::index_sequence<I...>) {
  constexpr TileFn fns[] = {&tile<static_cast<int>(I) + 1, NP, LAYOUT>...};
  return fns[mr - 1];
}

template <int LAYOUT>
void run(const QgemmArgs& a, const uint8_t* panels, int64_t r0, int mr, int64_t p0, int np) {
  const auto rows = std::make_index_sequence<kRows>();
  const TileFn fn =
      np == 2 ? tile_for_rows<2, LAYOUT>(mr, rows) : tile_for_rows<1, LAYOUT>(mr, rows);
  fn(a, panels, r0, p0);
}

}  // namespace

QgemmPath qgemm_path_avx512_vnni(int bits) {
  if (bits == 4) return {kRows, kPanels, run<1>, stage_q4, run<2>};
  return {kRows, kPanels, run<2>, nullptr, nullptr};
}

}  // namespace dqc::rt::detail

#endif
