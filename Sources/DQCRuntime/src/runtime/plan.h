// plan.h: the decoded and validated kernel plan of a bundle (docs/bundle-format.md, "plan").
#ifndef DQC_RUNTIME_PLAN_H
#define DQC_RUNTIME_PLAN_H

#include <cstdint>
#include <vector>

#include "bundle_image.h"
#include "dqc_bundle_format.h"
#include "status.h"

namespace dqc::rt {

/// An activation: the input ids or a matrix of `width` elements per row in the arena.
struct PlanValue {
  uint32_t kind = 0;     // DQC_PLAN_VALUE_INPUT or DQC_PLAN_VALUE_ARENA
  uint16_t element = 0;  // element code
  uint64_t offset = 0;   // byte offset in the arena
  int64_t width = 0;     // elements per row
};

/// An operand: absent, a value, or a tensor of the bundle.
struct PlanRef {
  uint32_t kind = DQC_PLAN_REF_NONE;
  uint32_t index = 0;
  bool present() const { return kind != DQC_PLAN_REF_NONE; }
};

struct PlanKernel {
  uint32_t op = 0;
  std::vector<PlanRef> operands;
  std::vector<uint32_t> results;
  int64_t ints[DQC_PLAN_MAX_INTS] = {};
  double floats[DQC_PLAN_MAX_FLOATS] = {};
};

struct Plan {
  std::vector<PlanValue> values;
  std::vector<PlanKernel> kernels;
  uint64_t arena_bytes = 0;
  int64_t batch = 1, seq_len = 0, mask_token = -1, vocab = 0;
  uint32_t input = 0, output = 0;

  /// Decodes the plan section and checks every reference, shape and arena range against the
  /// bundle's tensors and the kernels' needs.
  static Status decode(const BundleImage& bundle, Plan* out);
};

}  // namespace dqc::rt

#endif
