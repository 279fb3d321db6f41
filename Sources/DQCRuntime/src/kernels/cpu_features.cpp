// cpu_features.cpp: which kernel path runs (detected once, capped by DQC_ISA or by tests).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace dqc::rt {
namespace {

Isa detect() {
#if defined(__x86_64__)
  // __builtin_cpu_supports also checks that the OS saves the wider registers.
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
    return Isa::avx512_vnni;
  }
  if (avx2 && __builtin_cpu_supports("avxvnni")) return Isa::avx2_vnni;
  if (avx2) return Isa::avx2;
#endif
  return Isa::scalar;
}

Isa lower(Isa a, Isa b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

/// `DQC_ISA`'s cap on the detected path; an unknown or missing value caps nothing.
Isa from_environment(Isa detected) {
  const char* value = std::getenv("DQC_ISA");
  if (value == nullptr) return detected;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx2_vnni, Isa::avx512_vnni}) {
    if (std::strcmp(value, isa_name(isa)) == 0) return lower(isa, detected);
  }
  return detected;
}

/// The active path, -1 until first asked for.
std::atomic<int> active{-1};

}  // namespace

Isa detected_isa() {
  static const Isa detected = detect();
  return detected;
}

Isa active_isa() {
  int value = active.load(std::memory_order_relaxed);
  if (value < 0) {
    int unset = -1;
    const int initial = static_cast<int>(from_environment(detected_isa()));
    value = active.compare_exchange_strong(unset, initial) ? initial : unset;
  }
  return static_cast<Isa>(value);
}

void set_active_isa(Isa isa) {
  active.store(static_cast<int>(lower(isa, detected_isa())), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::avx2:
      return "avx2";
    case Isa::avx2_vnni:
      return "avx2-vnni";
    case Isa::avx512_vnni:
      return "avx512-vnni";
  }
  return "unknown";
}

}  // namespace dqc::rt
