// qgemm.cpp: the quantized linear layer's driver: picks the instruction-set path and spreads
// its work over the pool.
#include <cstdlib>
#include <memory>

#include "kernels.h"
#include "qgemm_paths.h"

namespace dqc::rt {
namespace {

detail::QgemmPath select_path(Isa isa, int bits) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::avx512_vnni:
      return detail::qgemm_path_avx512_vnni(bits);
    case Isa::avx2_vnni:
      return detail::qgemm_path_avx2_vnni(bits);
    case Isa::avx2:
      return detail::qgemm_path_avx2(bits);
#endif
    default:
      return detail::qgemm_path_scalar(bits);
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Staging a panel block pays off from about this many row tiles (measured: AVX-512, 4-bit).
constexpr int64_t kStageRowTiles = 4;

}  // namespace

void qgemm(ThreadPool& pool, const int8_t* xq, int64_t ldq, const float* xs, const int32_t* xsum,
           int64_t rows, const QWeight& w, float* y, int64_t ldy) {
  if (rows <= 0 || w.n <= 0 || w.group <= 0) return;
  const int64_t block_k = w.bits == 4 ? kQ4BlockK : kQ8BlockK;
  const detail::QgemmArgs args{
      xq, ldq, xs, xsum, &w, y, ldy, w.k / w.group, ceil_div(w.k, block_k)};
  const detail::QgemmPath path = select_path(active_isa(), w.bits);

  // The work units are panel blocks of path.np panels by all rows (cut into near-equal tiles of
  // at most path.mr rows, so no tile is left with a few rows): a unit of enough row tiles stages
  // its panels once (where the path stages) and streams them, hot in L1/L2, past every row tile. Only when there are fewer panel blocks than threads are the rows cut into several
  // units too.
  const int64_t panels = ceil_div(w.n, kQ4PanelN);
  const int64_t row_tiles = ceil_div(rows, path.mr);
  const int64_t panel_blocks = ceil_div(panels, path.np);
  const int64_t want_units = ceil_div(pool.size(), panel_blocks);
  const int64_t row_units = want_units < row_tiles ? want_units : row_tiles;
  const size_t scratch_bytes = static_cast<size_t>(path.np * kQ4PanelN * 8 * ceil_div(w.k, 8));
  struct Job {
    const detail::QgemmArgs& args;
    detail::QgemmPath path;
    int64_t rows, panels, row_tiles, row_units;
    size_t scratch_bytes;
  } job{args, path, rows, panels, row_tiles, row_units, scratch_bytes};
  pool.parallel_for(panel_blocks * row_units, [&job](int64_t begin, int64_t end) {
    std::unique_ptr<uint8_t, decltype(&std::free)> scratch(nullptr, &std::free);
    const QWeight& w = *job.args.w;
    for (int64_t u = begin; u < end; ++u) {
      const int64_t p0 = u / job.row_units * job.path.np, ru = u % job.row_units;
      const int np = static_cast<int>(job.panels - p0 < job.path.np ? job.panels - p0 : job.path.np);
      const int64_t rt0 = job.row_tiles * ru / job.row_units;
      const int64_t rt1 = job.row_tiles * (ru + 1) / job.row_units;
      const bool stage = job.path.stage != nullptr && rt1 - rt0 >= kStageRowTiles;
      if (stage && scratch == nullptr) {
        scratch.reset(static_cast<uint8_t*>(std::aligned_alloc(64, job.scratch_bytes)));
      }
      const bool staged = stage && scratch != nullptr;  // (unstaged if out of memory)
      const uint8_t* panels = staged ? job.path.stage(job.args, p0, np, scratch.get())
                                     : w.packed + p0 * job.args.k_blocks * 64;
      const detail::QgemmTile tile = staged ? job.path.staged_tile : job.path.tile;
      // While this unit's row tiles run, the next unit's packed panels are prefetched into L2, a
      // slice after each tile: a weight larger than the caches (the head's) would otherwise
      // stall the first row tile of every unit on memory.
      const uint8_t* next = nullptr;
      int64_t next_bytes = 0;
      if (u + 1 < end && (u + 1) % job.row_units == 0) {
        const int64_t q0 = (u + 1) / job.row_units * job.path.np;
        const int64_t nq = job.panels - q0 < job.path.np ? job.panels - q0 : job.path.np;
        next = w.packed + q0 * job.args.k_blocks * 64;
        next_bytes = nq * job.args.k_blocks * 64;
      }
      for (int64_t rt = rt0; rt < rt1; ++rt) {
        const int64_t r0 = job.rows * rt / job.row_tiles;
        const int64_t r1 = job.rows * (rt + 1) / job.row_tiles;
        tile(job.args, panels, r0, static_cast<int>(r1 - r0), p0, np);
        if (next != nullptr) {
          const int64_t from = next_bytes * (rt - rt0) / (rt1 - rt0) / 64 * 64;
          const int64_t to = next_bytes * (rt + 1 - rt0) / (rt1 - rt0);
          for (int64_t b = from; b < to; b += 64) __builtin_prefetch(next + b, 0, 2);
        }
      }
    }
  });
}

}  // namespace dqc::rt
