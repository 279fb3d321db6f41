// qgemm_paths.h: what each instruction-set path of qgemm provides to the driver (qgemm.cpp).
//
// A path computes whole output tiles: up to `mr` rows by up to `np` panels of 16 channels, over
// all of K. Each output element gets the same arithmetic on every path (exact int32 group sums,
// then per group `acc += scale * float(sum - zero * xsum)` as a rounded multiply and a rounded
// add, then `xs * acc`, then `+ bias`), so all paths and tilings agree bit for bit.
#ifndef DQC_RUNTIME_QGEMM_PATHS_H
#define DQC_RUNTIME_QGEMM_PATHS_H

#include "kernels.h"

// The group-end multiply and add stay separate roundings.
#include "exact_arithmetic.h"

namespace dqc::rt::detail {

/// One qgemm call's operands, shared by its tiles.
struct QgemmArgs {
  const int8_t* xq;
  int64_t ldq;
  const float* xs;
  const int32_t* xsum;
  const QWeight* w;
  float* y;
  int64_t ldy;
  int64_t groups;    // w.k / w.group
  int64_t k_blocks;  // 64-byte blocks per panel: ceil(K / 8) for bits 4, ceil(K / 4) for bits 8
};

/// Optional: copies panels [p0, p0 + np) into `scratch` in the form the path's staged tiles read
/// (e.g. 4-bit codes unpacked to bytes), once per panel block for all of its row tiles, and
/// returns where those tiles are to read them. `scratch` is 64-byte aligned and holds np panels
/// of one byte per code (16 * 8 * ceil(K / 8) bytes each).
using QgemmStage = const uint8_t* (*)(const QgemmArgs& a, int64_t p0, int np, uint8_t* scratch);

/// Writes y for rows [r0, r0 + mr) and panels [p0, p0 + np); mr and np at most the path's.
/// `panels`: the packed weight at panel p0 (a path's `tile`), or what its stage returned for the
/// block (its `staged_tile`).
using QgemmTile = void (*)(const QgemmArgs& a, const uint8_t* panels, int64_t r0, int mr,
                           int64_t p0, int np);

struct QgemmPath {
  int mr;  // rows per tile
  int np;  // panels per tile
  QgemmTile tile;         // reads the packed weight
  QgemmStage stage;       // or null: always `tile`
  QgemmTile staged_tile;  // reads what `stage` wrote; used for panel blocks of many row tiles
};

QgemmPath qgemm_path_scalar(int bits);
#if defined(__x86_64__)
QgemmPath qgemm_path_avx2(int bits);
QgemmPath qgemm_path_avx2_vnni(int bits);
QgemmPath qgemm_path_avx512_vnni(int bits);
#endif

}  // namespace dqc::rt::detail

#endif
