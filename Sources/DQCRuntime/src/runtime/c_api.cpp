// c_api.cpp: the C API of dqc_runtime.h over the C++ internals. No exception crosses it: every
// entry point catches everything and reports it as a status with a message.
#include <memory>
#include <new>
#include <thread>
#include <string>

#include "../kernels/kernels.h"
#include "dqc_runtime.h"
#include "cuda_session.h"
#include "sampler.h"
#include "session.h"

struct dqc_bundle {
  dqc::rt::LoadedBundle loaded;
};

struct dqc_session {
  std::unique_ptr<dqc::rt::Backend> backend;
};

namespace dqc::rt {
namespace {
thread_local std::string last_error;
}  // namespace

dqc_status report(const Status& status) {
  last_error = status.is_ok() ? std::string() : status.message;
  return status.code;
}
}  // namespace dqc::rt

using dqc::rt::fail;
using dqc::rt::report;
using dqc::rt::Status;

namespace {
/// Runs `body`, turning any escaping exception into a status.
template <typename Body>
dqc_status guarded(Body body) {
  try {
    return report(body());
  } catch (const std::bad_alloc&) {
    return report(fail(DQC_ERROR_MEMORY, "out of memory"));
  } catch (const std::exception& e) {
    return report(fail(DQC_ERROR_DEVICE, std::string("internal error: ") + e.what()));
  } catch (...) {
    return report(fail(DQC_ERROR_DEVICE, "internal error"));
  }
}
}  // namespace

extern "C" {

const char* dqc_last_error(void) { return dqc::rt::last_error.c_str(); }

const char* dqc_runtime_version(void) { return "0.1.0"; }

dqc_status dqc_bundle_open(const char* path, dqc_bundle** out) {
  return guarded([&]() -> Status {
    if (path == nullptr || out == nullptr) return fail(DQC_ERROR_ARGUMENT, "dqc_bundle_open: null argument");
    *out = nullptr;
    auto bundle = std::make_unique<dqc_bundle>();
    Status s = dqc::rt::BundleImage::open(path, &bundle->loaded.image);
    if (!s.is_ok()) return s;
    s = dqc::rt::Plan::decode(bundle->loaded.image, &bundle->loaded.plan);
    if (!s.is_ok()) return s;
    *out = bundle.release();
    return Status::ok();
  });
}

void dqc_bundle_close(dqc_bundle* bundle) { delete bundle; }

int64_t dqc_bundle_max_seq_len(const dqc_bundle* b) { return b ? b->loaded.plan.seq_len : 0; }
int64_t dqc_bundle_vocab_size(const dqc_bundle* b) { return b ? b->loaded.plan.vocab : 0; }
int64_t dqc_bundle_mask_token_id(const dqc_bundle* b) { return b ? b->loaded.plan.mask_token : -1; }

dqc_status dqc_session_create(const dqc_bundle* bundle, const dqc_session_options* options,
                              dqc_session** out) {
  return guarded([&]() -> Status {
    if (bundle == nullptr || out == nullptr) return fail(DQC_ERROR_ARGUMENT, "dqc_session_create: null argument");
    *out = nullptr;
    dqc_session_options o = options ? *options : dqc_session_options{DQC_DEVICE_CPU, 0};
    if (o.device != DQC_DEVICE_CPU && o.device != DQC_DEVICE_CUDA && o.device != DQC_DEVICE_CUDA_EMULATOR) return fail(DQC_ERROR_ARGUMENT, "unknown device " + std::to_string(int(o.device)));
    if (o.threads < 0 || o.threads > 1024) return fail(DQC_ERROR_ARGUMENT, "threads must be 0 (all cores) to 1024");
    int threads = o.threads;
    if (threads == 0) {
      unsigned hw = std::thread::hardware_concurrency();
      threads = hw == 0 ? 1 : int(hw);
    }
    auto session = std::make_unique<dqc_session>();
    if (o.device != DQC_DEVICE_CPU) {
      std::unique_ptr<dqc::rt::CudaSession> cuda;
      Status s = dqc::rt::CudaSession::create(bundle->loaded, o.device == DQC_DEVICE_CUDA_EMULATOR, &cuda);
      if (!s.is_ok()) return s;
      session->backend = std::move(cuda);
    } else {
      std::unique_ptr<dqc::rt::CpuSession> cpu;
      Status s = dqc::rt::CpuSession::create(bundle->loaded, threads, &cpu);
      if (!s.is_ok()) return s;
      session->backend = std::move(cpu);
    }
    *out = session.release();
    return Status::ok();
  });
}

void dqc_session_destroy(dqc_session* session) { delete session; }

const char* dqc_session_isa(const dqc_session* s) {
  return s ? s->backend->device_name() : dqc::rt::isa_name(dqc::rt::active_isa());
}

size_t dqc_session_arena_bytes(const dqc_session* s) { return s ? s->backend->arena_bytes() : 0; }

dqc_status dqc_session_forward(dqc_session* session, const int64_t* ids, int64_t count, float* logits) {
  return guarded([&]() -> Status {
    if (session == nullptr) return fail(DQC_ERROR_ARGUMENT, "dqc_session_forward: null session");
    return session->backend->forward(ids, count, logits);
  });
}

dqc_status dqc_session_forward_rows(dqc_session* session, const int64_t* ids, int64_t count,
                                    const int64_t* rows, int64_t row_count, float* logits) {
  return guarded([&]() -> Status {
    if (session == nullptr || rows == nullptr) return fail(DQC_ERROR_ARGUMENT, "dqc_session_forward_rows: null argument");
    return session->backend->forward(ids, count, logits, rows, row_count);
  });
}

dqc_status dqc_session_generate(dqc_session* session, const int64_t* prompt, int64_t prompt_length,
                                const dqc_sampler_options* options, int64_t* out) {
  return guarded([&]() -> Status {
    if (session == nullptr || options == nullptr) return fail(DQC_ERROR_ARGUMENT, "dqc_session_generate: null argument");
    return dqc::rt::generate(*session->backend, prompt, prompt_length, *options, out);
  });
}

size_t dqc_packed_size(int layout, int64_t n, int64_t k) {
  if (n < 0 || k < 0) return 0;
  if (layout == DQC_LAYOUT_Q4_N16K8) return dqc::rt::q4_packed_size(n, k);
  if (layout == DQC_LAYOUT_Q8_N16K4) return dqc::rt::q8_packed_size(n, k);
  if (layout == DQC_LAYOUT_F32_N16) return dqc::rt::f32_packed_size(n, k);
  return 0;
}

dqc_status dqc_pack_codes(int layout, int signed_codes, const uint8_t* codes, int64_t n, int64_t k,
                          uint8_t* out) {
  return guarded([&]() -> Status {
    if (codes == nullptr || out == nullptr || n < 0 || k < 0) return fail(DQC_ERROR_ARGUMENT, "dqc_pack_codes: bad argument");
    if (layout == DQC_LAYOUT_Q4_N16K8) dqc::rt::q4_pack(codes, n, k, signed_codes != 0, out);
    else if (layout == DQC_LAYOUT_Q8_N16K4) dqc::rt::q8_pack(codes, n, k, signed_codes != 0, out);
    else if (layout == DQC_LAYOUT_F32_N16)
      dqc::rt::f32_pack(reinterpret_cast<const float*>(codes), n, k, reinterpret_cast<float*>(out));
    else return fail(DQC_ERROR_ARGUMENT, "dqc_pack_codes: unknown layout " + std::to_string(layout));
    return Status::ok();
  });
}

dqc_status dqc_unpack_codes(int layout, int signed_codes, const uint8_t* packed, int64_t n, int64_t k,
                            uint8_t* codes) {
  return guarded([&]() -> Status {
    if (codes == nullptr || packed == nullptr || n < 0 || k < 0) return fail(DQC_ERROR_ARGUMENT, "dqc_unpack_codes: bad argument");
    if (layout == DQC_LAYOUT_Q4_N16K8) dqc::rt::q4_unpack(packed, n, k, signed_codes != 0, codes);
    else if (layout == DQC_LAYOUT_Q8_N16K4) dqc::rt::q8_unpack(packed, n, k, signed_codes != 0, codes);
    else if (layout == DQC_LAYOUT_F32_N16)
      dqc::rt::f32_unpack(reinterpret_cast<const float*>(packed), n, k, reinterpret_cast<float*>(codes));
    else return fail(DQC_ERROR_ARGUMENT, "dqc_unpack_codes: unknown layout " + std::to_string(layout));
    return Status::ok();
  });
}

}  // extern "C"
