// session.h: the CPU back end: a session that runs a bundle's plan on the CPU.
#ifndef DQC_RUNTIME_SESSION_H
#define DQC_RUNTIME_SESSION_H

#include <cstdint>
#include <memory>
#include <vector>

#include "../kernels/kernels.h"
#include "backend.h"

namespace dqc::rt {

/// The CPU back end: the arena, the weights prepared for the kernels, and a thread pool.
class CpuSession final : public Backend {
 public:
  static Status create(const LoadedBundle& bundle, int threads, std::unique_ptr<CpuSession>* out);

  /// One forward pass over `count` ids; logits are count x vocab. With `selected` (`n_selected`
  /// distinct positions < count), only those rows' logits are computed and written, in that
  /// order: the output layer (the LM head) then runs on those rows alone, with the same bits
  /// as in a full pass.
  Status forward(const int64_t* ids, int64_t count, float* logits,
                 const int64_t* selected = nullptr, int64_t n_selected = 0) override;
  const char* device_name() const override { return isa_name(active_isa()); }
  size_t arena_bytes() const override { return arena_size_; }

 private:
  explicit CpuSession(const LoadedBundle& bundle, int threads);

  /// Scale and zero panels of one qlinear kernel.
  struct PreparedWeight {
    std::vector<float> scales;
    std::vector<int32_t> zeros;
  };

  template <typename T>
  T* value(uint32_t index) const {
    return reinterpret_cast<T*>(arena_ + bundle_.plan.values[index].offset);
  }
  const TensorEntry& tensor(const PlanRef& ref) const { return bundle_.image.tensors()[ref.index]; }
  /// The packed weight of qlinear kernel `i`, with its prepared panels.
  QWeight qweight(size_t i) const;

  /// Below this many multiply-adds a forward pass runs on the calling thread alone.
  static constexpr double kParallelMacs = 64e6;

  ThreadPool pool_;
  ThreadPool serial_;
  double macs_per_row_ = 0;  // multiply-adds of the linear layers per token
  uint8_t* arena_ = nullptr;
  size_t arena_size_ = 0;
  std::vector<uint8_t> scratch_;
  std::vector<PreparedWeight> prepared_;  // by kernel index (empty for other kernels)
  bool profile_ = false;                   // DQC_PROFILE_KERNELS: time kernels by op
  std::vector<double> seconds_ = std::vector<double>(DQC_OP_ADD + 1, 0.0);
  int64_t passes_ = 0;
  size_t output_kernel_ = 0;         // the kernel that defines the plan's output
  std::vector<uint8_t> gathered_;    // the output kernel's input rows, for selected passes

 public:
  ~CpuSession() override;
};

}  // namespace dqc::rt

#endif
