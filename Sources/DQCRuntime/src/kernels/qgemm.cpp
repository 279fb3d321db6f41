// qgemm.cpp: the quantized linear layer's driver: picks the instruction-set path and spreads
// its output tiles over the pool.
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

}  // namespace

void qgemm(ThreadPool& pool, const int8_t* xq, int64_t ldq, const float* xs, const int32_t* xsum,
           int64_t rows, const QWeight& w, float* y, int64_t ldy) {
  if (rows <= 0 || w.n <= 0 || w.group <= 0) return;
  const int64_t block_k = w.bits == 4 ? kQ4BlockK : kQ8BlockK;
  const detail::QgemmArgs args{
      xq, ldq, xs, xsum, &w, y, ldy, w.k / w.group, ceil_div(w.k, block_k)};
  const detail::QgemmPath path = select_path(active_isa(), w.bits);

  // Rows are cut into near-equal blocks of at most path.mr (so no tile is left with a few rows);
  // panels into blocks of path.np. Tiles run panel block by panel block, so consecutive tiles
  // (one thread's share) reuse the same weights while they are hot in L1.
  const int64_t panels = ceil_div(w.n, kQ4PanelN);
  const int64_t row_tiles = ceil_div(rows, path.mr);
  const int64_t panel_tiles = ceil_div(panels, path.np);
  struct Job {
    const detail::QgemmArgs& args;
    detail::QgemmPath path;
    int64_t rows, panels, row_tiles;
  } job{args, path, rows, panels, row_tiles};
  pool.parallel_for(row_tiles * panel_tiles, [&job](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t rt = t % job.row_tiles, p0 = t / job.row_tiles * job.path.np;
      const int64_t r0 = job.rows * rt / job.row_tiles;
      const int64_t r1 = job.rows * (rt + 1) / job.row_tiles;
      const int64_t np = job.panels - p0 < job.path.np ? job.panels - p0 : job.path.np;
      job.path.tile(job.args, r0, static_cast<int>(r1 - r0), p0, static_cast<int>(np));
    }
  });
}

}  // namespace dqc::rt
