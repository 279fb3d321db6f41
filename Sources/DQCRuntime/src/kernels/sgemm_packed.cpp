// sgemm_packed.cpp: the float linear layer's driver: picks the instruction-set path, cuts the
// output into units of work and spreads them over the pool.
//
// A unit is a block of rows by one path-width block of panels (np * 16 channels), over all of
// K. Inside it the columns go in blocks of kBlockK, and every row tile of the unit takes a block
// before the next one starts, so those columns of the unit's weights (32 KiB for 2 panels) are
// read from memory once and then from L1 by all the row tiles; the partial sums wait in y.
#include "kernels.h"
#include "sgemm_paths.h"

namespace dqc::rt {
namespace {

/// Columns per pass over a unit's row tiles.
constexpr int64_t kBlockK = 256;
/// Rows per unit at most: the unit's activations for one column block (256 KiB) stay in L2.
constexpr int64_t kBlockRows = 256;

detail::SgemmPath select_path(Isa isa) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::avx512_vnni:
      return detail::sgemm_path_avx512();
    case Isa::avx2_vnni:
    case Isa::avx2:
      return detail::sgemm_path_avx2();
#endif
    default:
      return detail::sgemm_path_scalar();
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The weights of panels [p0, p0 + np), columns [k0, k1): np runs of (k1 - k0) * 16 floats.
struct WeightBlock {
  int64_t p0 = 0, np = 0, k0 = 0, k1 = 0;
  int64_t lines() const { return np * (k1 - k0) * kF32PanelN * sizeof(float) / 64; }
};

/// Asks for lines [begin, end) of block b to be brought into the cache (L2), ahead of use.
void prefetch(const detail::SgemmArgs& a, const WeightBlock& b, int64_t begin, int64_t end) {
  if (begin >= end) return;
  const int64_t per_panel = (b.k1 - b.k0) * kF32PanelN * sizeof(float) / 64;
  // One division for the first line, then a walk (no division per line).
  int64_t in_panel = begin % per_panel;
  const float* panel = a.w + (b.p0 + begin / per_panel) * a.k * kF32PanelN + b.k0 * kF32PanelN;
  for (int64_t line = begin; line < end; ++line) {
    __builtin_prefetch(panel + in_panel * 16, 0, 2);
    if (++in_panel == per_panel) {
      in_panel = 0;
      panel += a.k * kF32PanelN;
    }
  }
}

/// Rows [r0, r1) by panels [p0, p0 + np) of `panels`. Rows are cut into near-equal tiles of at
/// most path.mr (so no tile is left with a few rows). While the tiles work on one column block
/// of weights, they prefetch the next one (this unit's next columns, else the first columns of
/// the next panel block), a slice each, so that no tile waits on memory for its weights.
void unit(const detail::SgemmPath& path, const detail::SgemmArgs& a, int64_t r0, int64_t r1,
          int64_t p0, int np, int64_t panels) {
  const int64_t tiles = ceil_div(r1 - r0, path.mr);
  int64_t k0 = 0;
  do {
    const int64_t k1 = a.k - k0 < kBlockK ? a.k : k0 + kBlockK;
    WeightBlock next{p0, np, k1, a.k - k1 < kBlockK ? a.k : k1 + kBlockK};
    if (k1 == a.k) {
      const int64_t p1 = p0 + np;
      next = {p1, panels - p1 < path.np ? panels - p1 : path.np, 0, a.k < kBlockK ? a.k : kBlockK};
    }
    const int64_t lines = next.np > 0 ? next.lines() : 0;
    for (int64_t t = 0; t < tiles; ++t) {
      prefetch(a, next, lines * t / tiles, lines * (t + 1) / tiles);
      const int64_t t0 = r0 + (r1 - r0) * t / tiles, t1 = r0 + (r1 - r0) * (t + 1) / tiles;
      path.tile(a, t0, static_cast<int>(t1 - t0), p0, np, k0, k1);
    }
    k0 = k1;
  } while (k0 < a.k);
}

/// The units' grid: near-equal row blocks by panel blocks, numbered row block fastest, so
/// that consecutive units (one thread's share) use the same weights.
struct Grid {
  detail::SgemmPath path;
  detail::SgemmArgs args;
  int64_t rows, panels, row_blocks, units;

  Grid(const detail::SgemmArgs& a, int64_t rows_)
      : path(select_path(active_isa())), args(a), rows(rows_) {
    panels = ceil_div(a.n, kF32PanelN);
    row_blocks = ceil_div(rows, kBlockRows);
    units = row_blocks * ceil_div(panels, path.np);
  }

  void run(int64_t u) const {
    const int64_t rb = u % row_blocks, p0 = u / row_blocks * path.np;
    const int np = static_cast<int>(panels - p0 < path.np ? panels - p0 : path.np);
    unit(path, args, rows * rb / row_blocks, rows * (rb + 1) / row_blocks, p0, np, panels);
  }
};

}  // namespace

void sgemm_packed(ThreadPool& pool, const float* x, int64_t rows, int64_t k, int64_t ldx,
                  const float* w_packed, int64_t n, const float* bias, float* y, int64_t ldy) {
  if (rows <= 0 || n <= 0) return;
  const Grid grid({x, ldx, w_packed, n, k, bias, y, ldy}, rows);
  pool.parallel_for(grid.units, [&grid](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) grid.run(u);
  });
}

namespace detail {

void sgemm_packed_serial(const float* x, int64_t rows, int64_t k, int64_t ldx,
                         const float* w_packed, int64_t n, const float* bias, float* y,
                         int64_t ldy) {
  if (rows <= 0 || n <= 0) return;
  const Grid grid({x, ldx, w_packed, n, k, bias, y, ldy}, rows);
  for (int64_t u = 0; u < grid.units; ++u) grid.run(u);
}

}  // namespace detail
}  // namespace dqc::rt
