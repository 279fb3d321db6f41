// sampler.cpp: the sequence starts as prompt + mask × gen_length; the answer is decoded block by
// block, each block given steps / blocks steps. At each step every masked position of the
// current block gets the argmax of its logits and that token's softmax probability (in double);
// the k most confident are committed (ties to the lower position), k from LLaDA's linear
// schedule. Only the block's masked rows get logits (the output layer runs on them alone), and a
// step whose block has no masked position left skips the model: it could commit nothing. Random remasking scores candidates with SplitMix64 draws instead, in the same order
// as the interpreter draws them.
#include "sampler.h"

#include <algorithm>
#include <string>
#include <vector>

namespace dqc::rt {
namespace {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double unit() { return double(next() >> 11) / double(uint64_t(1) << 53); }
};

struct Candidate {
  int64_t position;
  int64_t token;
  double score;
};

}  // namespace

Status generate(Backend& session, const int64_t* prompt, int64_t prompt_length,
                const dqc_sampler_options& o, int64_t* out) {
  const Plan& plan = session.bundle().plan;
  if (prompt == nullptr || out == nullptr) return fail(DQC_ERROR_ARGUMENT, "generate: null prompt or output");
  if (o.gen_length <= 0 || o.steps <= 0 || o.block_length <= 0)
    return fail(DQC_ERROR_ARGUMENT, "generate: steps, gen length and block length must be positive");
  if (o.gen_length % o.block_length != 0)
    return fail(DQC_ERROR_ARGUMENT, "generate: gen length " + std::to_string(o.gen_length) + " must be a multiple of block length " + std::to_string(o.block_length));
  const int64_t blocks = o.gen_length / o.block_length;
  if (o.steps % blocks != 0)
    return fail(DQC_ERROR_ARGUMENT, "generate: steps " + std::to_string(o.steps) + " must be a multiple of the number of blocks " + std::to_string(blocks));
  if (plan.mask_token < 0) return fail(DQC_ERROR_UNSUPPORTED, "generate: the bundle names no mask token");
  if (o.remasking != DQC_REMASK_LOW_CONFIDENCE && o.remasking != DQC_REMASK_RANDOM)
    return fail(DQC_ERROR_ARGUMENT, "generate: unknown remasking " + std::to_string(int(o.remasking)));
  const int64_t length = prompt_length + o.gen_length;
  if (prompt_length < 0 || length > plan.seq_len)
    return fail(DQC_ERROR_ARGUMENT, "generate: prompt " + std::to_string(prompt_length) + " + answer " + std::to_string(o.gen_length) + " tokens exceed the plan's " + std::to_string(plan.seq_len));
  const int64_t mask = plan.mask_token;
  std::vector<int64_t> x(prompt, prompt + prompt_length);
  x.resize(size_t(length), mask);
  std::vector<int64_t> tokens;
  std::vector<double> confidence;
  SplitMix64 rng{o.remasking == DQC_REMASK_RANDOM ? o.seed : 0};
  const int64_t steps_per_block = o.steps / blocks;
  for (int64_t block = 0; block < blocks; block++) {
    const int64_t start = prompt_length + block * o.block_length, end = start + o.block_length;
    int64_t masked = 0;
    for (int64_t p = start; p < end; p++) masked += x[size_t(p)] == mask;
    for (int64_t step = 0; step < steps_per_block; step++) {
      const int64_t commit = masked / steps_per_block + (step < masked % steps_per_block ? 1 : 0);
      // Only the masked positions of the current block can be committed; the model's output
      // layer runs on those rows alone.
      std::vector<int64_t> rows;
      for (int64_t p = start; p < end; p++) {
        if (x[size_t(p)] == mask) rows.push_back(p);
      }
      std::vector<Candidate> candidates;
      if (!rows.empty()) {
        tokens.resize(rows.size());
        confidence.resize(rows.size());
        Status s = session.best_tokens(x.data(), length, rows.data(), int64_t(rows.size()), tokens.data(),
                                       confidence.data());
        if (!s.is_ok()) return s;
      }
      for (size_t j = 0; j < rows.size(); j++) {
        const double score = o.remasking == DQC_REMASK_RANDOM ? rng.unit() : confidence[j];
        candidates.push_back({rows[j], tokens[j], score});
      }
      std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        return a.score > b.score || (a.score == b.score && a.position < b.position);
      });
      for (int64_t c = 0; c < commit && c < int64_t(candidates.size()); c++)
        x[size_t(candidates[size_t(c)].position)] = candidates[size_t(c)].token;
    }
  }
  std::copy(x.begin(), x.end(), out);
  return Status::ok();
}

}  // namespace dqc::rt
