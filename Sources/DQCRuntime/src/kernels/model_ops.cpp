// model_ops.cpp: the elementwise and per-row model ops (embedding, RMSNorm, RoPE, SwiGLU, add),
// each a plain loop in the interpreter's order of operations.
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace dqc::rt {
namespace {

/// Elementwise ops hand out blocks of this many elements, so that short vectors stay on the
/// calling thread.
constexpr int64_t kElementBlock = 16384;

// The helpers below capture only references and a count, so the std::function that
// parallel_for takes fits in its inline storage (no allocation per call).

/// Runs fn(r) for every row r of [0, rows), the rows split over the pool.
template <typename Fn>
void for_rows(ThreadPool& pool, int64_t rows, const Fn& fn) {
  pool.parallel_for(rows, [&fn](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  });
}

/// Runs fn(begin, end) over [0, n) in kElementBlock-aligned chunks.
template <typename Fn>
void for_elements(ThreadPool& pool, int64_t n, const Fn& fn) {
  const int64_t blocks = (n + kElementBlock - 1) / kElementBlock;
  pool.parallel_for(blocks, [n, &fn](int64_t begin, int64_t end) {
    fn(begin * kElementBlock, end * kElementBlock < n ? end * kElementBlock : n);
  });
}

}  // namespace

bool embedding(ThreadPool& pool, const int64_t* ids, int64_t rows, const float* table,
               int64_t vocab, int64_t d, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    if (ids[r] < 0 || ids[r] >= vocab) return false;
  }
  for_rows(pool, rows, [=](int64_t r) {
    std::memcpy(out + r * d, table + ids[r] * d, static_cast<size_t>(d) * sizeof(float));
  });
  return true;
}

void rms_norm(ThreadPool& pool, const float* x, int64_t rows, int64_t d, const float* w, double eps,
              float* y) {
  for_rows(pool, rows, [=](int64_t r) {
    const float* xr = x + r * d;
    double sq = 0;
    for (int64_t i = 0; i < d; ++i) sq += static_cast<double>(xr[i]) * xr[i];
    const double inv = 1 / std::sqrt(sq / static_cast<double>(d) + eps);
    for (int64_t i = 0; i < d; ++i) y[r * d + i] = static_cast<float>(xr[i] * inv) * w[i];
  });
}

void rope(ThreadPool& pool, float* x, int64_t rows, int64_t heads, int64_t dh, int64_t ldx,
          const float* cos, const float* sin, int64_t seq) {
  const int64_t half = dh / 2;
  for_rows(pool, rows, [=](int64_t r) {
    const float* c = cos + (r % seq) * dh;
    const float* s = sin + (r % seq) * dh;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + r * ldx + h * dh;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = v[i], x2 = v[i + half];
        // Products and sums rounded separately (no FMA contraction), as in the interpreter.
        const float a = x1 * c[i], b = x2 * s[i];
        const float e = x2 * c[i + half], f = x1 * s[i + half];
        v[i] = a - b;
        v[i + half] = e + f;
      }
    }
  });
}

void swiglu(ThreadPool& pool, const float* gate, const float* up, int64_t n, float* out) {
  for_elements(pool, n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = gate[i];
      const float silu = g / (1 + std::exp(-g));
      out[i] = silu * up[i];
    }
  });
}

void add(ThreadPool& pool, const float* a, const float* b, int64_t n, float* out) {
  for_elements(pool, n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = a[i] + b[i];
  });
}

}  // namespace dqc::rt
