// session.cpp: the CPU back end's executor. The plan is already validated (plan.cpp), so
// kernels run without checks except those that depend on run-time input (the ids and their
// count).
#include "session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace dqc::rt {

namespace {
const char* const kOpNames[] = {"",        "embedding", "rms_norm", "quantize", "qlinear",
                                "linear",  "rope",      "attention", "swiglu",  "add"};
}  // namespace

CpuSession::CpuSession(const LoadedBundle& bundle, int threads)
    : Backend(bundle), pool_(threads), serial_(1) {
  const char* profile = std::getenv("DQC_PROFILE_KERNELS");
  profile_ = profile != nullptr && profile[0] != '\0' && profile[0] != '0';
}

CpuSession::~CpuSession() {
  std::free(arena_);
  if (!profile_) return;
  // DQC_PROFILE_KERNELS=1: where the forward passes spent their time, by kernel op.
  double total = 0;
  for (double s : seconds_) total += s;
  std::fprintf(stderr, "dqc runtime: kernel time over %lld forward passes\n", (long long)passes_);
  for (size_t op = 1; op < seconds_.size(); op++) {
    if (seconds_[op] == 0) continue;
    std::fprintf(stderr, "  %-10s %9.4f s  %5.1f%%\n", kOpNames[op], seconds_[op],
                 total > 0 ? 100 * seconds_[op] / total : 0.0);
  }
}

Status CpuSession::create(const LoadedBundle& bundle, int threads,
                          std::unique_ptr<CpuSession>* out) {
  std::unique_ptr<CpuSession> session(new (std::nothrow) CpuSession(bundle, threads));
  if (!session) return fail(DQC_ERROR_MEMORY, "cannot allocate a session");
  const Plan& plan = bundle.plan;
  session->arena_size_ = std::max<uint64_t>(plan.arena_bytes, 64);
  size_t rounded = (session->arena_size_ + 63) / 64 * 64;
  session->arena_ = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
  if (session->arena_ == nullptr)
    return fail(DQC_ERROR_MEMORY, "cannot allocate the " + std::to_string(rounded) + "-byte activation arena");
  size_t scratch = 0;
  session->prepared_.resize(plan.kernels.size());
  for (size_t i = 0; i < plan.kernels.size(); i++) {
    const PlanKernel& k = plan.kernels[i];
    if (k.op == DQC_OP_ATTENTION) {
      AttentionParams p;
      p.seq = plan.seq_len;
      p.heads = k.ints[0];
      p.kv_heads = k.ints[1];
      p.head_dim = k.ints[2];
      p.qk_bits = int(k.ints[3]);
      p.p_bits = int(k.ints[4]);
      p.v_bits = int(k.ints[5]);
      scratch = std::max(scratch, attention_scratch_size(p, session->pool_.size()));
    }
    if (k.op == DQC_OP_QLINEAR || k.op == DQC_OP_LINEAR)
      session->macs_per_row_ += double(k.ints[0]) * double(k.ints[1]);
    if (k.op != DQC_OP_QLINEAR) continue;
    const TensorEntry& codes = session->tensor(k.operands[3]);
    const TensorEntry& scales = session->tensor(k.operands[4]);
    const uint8_t* zeros = k.operands.size() > 5 && k.operands[5].present()
                               ? session->tensor(k.operands[5]).data
                               : nullptr;
    int64_t n = k.ints[0], groups = k.ints[1] / k.ints[2];
    PreparedWeight& w = session->prepared_[i];
    size_t panel = qparams_panel_size(n, groups);
    try {
      w.scales.resize(panel);
      w.zeros.resize(panel);
    } catch (...) {
      return fail(DQC_ERROR_MEMORY, "cannot allocate the scale panels of kernel " + std::to_string(i));
    }
    build_qparams_panels(scales.data, scales.element == DQC_ELEMENT_F16, zeros, n, groups,
                         element_bits(codes.element), w.scales.data(), w.zeros.data());
  }
  // The output kernel and the bytes its operand rows need when only some rows are computed.
  size_t gathered = 0;
  for (size_t i = 0; i < plan.kernels.size(); i++) {
    const PlanKernel& k = plan.kernels[i];
    if (k.results[0] != plan.output) continue;
    session->output_kernel_ = i;
    gathered = 0;
    for (const PlanRef& r : k.operands) {
      if (r.kind != DQC_PLAN_REF_VALUE) continue;
      const PlanValue& v = plan.values[r.index];
      gathered += (size_t(plan.seq_len) * size_t(v.width) * size_t(element_bits(v.element) / 8) + 63) / 64 * 64;
    }
  }
  try {
    session->scratch_.resize(scratch);
    session->gathered_.resize(gathered);
  } catch (...) {
    return fail(DQC_ERROR_MEMORY, "cannot allocate attention scratch");
  }
  *out = std::move(session);
  return Status::ok();
}

QWeight CpuSession::qweight(size_t i) const {
  const PlanKernel& k = bundle_.plan.kernels[i];
  const TensorEntry& codes = tensor(k.operands[3]);
  QWeight w;
  w.packed = codes.data;
  w.bits = element_bits(codes.element);
  w.n = k.ints[0];
  w.k = k.ints[1];
  w.group = k.ints[2];
  w.scale_panel = prepared_[i].scales.data();
  w.zero_panel = prepared_[i].zeros.data();
  w.bias = k.operands.size() > 6 && k.operands[6].present()
               ? reinterpret_cast<const float*>(tensor(k.operands[6]).data)
               : nullptr;
  return w;
}

Status CpuSession::forward(const int64_t* ids, int64_t count, float* logits,
                           const int64_t* selected, int64_t n_selected) {
  const Plan& plan = bundle_.plan;
  if (ids == nullptr || logits == nullptr) return fail(DQC_ERROR_ARGUMENT, "forward: null ids or logits");
  if (count < 1 || count > plan.seq_len)
    return fail(DQC_ERROR_ARGUMENT, "forward: " + std::to_string(count) + " tokens; the plan serves 1 to " + std::to_string(plan.seq_len));
  if (selected != nullptr) {
    Status s = check_rows(selected, n_selected, count);
    if (!s.is_ok()) return s;
  }
  const int64_t rows = count;
  passes_++;
  // Small passes (a short sequence through a small model) run on the calling thread: waking
  // workers for each of dozens of tiny kernels would cost more than it saves. Results are the
  // same bits either way.
  ThreadPool& pool = double(rows) * double(macs_per_row_) < kParallelMacs ? serial_ : pool_;
  bool output_written = false;
  for (size_t i = 0; i < plan.kernels.size(); i++) {
    const PlanKernel& k = plan.kernels[i];
    const auto start = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    const auto& in = k.operands;
    auto f32 = [&](size_t j) { return value<float>(in[j].index); };
    auto weight = [&](size_t j) { return reinterpret_cast<const float*>(tensor(in[j]).data); };
    auto optional_weight = [&](size_t j) -> const float* {
      return j < in.size() && in[j].present() ? weight(j) : nullptr;
    };
    float* out = value<float>(k.results[0]);
    // The head writes every row's logits straight into the caller's buffer: a copy from the
    // arena would read and write them once more ([256, 32000] floats are 32 MB, about 8 ms).
    const bool direct = selected == nullptr && i == output_kernel_ && i + 1 == plan.kernels.size() &&
                        (k.op == DQC_OP_LINEAR || k.op == DQC_OP_QLINEAR) && k.ints[0] == plan.vocab;
    if (direct) {
      out = logits;
      output_written = true;
    }
    if (selected != nullptr && i == output_kernel_ &&
        (k.op == DQC_OP_LINEAR || k.op == DQC_OP_QLINEAR)) {
      // Only the selected rows: gather the operand rows, run the layer on them into `logits`.
      uint8_t* cursor = gathered_.data();
      std::vector<const uint8_t*> gathered(in.size(), nullptr);
      for (size_t j = 0; j < in.size(); j++) {
        if (in[j].kind != DQC_PLAN_REF_VALUE) continue;
        const PlanValue& v = plan.values[in[j].index];
        size_t row_bytes = size_t(v.width) * size_t(element_bits(v.element) / 8);
        const uint8_t* source = arena_ + v.offset;
        for (int64_t r = 0; r < n_selected; r++)
          std::memcpy(cursor + size_t(r) * row_bytes, source + size_t(selected[r]) * row_bytes, row_bytes);
        gathered[j] = cursor;
        cursor += (size_t(plan.seq_len) * row_bytes + 63) / 64 * 64;
      }
      if (k.op == DQC_OP_LINEAR) {
        sgemm_packed(pool, reinterpret_cast<const float*>(gathered[0]), n_selected, k.ints[1], k.ints[1],
                     weight(1), k.ints[0], optional_weight(2), logits, k.ints[0]);
      } else {
        const QWeight w = qweight(i);
        qgemm(pool, reinterpret_cast<const int8_t*>(gathered[0]), plan.values[in[0].index].width,
              reinterpret_cast<const float*>(gathered[1]), reinterpret_cast<const int32_t*>(gathered[2]),
              n_selected, w, logits, w.n);
      }
      if (profile_ && k.op < seconds_.size())
        seconds_[k.op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return Status::ok();
    }
    switch (k.op) {
      case DQC_OP_EMBEDDING:
        if (!embedding(pool, ids, rows, weight(1), k.ints[0], k.ints[1], out))
          return fail(DQC_ERROR_ARGUMENT, "forward: a token id lies outside the vocabulary of " + std::to_string(k.ints[0]));
        break;
      case DQC_OP_RMS_NORM:
        rms_norm(pool, f32(0), rows, k.ints[0], weight(1), k.floats[0], out);
        break;
      case DQC_OP_QUANTIZE:
        quantize_rows(pool, f32(0), rows, k.ints[0], k.ints[0], int(k.ints[1]), k.ints[2],
                      value<int8_t>(k.results[0]), k.ints[3], value<float>(k.results[1]),
                      value<int32_t>(k.results[2]));
        break;
      case DQC_OP_QLINEAR: {
        const QWeight w = qweight(i);
        const PlanValue& xq = plan.values[in[0].index];
        qgemm(pool, value<int8_t>(in[0].index), xq.width, value<float>(in[1].index),
              value<int32_t>(in[2].index), rows, w, out, w.n);
        break;
      }
      case DQC_OP_LINEAR:
        sgemm_packed(pool, f32(0), rows, k.ints[1], k.ints[1], weight(1), k.ints[0],
                     optional_weight(2), out, k.ints[0]);
        break;
      case DQC_OP_ROPE: {
        int64_t width = k.ints[0] * k.ints[1];
        const float* x = f32(0);
        if (x != out) std::memcpy(out, x, size_t(rows * width) * sizeof(float));
        rope(pool, out, rows, k.ints[0], k.ints[1], width, weight(1), weight(2), rows);
        break;
      }
      case DQC_OP_ATTENTION: {
        AttentionParams p;
        p.batch = 1;
        p.seq = rows;
        p.heads = k.ints[0];
        p.kv_heads = k.ints[1];
        p.head_dim = k.ints[2];
        p.qk_bits = int(k.ints[3]);
        p.p_bits = int(k.ints[4]);
        p.v_bits = int(k.ints[5]);
        p.scale = float(k.floats[0]);
        p.v_scales = optional_weight(3);
        int64_t qw = p.heads * p.head_dim, kw = p.kv_heads * p.head_dim;
        attention(pool, f32(0), qw, f32(1), kw, f32(2), kw, p, out, qw, scratch_.data());
        break;
      }
      case DQC_OP_SWIGLU:
        swiglu(pool, f32(0), f32(1), rows * k.ints[0], out);
        break;
      case DQC_OP_ADD:
        add(pool, f32(0), f32(1), rows * k.ints[0], out);
        break;
      default:
        return fail(DQC_ERROR_UNSUPPORTED, "forward: kernel op " + std::to_string(k.op));
    }
    if (profile_ && k.op < seconds_.size())
      seconds_[k.op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (output_written) return Status::ok();  // the head, the plan's last kernel, wrote `logits`
  const float* output = value<float>(plan.output);
  if (selected == nullptr) {
    std::memcpy(logits, output, size_t(rows * plan.vocab) * sizeof(float));
  } else {
    for (int64_t r = 0; r < n_selected; r++)
      std::memcpy(logits + r * plan.vocab, output + selected[r] * plan.vocab, size_t(plan.vocab) * sizeof(float));
  }
  return Status::ok();
}

}  // namespace dqc::rt
