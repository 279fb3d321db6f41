// host.cuh: the host side of a model's launch code: the C entry points the runtime calls after
// loading the compiled library (ABI in dqc_cuda_abi.h, docs/gpu.md). The generated part of the
// translation unit defines `dqc_model_info()` and `dqc_model_launch()`.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace dqc_cuda {

/// Constants of one model's plan, from the generated code.
struct ModelInfo {
  int64_t seq_len;        // rows the plan serves
  int64_t vocab;          // logits per row
  int64_t arena_bytes;    // activation arena
  int64_t scratch_bytes;  // attention scratch
  int64_t tensor_count;   // entries of the bundle's tensor index
  int64_t output_offset;  // arena offset of the logits [seq_len, vocab]
  int64_t embedding_rows; // ids must lie in [0, embedding_rows)
  int64_t host_table;     // tensor-index entry of the embedding table kept in host memory, or -1
  int64_t host_width;     // its row length (floats)
  int64_t host_output;    // arena offset of the gathered rows [seq_len, host_width]
};

/// A model on the device: its weights (uploaded once), arena and staging buffers.
struct Model {
  int device = 0;
  bool mma = false;  // integer tensor cores for qgemm (sm_80+, unless DQC_CUDA_GEMM=dp4a)
  cudaStream_t stream = nullptr;
  uint8_t* weights = nullptr;  // every tensor, 256-byte aligned
  const void** tensor = nullptr;  // device address of each tensor-index entry
  uint8_t* arena = nullptr;
  uint8_t* scratch = nullptr;
  int64_t* ids = nullptr;       // [seq_len]
  int64_t* rows = nullptr;      // [seq_len] selected rows
  int64_t* tokens = nullptr;    // [seq_len]
  double* confidence = nullptr; // [seq_len]
  const float* host_table = nullptr;  // the embedding table, in host memory (the bundle's mapping)
  float* staging = nullptr;           // pinned [seq_len, host_width]: gathered embedding rows
  uint64_t weight_bytes = 0;          // device memory taken by the weights
  char name[256] = {0};
  // The plan's launches captured as CUDA graphs, one per token count seen (the sampler calls
  // with the same count step after step), so that a pass is one graph launch instead of a few
  // hundred kernel launches (launch_plan). DQC_CUDA_GRAPHS=0 launches the kernels one by one.
  static constexpr int kGraphs = 8;  // counts beyond these run without a graph
  bool use_graphs = true;
  int graph_count = 0;                         // counts seen
  int64_t graph_rows[kGraphs] = {0};           // each count
  cudaGraphExec_t graph[kGraphs] = {nullptr};  // its graph, once captured (its second pass)
};

}  // namespace dqc_cuda

static const dqc_cuda::ModelInfo& dqc_model_info();
static cudaError_t dqc_model_launch(const dqc_cuda::Model& m, int rows, cudaStream_t stream);
static cudaError_t dqc_model_argmax(const dqc_cuda::Model& m, int count, cudaStream_t stream);

namespace dqc_cuda {

inline int report(char* message, size_t size, const char* what, cudaError_t error) {
  if (message != nullptr && size > 0)
    snprintf(message, size, "%s: %s (%s)", what, cudaGetErrorString(error), cudaGetErrorName(error));
  return int(error == cudaSuccess ? 1 : error);
}

inline void release(Model* m) {
  if (m == nullptr) return;
  cudaFree(m->weights);
  cudaFree(m->arena);
  cudaFree(m->scratch);
  cudaFree(m->ids);
  cudaFree(m->rows);
  cudaFree(m->tokens);
  cudaFree(m->confidence);
  cudaFreeHost(m->staging);
  for (int i = 0; i < m->graph_count; i++)
    if (m->graph[i] != nullptr) cudaGraphExecDestroy(m->graph[i]);
  if (m->stream != nullptr) cudaStreamDestroy(m->stream);
  free(m->tensor);
  delete m;
}

/// Captures the plan's launches over `rows` rows on the model's stream as a graph, or returns null
/// when the capture failed.
inline cudaGraphExec_t capture_plan(Model* m, int rows) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (cudaStreamBeginCapture(m->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) return nullptr;
  const cudaError_t launched = dqc_model_launch(*m, rows, m->stream);
  cudaError_t error = cudaStreamEndCapture(m->stream, &graph);
  if (launched != cudaSuccess) error = launched;
  if (error == cudaSuccess) error = cudaGraphInstantiateWithFlags(&exec, graph, 0);
  if (graph != nullptr) cudaGraphDestroy(graph);
  return error == cudaSuccess ? exec : nullptr;
}

/// Runs the plan over `rows` rows on the model's stream. The first pass of a row count launches
/// the kernels one by one (which also loads them: with lazy module loading, a kernel's first
/// launch must not happen under capture on older drivers); the second captures them as a graph,
/// and every later pass replays it. Counts beyond the first kGraphs, and every count once a
/// capture failed, launch one by one.
inline cudaError_t launch_plan(Model* m, int rows) {
  if (m->use_graphs) {
    int slot = 0;
    while (slot < m->graph_count && m->graph_rows[slot] != rows) slot++;
    if (slot < m->graph_count && m->graph[slot] != nullptr) return cudaGraphLaunch(m->graph[slot], m->stream);
    if (slot < m->graph_count) {
      cudaGraphExec_t exec = capture_plan(m, rows);
      if (exec != nullptr) {
        m->graph[slot] = exec;
        return cudaGraphLaunch(exec, m->stream);
      }
      // A launch that fails under capture fails without it too, and says so below; any other
      // capture failure leaves the model on plain launches.
      cudaGetLastError();
      m->use_graphs = false;
    } else if (m->graph_count < Model::kGraphs) {
      m->graph_rows[m->graph_count++] = rows;  // seen once: captured next time
    }
  }
  return dqc_model_launch(*m, rows, m->stream);
}

/// Copies the ids to the device after checking them, and runs the plan over `count` rows.
inline int run(Model* m, const int64_t* ids, int64_t count, char* message, size_t size) {
  const ModelInfo& info = dqc_model_info();
  if (count < 1 || count > info.seq_len) {
    snprintf(message, size, "forward: %lld tokens; the plan serves 1 to %lld", (long long)count,
             (long long)info.seq_len);
    return -1;
  }
  for (int64_t i = 0; i < count; i++) {
    if (ids[i] < 0 || ids[i] >= info.embedding_rows) {
      snprintf(message, size, "forward: token id %lld at position %lld lies outside the vocabulary of %lld",
               (long long)ids[i], (long long)i, (long long)info.embedding_rows);
      return -1;
    }
  }
  cudaError_t e = cudaMemcpyAsync(m->ids, ids, size_t(count) * 8, cudaMemcpyHostToDevice, m->stream);
  if (e != cudaSuccess) return report(message, size, "forward: copying the ids", e);
  if (m->host_table != nullptr) {
    // The embedding: rows gathered here, one copy into the arena. The staging buffer is free:
    // every entry point waits for its stream before returning.
    const int64_t d = info.host_width;
    for (int64_t i = 0; i < count; i++) memcpy(m->staging + i * d, m->host_table + ids[i] * d, size_t(d) * 4);
    e = cudaMemcpyAsync(m->arena + info.host_output, m->staging, size_t(count * d) * 4, cudaMemcpyHostToDevice,
                        m->stream);
    if (e != cudaSuccess) return report(message, size, "forward: copying the embedding rows", e);
  }
  e = launch_plan(m, int(count));
  if (e != cudaSuccess) return report(message, size, "forward: launching the kernels", e);
  return 0;
}

}  // namespace dqc_cuda

extern "C" {

/// The ABI version of these entry points (dqc_cuda_abi.h).
__attribute__((visibility("default"))) int dqc_cuda_abi_version(void) { return 1; }

/// Uploads the bundle's tensors (`count` host views, in tensor-index order) to device `device`
/// and allocates the arena. The embedding table named by the model's info stays where it is:
/// the views must stay valid until dqc_cuda_model_destroy. 0 on success; otherwise `message`
/// says why.
__attribute__((visibility("default"))) int dqc_cuda_model_create(const void* const* data, const uint64_t* bytes,
                                                                 int64_t count, int device, void** out,
                                                                 char* message, size_t size) {
  using namespace dqc_cuda;
  const ModelInfo& info = dqc_model_info();
  *out = nullptr;
  if (count != info.tensor_count) {
    snprintf(message, size, "the launch code expects %lld tensors, the bundle has %lld",
             (long long)info.tensor_count, (long long)count);
    return -1;
  }
  Model* m = new Model();
  m->device = device;
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) {
    release(m);
    return report(message, size, "selecting the device", e);
  }
  cudaDeviceProp prop;
  if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) {
    release(m);
    return report(message, size, "reading the device's properties", e);
  }
  snprintf(m->name, sizeof m->name, "%.200s (sm_%d%d)", prop.name, prop.major, prop.minor);
  const char* gemm = getenv("DQC_CUDA_GEMM");
  m->mma = prop.major >= 8 && !(gemm != nullptr && strcmp(gemm, "dp4a") == 0);
  const char* graphs = getenv("DQC_CUDA_GRAPHS");
  m->use_graphs = !(graphs != nullptr && strcmp(graphs, "0") == 0);
  m->tensor = static_cast<const void**>(calloc(size_t(count > 0 ? count : 1), sizeof(void*)));
  uint64_t total = 0;
  for (int64_t i = 0; i < count; i++)
    if (i != info.host_table) total += (bytes[i] + 255) / 256 * 256;
  m->weight_bytes = total;
  if (info.host_table >= 0) {
    m->host_table = static_cast<const float*>(data[info.host_table]);
    if ((e = cudaMallocHost(reinterpret_cast<void**>(&m->staging),
                            size_t(info.seq_len * info.host_width) * 4)) != cudaSuccess) {
      release(m);
      return report(message, size, "allocating pinned host memory", e);
    }
  }
  const int64_t seq = info.seq_len;
  if ((e = cudaStreamCreateWithFlags(&m->stream, cudaStreamNonBlocking)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->weights), total > 0 ? total : 256)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->arena), size_t(info.arena_bytes > 0 ? info.arena_bytes : 64))) !=
          cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->scratch),
                      size_t(info.scratch_bytes > 0 ? info.scratch_bytes : 64))) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->ids), size_t(seq) * 8)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->rows), size_t(seq) * 8)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->tokens), size_t(seq) * 8)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void**>(&m->confidence), size_t(seq) * 8)) != cudaSuccess) {
    release(m);
    return report(message, size, "allocating device memory", e);
  }
  uint64_t offset = 0;
  for (int64_t i = 0; i < count; i++) {
    if (i == info.host_table) continue;  // m->tensor[i] stays null: no kernel reads it
    m->tensor[i] = m->weights + offset;
    if (bytes[i] > 0 && (e = cudaMemcpy(m->weights + offset, data[i], bytes[i], cudaMemcpyHostToDevice)) != cudaSuccess) {
      release(m);
      return report(message, size, "uploading the weights", e);
    }
    offset += (bytes[i] + 255) / 256 * 256;
  }
  *out = m;
  return 0;
}

__attribute__((visibility("default"))) void dqc_cuda_model_destroy(void* model) {
  dqc_cuda::release(static_cast<dqc_cuda::Model*>(model));
}

/// Device memory taken by the model's weights, in bytes (the arena and staging not included).
__attribute__((visibility("default"))) uint64_t dqc_cuda_model_weight_bytes(void* model) {
  return static_cast<dqc_cuda::Model*>(model)->weight_bytes;
}

/// The device's name and architecture.
__attribute__((visibility("default"))) const char* dqc_cuda_model_device(void* model) {
  return static_cast<dqc_cuda::Model*>(model)->name;
}

/// One forward pass over `count` ids; logits of the `row_count` rows in `rows` (all `count` rows
/// when `rows` is null) to `logits`, row_count x vocab.
__attribute__((visibility("default"))) int dqc_cuda_model_forward(void* model, const int64_t* ids, int64_t count,
                                                                  const int64_t* rows, int64_t row_count,
                                                                  float* logits, char* message, size_t size) {
  using namespace dqc_cuda;
  Model* m = static_cast<Model*>(model);
  const ModelInfo& info = dqc_model_info();
  int status = run(m, ids, count, message, size);
  if (status != 0) return status;
  const float* out = reinterpret_cast<const float*>(m->arena + info.output_offset);
  const size_t row_bytes = size_t(info.vocab) * sizeof(float);
  cudaError_t e = cudaSuccess;
  if (rows == nullptr) {
    e = cudaMemcpyAsync(logits, out, size_t(count) * row_bytes, cudaMemcpyDeviceToHost, m->stream);
  } else {
    for (int64_t j = 0; j < row_count && e == cudaSuccess; j++)
      e = cudaMemcpyAsync(logits + j * info.vocab, out + rows[j] * info.vocab, row_bytes, cudaMemcpyDeviceToHost,
                          m->stream);
  }
  if (e == cudaSuccess) e = cudaStreamSynchronize(m->stream);
  return e == cudaSuccess ? 0 : report(message, size, "forward: reading the logits", e);
}

/// One forward pass, then the sampler's step on the device: for each of the `row_count` rows,
/// the argmax token and its softmax probability.
__attribute__((visibility("default"))) int dqc_cuda_model_forward_best(void* model, const int64_t* ids,
                                                                       int64_t count, const int64_t* rows,
                                                                       int64_t row_count, int64_t* tokens,
                                                                       double* confidence, char* message,
                                                                       size_t size) {
  using namespace dqc_cuda;
  Model* m = static_cast<Model*>(model);
  if (row_count < 1 || row_count > count) {
    snprintf(message, size, "forward: %lld selected rows of %lld", (long long)row_count, (long long)count);
    return -1;
  }
  int status = run(m, ids, count, message, size);
  if (status != 0) return status;
  cudaError_t e = cudaMemcpyAsync(m->rows, rows, size_t(row_count) * 8, cudaMemcpyHostToDevice, m->stream);
  if (e == cudaSuccess) e = dqc_model_argmax(*m, int(row_count), m->stream);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(tokens, m->tokens, size_t(row_count) * 8, cudaMemcpyDeviceToHost, m->stream);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(confidence, m->confidence, size_t(row_count) * 8, cudaMemcpyDeviceToHost, m->stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(m->stream);
  return e == cudaSuccess ? 0 : report(message, size, "forward: the sampler step", e);
}

}  // extern "C"
