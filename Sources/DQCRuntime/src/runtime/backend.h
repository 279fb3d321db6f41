// backend.h: what a session runs on. The CPU back end (session.h) and the CUDA back end
// (cuda_session.h) both execute a bundle's plan; the sampler and the C API see only this.
#ifndef DQC_RUNTIME_BACKEND_H
#define DQC_RUNTIME_BACKEND_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bundle_image.h"
#include "plan.h"
#include "status.h"

namespace dqc::rt {

/// A verified bundle and its decoded plan.
struct LoadedBundle {
  BundleImage image;
  Plan plan;
};

class Backend {
 public:
  explicit Backend(const LoadedBundle& bundle) : bundle_(bundle) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  /// One forward pass over `count` ids; logits are count x vocab. With `selected` (`n_selected`
  /// distinct positions < count), only those rows' logits are written, in that order.
  virtual Status forward(const int64_t* ids, int64_t count, float* logits,
                         const int64_t* selected = nullptr, int64_t n_selected = 0) = 0;

  /// The sampler's step: a forward pass, then for each of the `n` rows in `rows` the argmax
  /// token (the lowest id among equal maxima; NaNs never win) and its softmax probability
  /// 1 / sum_v exp(l_v - max), in double. The default computes them on the host from
  /// `forward`'s logits.
  virtual Status best_tokens(const int64_t* ids, int64_t count, const int64_t* rows, int64_t n,
                             int64_t* tokens, double* confidence);

  /// What the session runs on ("avx512-vnni", "cuda: NVIDIA H100 (sm_90)", ...).
  virtual const char* device_name() const = 0;
  /// Bytes of the activation arena.
  virtual size_t arena_bytes() const = 0;
  const LoadedBundle& bundle() const { return bundle_; }

 protected:
  /// Checks `n` selected rows: 1 to `count` of them, each in [0, count).
  static Status check_rows(const int64_t* rows, int64_t n, int64_t count);

  const LoadedBundle& bundle_;

 private:
  std::vector<float> row_logits_;  // best_tokens' logits
};

}  // namespace dqc::rt

#endif
