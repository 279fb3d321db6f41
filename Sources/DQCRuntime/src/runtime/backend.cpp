// backend.cpp: the host-side sampler step shared by back ends that have no device version.
#include "backend.h"

#include <cmath>

namespace dqc::rt {

Status Backend::check_rows(const int64_t* rows, int64_t n, int64_t count) {
  if (rows == nullptr) return fail(DQC_ERROR_ARGUMENT, "forward: null selected rows");
  if (n < 1 || n > count)
    return fail(DQC_ERROR_ARGUMENT, "forward: " + std::to_string(n) + " selected rows of " + std::to_string(count));
  for (int64_t j = 0; j < n; j++) {
    if (rows[j] < 0 || rows[j] >= count)
      return fail(DQC_ERROR_ARGUMENT, "forward: selected row " + std::to_string(rows[j]) + " is outside 0..<" + std::to_string(count));
  }
  return Status::ok();
}

Status Backend::best_tokens(const int64_t* ids, int64_t count, const int64_t* rows, int64_t n,
                            int64_t* tokens, double* confidence) {
  const int64_t vocab = bundle_.plan.vocab;
  try {
    row_logits_.resize(size_t(n * vocab));
  } catch (...) {
    return fail(DQC_ERROR_MEMORY, "cannot allocate logits for " + std::to_string(n) + " rows");
  }
  Status s = forward(ids, count, row_logits_.data(), rows, n);
  if (!s.is_ok()) return s;
  for (int64_t j = 0; j < n; j++) {
    const float* row = row_logits_.data() + j * vocab;
    int64_t best = 0;
    float best_value = -INFINITY;
    for (int64_t v = 0; v < vocab; v++) {
      if (row[v] > best_value) {
        best_value = row[v];
        best = v;
      }
    }
    double sum = 0;
    for (int64_t v = 0; v < vocab; v++) sum += std::exp(double(row[v]) - double(best_value));
    tokens[j] = best;
    confidence[j] = 1 / sum;
  }
  return Status::ok();
}

}  // namespace dqc::rt
