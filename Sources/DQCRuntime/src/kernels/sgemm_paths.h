// sgemm_paths.h: what each instruction-set path of sgemm_packed provides to the driver
// (sgemm_packed.cpp), and the single-threaded entry point other kernels use.
//
// A path computes output tiles: up to `mr` rows by up to `np` panels of 16 channels, over a
// range [k0, k1) of the columns. Every output element gets the same arithmetic on every path
// and tiling: one float accumulator, acc = fma(x[r, k], W[c, k], acc) for k ascending, starting
// from 0 (k0 == 0) or from the partial sum the previous range left in y, then `+ bias` once the
// range ends at K. So all paths, tilings and thread counts agree bit for bit.
#ifndef DQC_RUNTIME_SGEMM_PATHS_H
#define DQC_RUNTIME_SGEMM_PATHS_H

#include "kernels.h"

// The bias add stays a separate rounding.
#include "exact_arithmetic.h"

namespace dqc::rt::detail {

/// One sgemm_packed call's operands, shared by its tiles.
struct SgemmArgs {
  const float* x;
  int64_t ldx;
  const float* w;  // layout 3
  int64_t n, k;
  const float* bias;  // [n] or null
  float* y;
  int64_t ldy;
};

/// Writes (k1 == K) or leaves partial sums in (k1 < K) y for rows [r0, r0 + mr), panels
/// [p0, p0 + np) and columns [k0, k1); mr and np at most the path's. k0 == k1 == 0 is valid
/// (K == 0: y = bias or 0).
using SgemmTile = void (*)(const SgemmArgs& a, int64_t r0, int mr, int64_t p0, int np, int64_t k0,
                           int64_t k1);

struct SgemmPath {
  int mr;  // rows per tile
  int np;  // panels per tile
  SgemmTile tile;
};

SgemmPath sgemm_path_scalar();
#if defined(__x86_64__)
SgemmPath sgemm_path_avx2();
SgemmPath sgemm_path_avx512();
#endif

/// sgemm_packed's result, computed on the calling thread alone (for kernels such as attention
/// that spread coarser work over the pool).
void sgemm_packed_serial(const float* x, int64_t rows, int64_t k, int64_t ldx,
                         const float* w_packed, int64_t n, const float* bias, float* y,
                         int64_t ldy);

}  // namespace dqc::rt::detail

#endif
