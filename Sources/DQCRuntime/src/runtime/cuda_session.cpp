// cuda_session.cpp: the CUDA back end's host side (cuda_session.h): probe the driver, compile
// the bundle's launch code (or find it in the cache), load it and drive it.
#include "cuda_session.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "dqc_bundle_format.h"
#include "dqc_cuda_library.h"

extern char** environ;

namespace dqc::rt {
namespace {

bool emulated() {
  const char* e = std::getenv("DQC_CUDA_EMULATOR");
  return e != nullptr && e[0] != '\0' && std::strcmp(e, "0") != 0;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

/// Finds GPU 0 through the driver API, loaded with dlopen; its architecture as "sm_XY".
Status probe_gpu(std::string* arch) {
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == nullptr)
    return fail(DQC_ERROR_DEVICE, "no CUDA driver on this machine (libcuda.so.1 not found); run with --device cpu");
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  using GetFn = int (*)(int*, int);
  using AttributeFn = int (*)(int*, int, int);
  auto init = reinterpret_cast<InitFn>(dlsym(driver, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(driver, "cuDeviceGetCount"));
  auto get = reinterpret_cast<GetFn>(dlsym(driver, "cuDeviceGet"));
  auto attribute = reinterpret_cast<AttributeFn>(dlsym(driver, "cuDeviceGetAttribute"));
  if (init == nullptr || count == nullptr || get == nullptr || attribute == nullptr)
    return fail(DQC_ERROR_DEVICE, "the CUDA driver (libcuda.so.1) lacks the driver API; run with --device cpu");
  if (int r = init(0); r != 0)
    return fail(DQC_ERROR_DEVICE, "the CUDA driver found no usable GPU (cuInit error " + std::to_string(r) + "); run with --device cpu");
  int devices = 0;
  if (count(&devices) != 0 || devices == 0) return fail(DQC_ERROR_DEVICE, "no CUDA GPU found; run with --device cpu");
  int device = 0, major = 0, minor = 0;
  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76.
  if (get(&device, 0) != 0 || attribute(&major, 75, device) != 0 || attribute(&minor, 76, device) != 0)
    return fail(DQC_ERROR_DEVICE, "cannot read the GPU's compute capability; run with --device cpu");
  if (major * 10 + minor < 61)
    return fail(DQC_ERROR_UNSUPPORTED, "the GPU is sm_" + std::to_string(major) + std::to_string(minor) + "; the CUDA back end needs sm_61 or newer (dp4a); run with --device cpu");
  *arch = "sm_" + std::to_string(major) + std::to_string(minor);
  return Status::ok();
}

/// Where compiled launch code is kept: $DQC_CUDA_CACHE, else $XDG_CACHE_HOME/dqc/cuda, else
/// ~/.cache/dqc/cuda, else /tmp/dqc-cuda-<uid>.
std::string cache_dir() {
  if (std::string d = env("DQC_CUDA_CACHE"); !d.empty()) return d;
  if (std::string d = env("XDG_CACHE_HOME"); !d.empty()) return d + "/dqc/cuda";
  if (std::string d = env("HOME"); !d.empty()) return d + "/.cache/dqc/cuda";
  return "/tmp/dqc-cuda-" + std::to_string(getuid());
}

bool make_dirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

/// Runs `argv` with stdout and stderr to `log`: the exit status, or -1 if it could not start.
int run_tool(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string tail_of(const std::string& path, size_t limit) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (s.size() > limit) s = "..." + s.substr(s.size() - limit);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string hex(uint64_t v) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(v));
  return buffer;
}

/// The compiled library for `source` and `target` ("sm_90", or "emulator"): from the cache, or
/// compiled now (nvcc, or the host C++ compiler for the emulator) and put there.
Status compiled_library(const SectionView& source, const std::string& target, std::string* path) {
  uint64_t digest = dqc_fnv1a64(source.data, source.size, DQC_FNV1A64_INITIAL);
  digest = dqc_fnv1a64(target.data(), target.size(), digest);
  const std::string dir = cache_dir();
  if (!make_dirs(dir)) return fail(DQC_ERROR_IO, "cannot create the CUDA cache folder '" + dir + "'");
  *path = dir + "/" + hex(digest) + "-" + target + ".so";
  if (access(path->c_str(), R_OK) == 0) return Status::ok();
  const std::string base = *path + ".tmp-" + std::to_string(getpid());
  const std::string unit = base + ".cu", library = base + ".so", log = base + ".log";
  {
    std::ofstream out(unit, std::ios::binary);
    out.write(reinterpret_cast<const char*>(source.data), std::streamsize(source.size));
    if (!out) return fail(DQC_ERROR_IO, "cannot write '" + unit + "'");
  }
  std::vector<std::string> argv;
  if (target == "emulator") {
    std::string cxx = env("DQC_CUDA_EMULATOR_CXX");
    argv = {cxx.empty() ? "c++" : cxx, "-x", "c++", "-std=c++17", "-O1", "-fPIC", "-shared", "-Wno-unknown-pragmas", "-DDQC_CUDA_EMULATION",
            "-o", library, unit};
  } else {
    std::string nvcc = env("DQC_NVCC");
    if (nvcc.empty() && !env("CUDA_HOME").empty() && access((env("CUDA_HOME") + "/bin/nvcc").c_str(), X_OK) == 0)
      nvcc = env("CUDA_HOME") + "/bin/nvcc";
    if (nvcc.empty()) nvcc = "nvcc";
    const std::string number = target.substr(3);
    argv = {nvcc, "-std=c++17", "-O3", "-shared", "-Xcompiler", "-fPIC", "-gencode",
            "arch=compute_" + number + ",code=sm_" + number, "-o", library, unit};
  }
  const int status = run_tool(argv, log);
  if (status == -1) {
    std::remove(unit.c_str());
    std::remove(log.c_str());
    return fail(DQC_ERROR_UNSUPPORTED, "cannot run '" + argv[0] + "' to compile the bundle's CUDA launch code; install the CUDA toolkit or set DQC_NVCC");
  }
  if (status != 0) {
    return fail(DQC_ERROR_DEVICE, "compiling the bundle's CUDA launch code with '" + argv[0] + "' failed (exit " + std::to_string(status) + "; source kept as '" + unit + "'): " + tail_of(log, 1500));
  }
  std::remove(unit.c_str());
  std::remove(log.c_str());
  if (std::rename(library.c_str(), path->c_str()) != 0) {
    std::remove(library.c_str());
    return fail(DQC_ERROR_IO, "cannot move the compiled launch code to '" + *path + "'");
  }
  return Status::ok();
}

uint32_t read_u32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

/// The bundle's prebuilt library (section cuda-binary, checked when the bundle opened) for
/// `target` ("sm_90"), put in the cache; false when the bundle has none for that architecture.
Status prebuilt_library(const BundleImage& image, const std::string& target, std::string* path, bool* found) {
  *found = false;
  const SectionView binary = image.section(DQC_SECTION_CUDA_BINARY);
  if (binary.data == nullptr) return Status::ok();
  const uint32_t wanted = uint32_t(std::stoul(target.substr(3)));
  const uint32_t count = read_u32(binary.data + DQC_CUDA_BINARY_ARCH_COUNT);
  bool listed = false;
  for (uint32_t i = 0; i < count; i++) listed = listed || read_u32(binary.data + DQC_CUDA_BINARY_ARCHS + 4 * i) == wanted;
  if (!listed) return Status::ok();
  if (read_u32(binary.data + DQC_CUDA_BINARY_ABI) != DQC_CUDA_ABI_VERSION) return Status::ok();
  const uint8_t* library = binary.data + DQC_CUDA_BINARY_HEADER_SIZE;
  const uint64_t size = binary.size - DQC_CUDA_BINARY_HEADER_SIZE;
  const std::string dir = cache_dir();
  if (!make_dirs(dir)) return fail(DQC_ERROR_IO, "cannot create the CUDA cache folder '" + dir + "'");
  *path = dir + "/" + hex(dqc_fnv1a64(library, size, DQC_FNV1A64_INITIAL)) + "-prebuilt-" + target + ".so";
  *found = true;
  if (access(path->c_str(), R_OK) == 0) return Status::ok();
  const std::string temporary = *path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::binary);
    out.write(reinterpret_cast<const char*>(library), std::streamsize(size));
    if (!out) return fail(DQC_ERROR_IO, "cannot write '" + temporary + "'");
  }
  if (std::rename(temporary.c_str(), path->c_str()) != 0) {
    std::remove(temporary.c_str());
    return fail(DQC_ERROR_IO, "cannot move the prebuilt launch code to '" + *path + "'");
  }
  return Status::ok();
}

}  // namespace

Status CudaSession::create(const LoadedBundle& bundle, bool emulate, std::unique_ptr<CudaSession>* out) {
  const SectionView source = bundle.image.section(DQC_SECTION_CUDA_SOURCE);
  if (source.data == nullptr)
    return fail(DQC_ERROR_UNSUPPORTED, "the bundle has no CUDA launch code (section 'cuda-source'); recompile it with this dqc, or run with --device cpu");
  std::string target = "emulator";
  if (!emulate && !emulated()) {
    Status s = probe_gpu(&target);
    if (!s.is_ok()) return s;
  }
  // Device code prebuilt into the bundle (dqc compile --cuda-arch) for this GPU, else nvcc now.
  std::string path;
  bool prebuilt = false;
  Status s = target == "emulator" ? Status::ok() : prebuilt_library(bundle.image, target, &path, &prebuilt);
  if (!s.is_ok()) return s;
  if (!prebuilt) s = compiled_library(source, target, &path);
  if (!s.is_ok()) return s;
  std::unique_ptr<CudaSession> session(new CudaSession(bundle));
  session->library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (session->library_ == nullptr)
    return fail(DQC_ERROR_DEVICE, "cannot load the compiled launch code '" + path + "': " + dlerror());
  void* lib = session->library_;
  auto abi = reinterpret_cast<int (*)()>(dlsym(lib, "dqc_cuda_abi_version"));
  auto create = reinterpret_cast<CreateFn>(dlsym(lib, "dqc_cuda_model_create"));
  auto device = reinterpret_cast<DeviceFn>(dlsym(lib, "dqc_cuda_model_device"));
  session->destroy_ = reinterpret_cast<DestroyFn>(dlsym(lib, "dqc_cuda_model_destroy"));
  session->forward_ = reinterpret_cast<ForwardFn>(dlsym(lib, "dqc_cuda_model_forward"));
  session->best_ = reinterpret_cast<BestFn>(dlsym(lib, "dqc_cuda_model_forward_best"));
  if (abi == nullptr || create == nullptr || device == nullptr || session->destroy_ == nullptr ||
      session->forward_ == nullptr || session->best_ == nullptr || abi() != DQC_CUDA_ABI_VERSION)
    return fail(DQC_ERROR_DEVICE, "'" + path + "' is not launch code of CUDA ABI version " + std::to_string(DQC_CUDA_ABI_VERSION));
  const auto& tensors = bundle.image.tensors();
  std::vector<const void*> data;
  std::vector<uint64_t> sizes;
  for (const TensorEntry& t : tensors) {
    data.push_back(t.data);
    sizes.push_back(t.size);
  }
  char message[1024] = {0};
  if (create(data.data(), sizes.data(), int64_t(tensors.size()), 0, &session->model_, message, sizeof message) != 0)
    return fail(DQC_ERROR_DEVICE, std::string("CUDA: ") + message);
  session->device_ = std::string("cuda: ") + device(session->model_);
  *out = std::move(session);
  return Status::ok();
}

CudaSession::~CudaSession() {
  if (model_ != nullptr && destroy_ != nullptr) destroy_(model_);
  // The library stays loaded: the CUDA runtime inside it may keep threads and handlers.
}

Status CudaSession::forward(const int64_t* ids, int64_t count, float* logits, const int64_t* selected,
                            int64_t n_selected) {
  if (ids == nullptr || logits == nullptr) return fail(DQC_ERROR_ARGUMENT, "forward: null ids or logits");
  if (selected != nullptr) {
    Status s = check_rows(selected, n_selected, count);
    if (!s.is_ok()) return s;
  }
  char message[1024] = {0};
  const int r = forward_(model_, ids, count, selected, selected != nullptr ? n_selected : count, logits, message,
                         sizeof message);
  if (r != 0) return fail(r < 0 ? DQC_ERROR_ARGUMENT : DQC_ERROR_DEVICE, message);
  return Status::ok();
}

Status CudaSession::best_tokens(const int64_t* ids, int64_t count, const int64_t* rows, int64_t n,
                                int64_t* tokens, double* confidence) {
  if (ids == nullptr || tokens == nullptr || confidence == nullptr)
    return fail(DQC_ERROR_ARGUMENT, "forward: null argument");
  Status s = check_rows(rows, n, count);
  if (!s.is_ok()) return s;
  char message[1024] = {0};
  const int r = best_(model_, ids, count, rows, n, tokens, confidence, message, sizeof message);
  if (r != 0) return fail(r < 0 ? DQC_ERROR_ARGUMENT : DQC_ERROR_DEVICE, message);
  return Status::ok();
}

}  // namespace dqc::rt
