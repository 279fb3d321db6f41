// cuda_library.cpp: the CUDA kernel library's headers as text (dqc_cuda_library.h), embedded at
// build time with `#embed`, so the text is always the headers' own.
#include "dqc_cuda_library.h"

#pragma clang diagnostic ignored "-Wc23-extensions"

namespace {

const char kEmulator[] = {
#embed "../cuda/emulator.cuh"
    , 0};
const char kCommon[] = {
#embed "../cuda/common.cuh"
    , 0};
const char kNormQuantize[] = {
#embed "../cuda/norm_quantize.cuh"
    , 0};
const char kQgemm[] = {
#embed "../cuda/qgemm.cuh"
    , 0};
const char kSgemm[] = {
#embed "../cuda/sgemm.cuh"
    , 0};
const char kAttention[] = {
#embed "../cuda/attention.cuh"
    , 0};
const char kElementwise[] = {
#embed "../cuda/elementwise.cuh"
    , 0};
const char kSampler[] = {
#embed "../cuda/sampler.cuh"
    , 0};
const char kHost[] = {
#embed "../cuda/host.cuh"
    , 0};

struct Part {
  const char* name;
  const char* text;
};

// The order of dqc_cuda.cuh (the emulator first: it is empty unless DQC_CUDA_EMULATION), then
// the host entry points.
const Part kParts[] = {
    {"emulator.cuh", kEmulator},   {"common.cuh", kCommon},       {"norm_quantize.cuh", kNormQuantize},
    {"qgemm.cuh", kQgemm},         {"sgemm.cuh", kSgemm},
    {"attention.cuh", kAttention}, {"elementwise.cuh", kElementwise},
    {"sampler.cuh", kSampler},     {"host.cuh", kHost},
};

}  // namespace

extern "C" int dqc_cuda_library_part_count(void) { return int(sizeof kParts / sizeof kParts[0]); }

extern "C" const char* dqc_cuda_library_part(int index, const char** name) {
  if (index < 0 || index >= dqc_cuda_library_part_count()) return nullptr;
  if (name != nullptr) *name = kParts[index].name;
  return kParts[index].text;
}
