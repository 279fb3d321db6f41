// e2e_check.cpp: a bundle on the CUDA back end against the CPU back end, through the runtime's C
// API: logits of prompts with half their answer committed (relative error, goal <= 1e-2),
// sampled answers (goal: identical), and the median time of a forward pass on each.
//
//   e2e_check BUNDLE PROBLEMS.jsonl [LIMIT]
//
// Built by `make e2e` (Scripts/gpu_check.sh). DQC_CUDA_EMULATOR=1 runs the CUDA side on the CPU
// emulator, which is how the program itself is checked without a GPU.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "dqc_runtime.h"

namespace {

struct Problem {
  std::vector<int64_t> prompt;
  int gen_length = 0;
};

/// The integers of the JSON array after `"key":` in `line` (the fixture's JSONL is that simple).
std::vector<int64_t> numbers_after(const std::string& line, const std::string& key) {
  std::vector<int64_t> out;
  size_t at = line.find("\"" + key + "\"");
  if (at == std::string::npos) return out;
  at = line.find_first_of("[0123456789", at + key.size() + 2);
  if (at == std::string::npos) return out;
  if (line[at] != '[') return {std::stoll(line.substr(at))};
  const size_t end = line.find(']', at);
  std::string body = line.substr(at + 1, end - at - 1);
  for (size_t i = 0; i < body.size();) {
    size_t next = body.find(',', i);
    if (next == std::string::npos) next = body.size();
    if (next > i) out.push_back(std::stoll(body.substr(i, next - i)));
    i = next + 1;
  }
  return out;
}

dqc_session* open_session(dqc_bundle* bundle, dqc_device device) {
  dqc_session_options options = {device, 0};
  dqc_session* session = nullptr;
  if (dqc_session_create(bundle, &options, &session) != DQC_OK) {
    std::fprintf(stderr, "session: %s\n", dqc_last_error());
    std::exit(2);
  }
  return session;
}

double median_forward_ms(dqc_session* s, const std::vector<int64_t>& ids, std::vector<float>& logits) {
  std::vector<double> times;
  for (int i = 0; i < 7; i++) {
    const auto start = std::chrono::steady_clock::now();
    dqc_session_forward(s, ids.data(), int64_t(ids.size()), logits.data());
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: e2e_check BUNDLE PROBLEMS.jsonl [LIMIT]\n");
    return 2;
  }
  const int limit = argc > 3 ? std::atoi(argv[3]) : 30;
  dqc_bundle* bundle = nullptr;
  if (dqc_bundle_open(argv[1], &bundle) != DQC_OK) {
    std::fprintf(stderr, "bundle: %s\n", dqc_last_error());
    return 2;
  }
  std::vector<Problem> problems;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line) && int(problems.size()) < limit;) {
    Problem p;
    p.prompt = numbers_after(line, "prompt_ids");
    const auto gen = numbers_after(line, "gen_length");
    if (p.prompt.empty() || gen.empty()) continue;
    p.gen_length = int(gen[0]);
    problems.push_back(p);
  }
  dqc_session* cpu = open_session(bundle, DQC_DEVICE_CPU);
  dqc_session* cuda = open_session(bundle, DQC_DEVICE_CUDA);
  std::printf("bundle %s: cpu %s, %s\n", argv[1], dqc_session_isa(cpu), dqc_session_isa(cuda));
  const int64_t vocab = dqc_bundle_vocab_size(bundle), mask = dqc_bundle_mask_token_id(bundle);
  double worst = 0;
  int same = 0;
  for (const Problem& p : problems) {
    std::vector<int64_t> ids = p.prompt;
    for (int i = 0; i < p.gen_length; i++) ids.push_back(i % 2 == 0 ? 42 % vocab : mask);
    std::vector<float> a(ids.size() * size_t(vocab)), b(a.size());
    if (dqc_session_forward(cpu, ids.data(), int64_t(ids.size()), a.data()) != DQC_OK ||
        dqc_session_forward(cuda, ids.data(), int64_t(ids.size()), b.data()) != DQC_OK) {
      std::fprintf(stderr, "forward: %s\n", dqc_last_error());
      return 2;
    }
    double squared = 0, reference = 0;
    for (size_t i = 0; i < a.size(); i++) {
      squared += double(a[i] - b[i]) * double(a[i] - b[i]);
      reference += double(a[i]) * double(a[i]);
    }
    worst = std::max(worst, std::sqrt(squared / reference));
    dqc_sampler_options o = {p.gen_length, p.gen_length, p.gen_length, DQC_REMASK_LOW_CONFIDENCE, 0};
    std::vector<int64_t> x(p.prompt.size() + size_t(p.gen_length)), y(x.size());
    if (dqc_session_generate(cpu, p.prompt.data(), int64_t(p.prompt.size()), &o, x.data()) != DQC_OK ||
        dqc_session_generate(cuda, p.prompt.data(), int64_t(p.prompt.size()), &o, y.data()) != DQC_OK) {
      std::fprintf(stderr, "generate: %s\n", dqc_last_error());
      return 2;
    }
    same += x == y;
  }
  std::vector<int64_t> full(size_t(dqc_bundle_max_seq_len(bundle)), 3);
  std::vector<float> logits(full.size() * size_t(vocab));
  const double cpu_ms = median_forward_ms(cpu, full, logits), cuda_ms = median_forward_ms(cuda, full, logits);
  std::printf("%zu problems: worst logits relative error %.3g (goal <= 1e-2), identical answers %d/%zu\n",
              problems.size(), worst, same, problems.size());
  std::printf("forward pass of %zu tokens: cpu %.3f ms, cuda %.3f ms (median of 7)\n", full.size(), cpu_ms,
              cuda_ms);
  dqc_session_destroy(cuda);
  dqc_session_destroy(cpu);
  dqc_bundle_close(bundle);
  return worst <= 1e-2 && same == int(problems.size()) ? 0 : 1;
}
