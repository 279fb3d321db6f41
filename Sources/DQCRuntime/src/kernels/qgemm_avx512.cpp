// qgemm_avx512.cpp: the AVX-512 VNNI qgemm path.
//
// A tile is up to 8 rows by 2 panels (32 channels): 16 zmm int32 accumulators, each a row
// times 16 channels (more rows make clang spill inside the inner loop). One 64-byte block of a
// 4-bit panel holds [16 channels x 4 columns] twice (low and high nibbles), exactly vpdpbusd's
// layout: u8 codes times the row's 4 s8 activations broadcast to every lane. 8-bit panels need no
// unpacking.
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

template <int MR, int NP, int BITS>
DQC_AVX512 void tile(const QgemmArgs& a, int64_t r0, int64_t p0) {
  const QWeight& w = *a.w;
  const int8_t* x = a.xq + r0 * a.ldq;
  const int64_t ldq = a.ldq;
  constexpr int64_t block_k = BITS == 4 ? kQ4BlockK : kQ8BlockK;
  const int64_t blocks_per_group = w.group / block_k;
  const uint8_t* panel[NP];
  DQC_UNROLL
  for (int j = 0; j < NP; ++j) panel[j] = w.packed + (p0 + j) * a.k_blocks * 64;
  const __m512i low4 = _mm512_set1_epi8(0x0F);

  __m512 out[MR][NP];
  DQC_UNROLL
  for (int i = 0; i < MR; ++i) {
    DQC_UNROLL
    for (int j = 0; j < NP; ++j) out[i][j] = _mm512_setzero_ps();
  }
  for (int64_t g = 0; g < a.groups; ++g) {
    __m512i acc[MR][NP];
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      DQC_UNROLL
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_si512();
    }
    for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
      const int8_t* xb = x + b * block_k;
      __m512i code[NP];
      if constexpr (BITS == 4) {
        __m512i raw[NP];
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) {
          raw[j] = _mm512_loadu_si512(panel[j] + b * 64);
          code[j] = _mm512_and_si512(raw[j], low4);  // columns 8b .. 8b+3
        }
        DQC_UNROLL
        for (int i = 0; i < MR; ++i) {
          const __m512i xv = broadcast4(xb + i * ldq);
          DQC_UNROLL
          for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], code[j], xv);
        }
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) {
          code[j] = _mm512_and_si512(_mm512_srli_epi16(raw[j], 4), low4);  // 8b+4 .. 8b+7
        }
        DQC_UNROLL
        for (int i = 0; i < MR; ++i) {
          const __m512i xv = broadcast4(xb + i * ldq + 4);
          DQC_UNROLL
          for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], code[j], xv);
        }
      } else {
        DQC_UNROLL
        for (int j = 0; j < NP; ++j) code[j] = _mm512_loadu_si512(panel[j] + b * 64);
        DQC_UNROLL
        for (int i = 0; i < MR; ++i) {
          const __m512i xv = broadcast4(xb + i * ldq);
          DQC_UNROLL
          for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], code[j], xv);
        }
      }
    }
    // Group end: out += scale * float(acc - zero * xsum).
    __m512 scale[NP];
    __m512i zero[NP];
    DQC_UNROLL
    for (int j = 0; j < NP; ++j) {
      const int64_t params = ((p0 + j) * a.groups + g) * kQ4PanelN;
      scale[j] = _mm512_loadu_ps(w.scale_panel + params);
      zero[j] = _mm512_loadu_si512(w.zero_panel + params);
    }
    DQC_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512i xsum = _mm512_set1_epi32(a.xsum[(r0 + i) * a.groups + g]);
      DQC_UNROLL
      for (int j = 0; j < NP; ++j) {
        const __m512i sum = _mm512_sub_epi32(acc[i][j], _mm512_mullo_epi32(zero[j], xsum));
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

using TileFn = void (*)(const QgemmArgs&, int64_t, int64_t);

template <int BITS, int NP, size_t... I>
constexpr TileFn tile_for_rows(int mr, std::index_sequence<I...>) {
  constexpr TileFn fns[] = {&tile<static_cast<int>(I) + 1, NP, BITS>...};
  return fns[mr - 1];
}

template <int BITS>
void run(const QgemmArgs& a, int64_t r0, int mr, int64_t p0, int np) {
  const auto rows = std::make_index_sequence<kRows>();
  const TileFn fn = np == 2 ? tile_for_rows<BITS, 2>(mr, rows) : tile_for_rows<BITS, 1>(mr, rows);
  fn(a, r0, p0);
}

}  // namespace

QgemmPath qgemm_path_avx512_vnni(int bits) { return {kRows, kPanels, bits == 4 ? run<4> : run<8>}; }

}  // namespace dqc::rt::detail

#endif
