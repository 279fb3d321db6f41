// step_bench.cpp: the time of one denoising step of a bundle's model on a back end, through the
// runtime's C API: a forward pass over TOKENS seeded random ids with every row's logits (what
// LLaDA's reference sampler computes per step), and the same pass with the logits of 32 rows
// only (what dqc's sampler asks for: the masked rows of the current block).
//
//   step_bench BUNDLE [cpu|cuda] [TOKENS] [RUNS]
//
// Prints the median and fastest of RUNS timed passes after two untimed ones and, on `cuda`, the
// device memory the session took (the driver's free memory before and after creating it, read
// through libcuda's cuMemGetInfo: weights, arena and scratch). Built by `make step`
// (Scripts/gpu_check.sh, for the bench model's step against PyTorch FP16).
// DQC_CUDA_EMULATOR=1 runs `cuda` on the CPU emulator (slow; for checking the program).
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "dqc_runtime.h"

namespace {

struct Timing {
  double median_ms, best_ms;
};

template <typename F>
Timing time_runs(int runs, F&& pass) {
  for (int i = 0; i < 2; i++) pass();
  std::vector<double> ms;
  for (int i = 0; i < runs; i++) {
    const auto start = std::chrono::steady_clock::now();
    pass();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

/// The driver's free device memory in bytes on GPU 0's primary context (the one the runtime's
/// launch code uses), or -1 when the driver cannot be asked.
int64_t free_device_bytes() {
  using Init = int (*)(unsigned);
  using DeviceGet = int (*)(int*, int);
  using Retain = int (*)(void**, int);
  using SetCurrent = int (*)(void*);
  using MemGetInfo = int (*)(size_t*, size_t*);
  static void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == nullptr) return -1;
  const auto init = reinterpret_cast<Init>(dlsym(driver, "cuInit"));
  const auto device_get = reinterpret_cast<DeviceGet>(dlsym(driver, "cuDeviceGet"));
  const auto retain = reinterpret_cast<Retain>(dlsym(driver, "cuDevicePrimaryCtxRetain"));
  const auto set_current = reinterpret_cast<SetCurrent>(dlsym(driver, "cuCtxSetCurrent"));
  const auto mem_get_info = reinterpret_cast<MemGetInfo>(dlsym(driver, "cuMemGetInfo_v2"));
  int device = 0;
  void* context = nullptr;
  size_t free = 0, total = 0;
  if (init == nullptr || device_get == nullptr || retain == nullptr || set_current == nullptr ||
      mem_get_info == nullptr || init(0) != 0 || device_get(&device, 0) != 0 ||
      retain(&context, device) != 0 || set_current(context) != 0 ||
      mem_get_info(&free, &total) != 0) {
    return -1;
  }
  return static_cast<int64_t>(free);
}

void check(dqc_status status, const char* what) {
  if (status != DQC_OK) {
    std::fprintf(stderr, "%s: %s\n", what, dqc_last_error());
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: step_bench BUNDLE [cpu|cuda] [TOKENS] [RUNS]\n");
    return 2;
  }
  const bool cuda = argc <= 2 || std::strcmp(argv[2], "cpu") != 0;
  dqc_bundle* bundle = nullptr;
  check(dqc_bundle_open(argv[1], &bundle), "bundle");
  const int64_t max_tokens = dqc_bundle_max_seq_len(bundle);
  const int64_t tokens = argc > 3 ? std::atoll(argv[3]) : std::min<int64_t>(256, max_tokens);
  const int runs = argc > 4 ? std::atoi(argv[4]) : 20;
  if (tokens < 32 || tokens > max_tokens || runs < 1) {
    std::fprintf(stderr, "step_bench: TOKENS must lie in [32, %lld] and RUNS be positive\n",
                 static_cast<long long>(max_tokens));
    return 2;
  }
  dqc_session_options options = {cuda ? DQC_DEVICE_CUDA : DQC_DEVICE_CPU, 0};
  const bool ask_driver = cuda && std::getenv("DQC_CUDA_EMULATOR") == nullptr;
  const int64_t free_before = ask_driver ? free_device_bytes() : -1;
  dqc_session* session = nullptr;
  check(dqc_session_create(bundle, &options, &session), "session");
  const int64_t free_after = free_before >= 0 ? free_device_bytes() : -1;
  const int64_t vocab = dqc_bundle_vocab_size(bundle);
  std::mt19937_64 rng(0);
  std::vector<int64_t> ids(static_cast<size_t>(tokens));
  for (int64_t& id : ids) id = static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab));
  std::vector<int64_t> rows(32);
  for (int64_t i = 0; i < 32; i++) rows[i] = tokens - 32 + i;  // the last block
  std::vector<float> logits(static_cast<size_t>(tokens * vocab));
  const Timing full = time_runs(runs, [&] {
    check(dqc_session_forward(session, ids.data(), tokens, logits.data()), "forward");
  });
  const Timing block = time_runs(runs, [&] {
    check(dqc_session_forward_rows(session, ids.data(), tokens, rows.data(), 32, logits.data()),
          "forward_rows");
  });
  std::printf("bundle %s on %s: %lld tokens, vocabulary %lld, %d runs\n", argv[1],
              dqc_session_isa(session), static_cast<long long>(tokens),
              static_cast<long long>(vocab), runs);
  std::printf("step with all logits:      median %.3f ms, best %.3f ms\n", full.median_ms,
              full.best_ms);
  std::printf("step with 32 rows' logits: median %.3f ms, best %.3f ms\n", block.median_ms,
              block.best_ms);
  if (free_before >= 0 && free_after >= 0) {
    std::printf("device memory the session took: %.1f MiB (cuMemGetInfo before and after)\n",
                static_cast<double>(free_before - free_after) / 1048576.0);
  }
  dqc_session_destroy(session);
  dqc_bundle_close(bundle);
  return 0;
}
