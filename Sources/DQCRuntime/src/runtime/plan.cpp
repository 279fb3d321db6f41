// plan.cpp: decoding the plan section. Nothing in it is trusted: every count is checked against
// the section's size, every reference against the tables, every value's arena range against the
// arena, and every kernel's operands against the shapes and element types it needs, so the
// executor can run the plan without further checks.
#include "plan.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace dqc::rt {
namespace {

uint32_t u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t u64(const uint8_t* p) { return uint64_t(u32(p)) | (uint64_t(u32(p + 4)) << 32); }
double f64(const uint8_t* p) {
  uint64_t bits = u64(p);
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

const char* op_name(uint32_t op) {
  switch (op) {
    case DQC_OP_EMBEDDING: return "embedding";
    case DQC_OP_RMS_NORM: return "rms_norm";
    case DQC_OP_QUANTIZE: return "quantize";
    case DQC_OP_QLINEAR: return "qlinear";
    case DQC_OP_LINEAR: return "linear";
    case DQC_OP_ROPE: return "rope";
    case DQC_OP_ATTENTION: return "attention";
    case DQC_OP_SWIGLU: return "swiglu";
    case DQC_OP_ADD: return "add";
    default: return nullptr;
  }
}

/// Checks one kernel against the tables; `defined[v]` says which values exist so far.
class KernelChecker {
 public:
  KernelChecker(const BundleImage& bundle, const Plan& plan, const PlanKernel& kernel, size_t index,
                std::vector<bool>& defined)
      : bundle_(bundle), plan_(plan), k_(kernel), defined_(defined) {
    const char* name = op_name(kernel.op);
    place_ = "section 'plan': kernel " + std::to_string(index) + " (" + (name ? name : "?") + ")";
  }

  Status check() {
    if (op_name(k_.op) == nullptr) return bad("unknown op " + std::to_string(k_.op));
    for (size_t i = 0; i < k_.operands.size(); i++) {
      const PlanRef& r = k_.operands[i];
      if (r.kind == DQC_PLAN_REF_VALUE) {
        if (r.index >= plan_.values.size() || !defined_[r.index])
          return bad("operand " + std::to_string(i) + " reads value " + std::to_string(r.index) + " before it is defined");
      } else if (r.kind == DQC_PLAN_REF_TENSOR) {
        if (r.index >= bundle_.tensors().size()) return bad("operand " + std::to_string(i) + " names tensor " + std::to_string(r.index) + " of " + std::to_string(bundle_.tensors().size()));
      } else if (r.kind != DQC_PLAN_REF_NONE) {
        return bad("operand " + std::to_string(i) + " has reference kind " + std::to_string(r.kind));
      }
    }
    for (uint32_t r : k_.results) {
      if (r >= plan_.values.size() || plan_.values[r].kind != DQC_PLAN_VALUE_ARENA)
        return bad("result value " + std::to_string(r) + " is not an arena value");
    }
    Status s = check_op();
    if (!s.is_ok()) return s;
    for (uint32_t r : k_.results) defined_[r] = true;
    return Status::ok();
  }

 private:
  Status bad(const std::string& message) const {
    return fail(DQC_ERROR_FORMAT, bundle_.path() + ": " + place_ + ": " + message);
  }
  int64_t I(int i) const { return k_.ints[i]; }
  /// A count (heads, a head size) that may be multiplied by another: 1 ... 2^31, so the product
  /// of two cannot overflow `int64_t`.
  static bool count(int64_t v) { return v > 0 && v <= (int64_t(1) << 31); }

  /// Operand `i` must be a value of `element` and `width`.
  bool value(size_t i, uint16_t element, int64_t width) const {
    if (i >= k_.operands.size() || k_.operands[i].kind != DQC_PLAN_REF_VALUE) return false;
    const PlanValue& v = plan_.values[k_.operands[i].index];
    return v.element == element && v.width == width && width > 0;
  }
  /// Result `i` must be a value of `element` and `width`.
  bool result(size_t i, uint16_t element, int64_t width) const {
    if (i >= k_.results.size()) return false;
    const PlanValue& v = plan_.values[k_.results[i]];
    return v.element == element && v.width == width && width > 0;
  }
  const TensorEntry* tensor(size_t i) const {
    if (i >= k_.operands.size() || k_.operands[i].kind != DQC_PLAN_REF_TENSOR) return nullptr;
    return &bundle_.tensors()[k_.operands[i].index];
  }
  bool absent(size_t i) const { return i >= k_.operands.size() || !k_.operands[i].present(); }
  /// Operand `i` must be a row-major tensor of `element` and `shape`.
  bool tensor_is(size_t i, uint16_t element, std::initializer_list<int64_t> shape) const {
    const TensorEntry* t = tensor(i);
    return t != nullptr && t->element == element && t->layout == DQC_LAYOUT_ROW_MAJOR &&
           t->shape == std::vector<int64_t>(shape);
  }
  Status shapes(bool ok, const char* what) const {
    return ok ? Status::ok() : bad(std::string("operands or results do not fit: ") + what);
  }

  Status check_op() const {
    const uint16_t F32 = DQC_ELEMENT_F32;
    switch (k_.op) {
      case DQC_OP_EMBEDDING: {
        const TensorEntry* input = nullptr;
        (void)input;
        bool ok = k_.operands.size() == 2 && k_.operands[0].kind == DQC_PLAN_REF_VALUE &&
                  k_.operands[0].index == plan_.input && I(0) > 0 && I(1) > 0 &&
                  tensor_is(1, F32, {I(0), I(1)}) && result(0, F32, I(1));
        return shapes(ok, "ids, table [vocab, d] f32 -> [T, d]");
      }
      case DQC_OP_RMS_NORM:
        return shapes(value(0, F32, I(0)) && tensor_is(1, F32, {I(0)}) && result(0, F32, I(0)) &&
                          k_.floats[0] >= 0,
                      "x [T, d], scale [d] -> [T, d]");
      case DQC_OP_QUANTIZE: {
        int64_t k = I(0), bits = I(1), group = I(2), ldq = I(3);
        bool ok = k > 0 && bits >= 2 && bits <= 8 && group > 0 && k % group == 0 && ldq >= k &&
                  ldq % 64 == 0 && value(0, F32, k) && result(0, DQC_ELEMENT_I8, ldq) &&
                  result(1, F32, 1) && result(2, DQC_ELEMENT_I32, k / group);
        return shapes(ok, "x [T, K] -> codes [T, Kp] i8, scales [T], sums [T, K/group] i32");
      }
      case DQC_OP_QLINEAR: {
        int64_t n = I(0), k = I(1), group = I(2);
        const TensorEntry* codes = tensor(3);
        const TensorEntry* scales = tensor(4);
        if (n <= 0 || k <= 0 || group <= 0 || k % group != 0 || group % 8 != 0 || !codes || !scales)
          return shapes(false, "n, k, group and the weight's codes and scales");
        int bits = element_bits(codes->element);
        int want_layout = bits == 4 ? DQC_LAYOUT_Q4_N16K8 : DQC_LAYOUT_Q8_N16K4;
        bool ok = (bits == 4 || bits == 8) && codes->layout == want_layout &&
                  codes->shape == std::vector<int64_t>{n, k} &&
                  (scales->element == DQC_ELEMENT_F16 || scales->element == F32) &&
                  scales->layout == DQC_LAYOUT_ROW_MAJOR &&
                  scales->shape == std::vector<int64_t>{n, k / group} &&
                  (absent(5) || tensor_is(5, DQC_ELEMENT_U8, {n, k / group})) &&
                  (absent(6) || tensor_is(6, F32, {n})) && value(1, F32, 1) &&
                  value(2, DQC_ELEMENT_I32, k / group) && k_.operands[0].kind == DQC_PLAN_REF_VALUE &&
                  plan_.values[k_.operands[0].index].element == DQC_ELEMENT_I8 &&
                  plan_.values[k_.operands[0].index].width >= k && result(0, F32, n);
        bool is_signed = codes->element == DQC_ELEMENT_I4 || codes->element == DQC_ELEMENT_I8;
        if (ok && is_signed != absent(5)) ok = false;  // zero points exactly for unsigned codes
        return shapes(ok, "quantized x, codes [N, K] packed, scales [N, G], zero points, bias -> [T, N]");
      }
      case DQC_OP_LINEAR: {
        const TensorEntry* w = tensor(1);
        bool packed = w != nullptr && w->element == F32 && w->layout == DQC_LAYOUT_F32_N16 &&
                      w->shape == std::vector<int64_t>{I(0), I(1)};
        return shapes(value(0, F32, I(1)) && packed && I(0) > 0 && I(1) > 0 &&
                          (absent(2) || tensor_is(2, F32, {I(0)})) && result(0, F32, I(0)),
                      "x [T, K], w [N, K] f32 in layout 3, bias [N] -> [T, N]");
      }
      case DQC_OP_ROPE: {
        int64_t heads = I(0), dh = I(1);
        const TensorEntry* cos = tensor(1);
        bool ok = count(heads) && count(dh) && dh % 2 == 0 && cos != nullptr && cos->shape.size() == 2 &&
                  cos->shape[0] >= plan_.seq_len && cos->shape[1] == dh &&
                  tensor_is(1, F32, {cos->shape[0], dh}) && tensor_is(2, F32, {cos->shape[0], dh}) &&
                  value(0, F32, heads * dh) && result(0, F32, heads * dh);
        return shapes(ok, "x [T, H*Dh], cos and sin [S, Dh] -> [T, H*Dh]");
      }
      case DQC_OP_ATTENTION: {
        int64_t h = I(0), hkv = I(1), dh = I(2);
        bool bits_ok = true;
        for (int i = 3; i <= 5; i++) bits_ok = bits_ok && I(i) >= 0 && I(i) <= 8;
        bool ok = count(h) && count(hkv) && h % hkv == 0 && count(dh) && bits_ok && value(0, F32, h * dh) &&
                  value(1, F32, hkv * dh) && value(2, F32, hkv * dh) &&
                  (absent(3) || tensor_is(3, F32, {hkv})) && result(0, F32, h * dh);
        return shapes(ok, "q [T, H*Dh], k and v [T, Hkv*Dh], V scales [Hkv] -> [T, H*Dh]");
      }
      case DQC_OP_SWIGLU:
      case DQC_OP_ADD:
        return shapes(value(0, F32, I(0)) && value(1, F32, I(0)) && result(0, F32, I(0)),
                      "a and b [T, W] -> [T, W]");
      default:
        return bad("unknown op");
    }
  }

  const BundleImage& bundle_;
  const Plan& plan_;
  const PlanKernel& k_;
  std::vector<bool>& defined_;
  std::string place_;
};

}  // namespace

Status Plan::decode(const BundleImage& bundle, Plan* out) {
  SectionView s = bundle.section(DQC_SECTION_PLAN);
  auto bad = [&](const std::string& message) {
    return fail(DQC_ERROR_FORMAT, bundle.path() + ": section 'plan': " + message);
  };
  if (s.data == nullptr)
    return fail(DQC_ERROR_UNSUPPORTED, bundle.path() + ": section 'plan': missing; compile the bundle with this dqc to run it on the runtime");
  if (s.size < DQC_PLAN_HEADER_SIZE) return bad("shorter than its 64-byte header");
  const uint8_t* p = s.data;
  if (std::memcmp(p, DQC_PLAN_MAGIC, DQC_PLAN_MAGIC_SIZE) != 0) return bad("bad magic");
  if (u32(p + DQC_PLAN_VERSION_FIELD) != DQC_PLAN_VERSION)
    return bad("plan version " + std::to_string(u32(p + DQC_PLAN_VERSION_FIELD)) + "; this runtime reads 1");
  Plan plan;
  uint64_t value_count = u32(p + DQC_PLAN_VALUE_COUNT);
  uint64_t kernel_count = u32(p + DQC_PLAN_KERNEL_COUNT);
  plan.arena_bytes = u64(p + DQC_PLAN_ARENA_BYTES);
  plan.batch = u32(p + DQC_PLAN_BATCH);
  plan.seq_len = u32(p + DQC_PLAN_SEQ_LEN);
  plan.mask_token = int64_t(u64(p + DQC_PLAN_MASK_TOKEN));
  plan.input = u32(p + DQC_PLAN_INPUT_VALUE);
  plan.output = u32(p + DQC_PLAN_OUTPUT_VALUE);
  plan.vocab = int64_t(u64(p + DQC_PLAN_VOCAB));
  uint64_t expected = DQC_PLAN_HEADER_SIZE + value_count * DQC_PLAN_VALUE_SIZE + kernel_count * DQC_PLAN_KERNEL_SIZE;
  if (expected != s.size)
    return bad(std::to_string(value_count) + " values and " + std::to_string(kernel_count) + " kernels need " + std::to_string(expected) + " bytes; the section has " + std::to_string(s.size));
  if (plan.batch != 1) return bad("batch " + std::to_string(plan.batch) + "; this runtime runs batch 1");
  if (plan.seq_len < 1 || plan.seq_len > 65536) return bad("sequence length " + std::to_string(plan.seq_len) + " is outside 1...65536");
  if (plan.arena_bytes > (uint64_t(1) << 40)) return bad("arena of " + std::to_string(plan.arena_bytes) + " bytes is implausible");
  const int64_t rows = plan.batch * plan.seq_len;
  uint64_t arena_need = 0;  // the end of the last arena value
  const uint8_t* v = p + DQC_PLAN_HEADER_SIZE;
  for (uint64_t i = 0; i < value_count; i++, v += DQC_PLAN_VALUE_SIZE) {
    PlanValue value;
    value.offset = u64(v);
    value.kind = u32(v + 8);
    value.element = uint16_t(u32(v + 12));
    value.width = int64_t(u64(v + 16));
    std::string place = "value " + std::to_string(i);
    int bits = element_bits(value.element);
    if (value.kind != DQC_PLAN_VALUE_INPUT && value.kind != DQC_PLAN_VALUE_ARENA) return bad(place + " has kind " + std::to_string(value.kind));
    if (bits < 8 || value.width < 1 || value.width > (int64_t(1) << 32)) return bad(place + " has element code " + std::to_string(value.element) + " and width " + std::to_string(value.width));
    if (value.kind == DQC_PLAN_VALUE_ARENA) {
      uint64_t bytes = uint64_t(rows) * uint64_t(value.width) * uint64_t(bits / 8);
      if (value.offset % 64 != 0 || value.offset > plan.arena_bytes || bytes > plan.arena_bytes - value.offset)
        return bad(place + " (bytes " + std::to_string(value.offset) + "+" + std::to_string(bytes) + ") lies outside the " + std::to_string(plan.arena_bytes) + "-byte arena");
      arena_need = std::max(arena_need, value.offset + bytes);
    }
    plan.values.push_back(value);
  }
  // The arena is allocated at session creation: no larger than its values need (dqc writes
  // exactly that, rounded up to 64 bytes), so a plan cannot ask for memory it does not use.
  uint64_t arena_limit = std::max<uint64_t>((arena_need + 63) / 64 * 64, 64);
  if (plan.arena_bytes > arena_limit)
    return bad("arena of " + std::to_string(plan.arena_bytes) + " bytes; its values need " + std::to_string(arena_limit));
  if (plan.input >= plan.values.size() || plan.values[plan.input].kind != DQC_PLAN_VALUE_INPUT ||
      plan.values[plan.input].element != DQC_ELEMENT_I64 || plan.values[plan.input].width != 1)
    return bad("the input is not an i64 token-id value");
  if (plan.output >= plan.values.size() || plan.values[plan.output].kind != DQC_PLAN_VALUE_ARENA ||
      plan.values[plan.output].element != DQC_ELEMENT_F32 || plan.values[plan.output].width != plan.vocab)
    return bad("the output is not an f32 [T, vocab] value");
  std::vector<bool> defined(plan.values.size(), false);
  defined[plan.input] = true;
  const uint8_t* k = v;
  for (uint64_t i = 0; i < kernel_count; i++, k += DQC_PLAN_KERNEL_SIZE) {
    PlanKernel kernel;
    kernel.op = u32(k);
    uint32_t operands = u32(k + 4), results = u32(k + 8);
    if (operands > DQC_PLAN_MAX_OPERANDS || results < 1 || results > DQC_PLAN_MAX_RESULTS)
      return bad("kernel " + std::to_string(i) + " has " + std::to_string(operands) + " operands and " + std::to_string(results) + " results");
    for (uint32_t j = 0; j < operands; j++) {
      uint32_t ref = u32(k + DQC_PLAN_KERNEL_OPERANDS + 4 * j);
      kernel.operands.push_back(PlanRef{ref >> 24, ref & DQC_PLAN_REF_INDEX_MASK});
    }
    for (uint32_t j = 0; j < results; j++) kernel.results.push_back(u32(k + DQC_PLAN_KERNEL_RESULTS + 4 * j));
    for (int j = 0; j < DQC_PLAN_MAX_INTS; j++) kernel.ints[j] = int64_t(u64(k + DQC_PLAN_KERNEL_INTS + 8 * j));
    for (int j = 0; j < DQC_PLAN_MAX_FLOATS; j++) kernel.floats[j] = f64(k + DQC_PLAN_KERNEL_FLOATS + 8 * j);
    plan.kernels.push_back(kernel);
    Status st = KernelChecker(bundle, plan, plan.kernels.back(), i, defined).check();
    if (!st.is_ok()) return st;
  }
  if (!defined[plan.output]) return bad("no kernel defines the output");
  // Every arena value is a kernel's result, so its width is one a kernel check tied to operands.
  for (size_t i = 0; i < plan.values.size(); i++) {
    if (plan.values[i].kind == DQC_PLAN_VALUE_ARENA && !defined[i])
      return bad("value " + std::to_string(i) + " is never defined by a kernel");
  }
  *out = std::move(plan);
  return Status::ok();
}

}  // namespace dqc::rt
