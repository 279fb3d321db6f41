// sampler.h: LLaDA's diffusion sampler over any back end (the interpreter's DiffusionSampler,
// Sources/DQCInterp/Sampling, step for step).
#ifndef DQC_RUNTIME_SAMPLER_H
#define DQC_RUNTIME_SAMPLER_H

#include "dqc_runtime.h"
#include "backend.h"

namespace dqc::rt {

Status generate(Backend& session, const int64_t* prompt, int64_t prompt_length,
                const dqc_sampler_options& options, int64_t* out);

}  // namespace dqc::rt

#endif
