// cuda_session.h: the CUDA back end (docs/gpu.md). The bundle's `cuda-source` section is a
// self-contained translation unit (the kernel library and the model's launch code); the session
// compiles it once per GPU architecture with nvcc into a shared library (cached by digest), loads
// it, uploads the weights once and calls its entry points. The runtime links neither the CUDA
// driver nor the CUDA runtime: it probes for the driver with dlopen before anything else, so on a
// machine without a GPU the session fails at once with a one-line reason.
//
// With `emulate` (DQC_DEVICE_CUDA_EMULATOR, or DQC_CUDA_EMULATOR=1 in the environment) the same
// translation unit is compiled as C++ for the CPU emulator (cuda/emulator.cuh) instead: the whole
// path, from bundle to kernels, runs without a GPU.
#ifndef DQC_RUNTIME_CUDA_SESSION_H
#define DQC_RUNTIME_CUDA_SESSION_H

#include <memory>
#include <string>

#include "backend.h"

namespace dqc::rt {

class CudaSession final : public Backend {
 public:
  static Status create(const LoadedBundle& bundle, bool emulate, std::unique_ptr<CudaSession>* out);
  ~CudaSession() override;

  Status forward(const int64_t* ids, int64_t count, float* logits, const int64_t* selected = nullptr,
                 int64_t n_selected = 0) override;
  Status best_tokens(const int64_t* ids, int64_t count, const int64_t* rows, int64_t n, int64_t* tokens,
                     double* confidence) override;
  const char* device_name() const override { return device_.c_str(); }
  size_t arena_bytes() const override { return size_t(bundle_.plan.arena_bytes); }

 private:
  explicit CudaSession(const LoadedBundle& bundle) : Backend(bundle) {}

  using CreateFn = int (*)(const void* const*, const uint64_t*, int64_t, int, void**, char*, size_t);
  using DestroyFn = void (*)(void*);
  using DeviceFn = const char* (*)(void*);
  using ForwardFn = int (*)(void*, const int64_t*, int64_t, const int64_t*, int64_t, float*, char*, size_t);
  using BestFn = int (*)(void*, const int64_t*, int64_t, const int64_t*, int64_t, int64_t*, double*, char*,
                         size_t);

  void* library_ = nullptr;  // the compiled launch code (dlopen handle)
  void* model_ = nullptr;    // its model on the device
  DestroyFn destroy_ = nullptr;
  ForwardFn forward_ = nullptr;
  BestFn best_ = nullptr;
  std::string device_;
};

}  // namespace dqc::rt

#endif
