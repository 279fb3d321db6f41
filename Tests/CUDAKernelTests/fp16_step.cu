// fp16_step.cu: one denoising step of a LLaDA-layout model in FP16 on the GPU, the way PyTorch
// runs the FP16 model (cuBLAS GEMMs with FP32 accumulation, FP16 activations, softmax and
// norms computed in FP32), for machines where PyTorch itself is not installed: the baseline of
// the CUDA back end's step-time goal (docs/gpu.md). Random weights (times do not depend on
// them). It is leaner than PyTorch's eager model (no transposed copies for attention, fused
// elementwise kernels, one stream, no framework overhead), so a speed-up measured against it is
// a lower bound of the one against PyTorch.
//
//   fp16_step D_MODEL HEADS LAYERS MLP VOCAB [TOKENS] [RUNS]
//
// Prints the median and fastest of RUNS steps (a forward pass over TOKENS ids with every row's
// logits, CUDA events) after two untimed ones, and the weights' device memory.
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

#define CHECK_CUDA(x)                                                                      \
  do {                                                                                     \
    cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e_));     \
      std::exit(2);                                                                        \
    }                                                                                      \
  } while (0)
#define CHECK_CUBLAS(x)                                                                    \
  do {                                                                                     \
    cublasStatus_t s_ = (x);                                                               \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                     \
      std::fprintf(stderr, "%s:%d: cuBLAS status %d\n", __FILE__, __LINE__, int(s_));      \
      std::exit(2);                                                                        \
    }                                                                                      \
  } while (0)

/// Uniform values in [-scale, scale) from a hash of the index.
__global__ void fill(half* p, size_t n, float scale, unsigned seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    unsigned h = unsigned(i) * 2654435761u ^ seed * 2246822519u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = __float2half(scale * (float(h & 0xFFFFFF) / 8388608.0f - 1.0f));
  }
}

__global__ void gather(const int* ids, const half* table, int d, half* out) {
  const int row = blockIdx.x;
  for (int c = threadIdx.x; c < d; c += blockDim.x) out[size_t(row) * d + c] = table[size_t(ids[row]) * d + c];
}

/// One block per row: y = x * rsqrt(mean(x^2) + eps) * w, in FP32.
__global__ void rms_norm(const half* x, const half* w, int d, float eps, half* y) {
  __shared__ float partial[32];
  const half* xr = x + size_t(blockIdx.x) * d;
  float sum = 0;
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    const float v = __half2float(xr[c]);
    sum += v * v;
  }
  for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x < 32) {
    sum = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0;
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (threadIdx.x == 0) partial[0] = sum;
  }
  __syncthreads();
  const float inv = rsqrtf(partial[0] / d + eps);
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    y[size_t(blockIdx.x) * d + c] = __float2half(__half2float(xr[c]) * inv * __half2float(w[c]));
  }
}

/// Rotate-half RoPE in place on q and k [T, heads * hd]; one block per token.
__global__ void rope(half* q, half* k, int heads, int hd, float theta) {
  const int t = blockIdx.x, half_dim = hd / 2;
  for (int i = threadIdx.x; i < heads * half_dim; i += blockDim.x) {
    const int h = i / half_dim, j = i % half_dim;
    const float angle = t * powf(theta, -2.0f * j / hd);
    const float c = cosf(angle), s = sinf(angle);
    for (half* p : {q, k}) {
      half* row = p + size_t(t) * heads * hd + size_t(h) * hd;
      const float a = __half2float(row[j]), b = __half2float(row[j + half_dim]);
      row[j] = __float2half(a * c - b * s);
      row[j + half_dim] = __float2half(b * c + a * s);
    }
  }
}

/// One block per row of n scores: softmax(scale * x) in FP32, written back as FP16.
__global__ void softmax(half* s, int n, float scale) {
  __shared__ float partial[32];
  half* row = s + size_t(blockIdx.x) * n;
  float m = -INFINITY;
  for (int c = threadIdx.x; c < n; c += blockDim.x) m = fmaxf(m, __half2float(row[c]) * scale);
  for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = m;
  __syncthreads();
  m = partial[0];
  for (int w = 1; w < int(blockDim.x / 32); w++) m = fmaxf(m, partial[w]);
  __syncthreads();
  float sum = 0;
  for (int c = threadIdx.x; c < n; c += blockDim.x) sum += __expf(__half2float(row[c]) * scale - m);
  for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  __syncthreads();
  sum = 0;
  for (int w = 0; w < int(blockDim.x / 32); w++) sum += partial[w];
  for (int c = threadIdx.x; c < n; c += blockDim.x) {
    row[c] = __float2half(__expf(__half2float(row[c]) * scale - m) / sum);
  }
}

__global__ void silu_mul(const half* g, const half* u, size_t n, half* out) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float a = __half2float(g[i]);
    out[i] = __float2half(a / (1.0f + __expf(-a)) * __half2float(u[i]));
  }
}

__global__ void add(half* x, const half* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    x[i] = __float2half(__half2float(x[i]) + __half2float(y[i]));
  }
}

/// y[T, n] = x[T, k] · w[n, k]ᵀ, all row-major FP16, FP32 accumulation (PyTorch's default).
void linear(cublasHandle_t h, const half* x, const half* w, int t, int k, int n, half* y) {
  const float one = 1, zero = 0;
  CHECK_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, t, k, &one, w, CUDA_R_16F, k, x, CUDA_R_16F, k,
                            &zero, y, CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: fp16_step D_MODEL HEADS LAYERS MLP VOCAB [TOKENS] [RUNS]\n");
    return 2;
  }
  const int d = std::atoi(argv[1]), heads = std::atoi(argv[2]), layers = std::atoi(argv[3]);
  const int mlp = std::atoi(argv[4]), vocab = std::atoi(argv[5]);
  const int t = argc > 6 ? std::atoi(argv[6]) : 256, runs = argc > 7 ? std::atoi(argv[7]) : 20;
  if (d <= 0 || heads <= 0 || d % heads != 0 || (d / heads) % 2 != 0 || layers <= 0 || mlp <= 0 ||
      vocab <= 0 || t <= 0 || runs <= 0) {
    std::fprintf(stderr, "fp16_step: bad shape arguments\n");
    return 2;
  }
  const int hd = d / heads;
  size_t weights = size_t(vocab) * d * 2 + d;  // embedding, head, final norm
  const size_t per_layer = 4 * size_t(d) * d + 3 * size_t(d) * mlp + 2 * size_t(d);
  weights += size_t(layers) * per_layer;
  half* w = nullptr;
  CHECK_CUDA(cudaMalloc(&w, weights * sizeof(half)));
  fill<<<1024, 256>>>(w, weights, 0.02f, 1);
  CHECK_CUDA(cudaGetLastError());
  half* cursor = w;
  auto take = [&](size_t n) {
    half* p = cursor;
    cursor += n;
    return p;
  };
  half* embedding = take(size_t(vocab) * d);
  half* head = take(size_t(vocab) * d);
  half* final_norm = take(d);
  struct Layer {
    half *attn_norm, *q, *k, *v, *o, *ff_norm, *gate, *up, *down;
  };
  std::vector<Layer> stack(layers);
  for (Layer& l : stack) {
    l.attn_norm = take(d);
    l.q = take(size_t(d) * d);
    l.k = take(size_t(d) * d);
    l.v = take(size_t(d) * d);
    l.o = take(size_t(d) * d);
    l.ff_norm = take(d);
    l.gate = take(size_t(d) * mlp);
    l.up = take(size_t(d) * mlp);
    l.down = take(size_t(d) * mlp);
  }
  half *x, *h, *q, *k, *v, *y, *scores, *g, *u, *logits;
  CHECK_CUDA(cudaMalloc(&x, size_t(t) * d * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&h, size_t(t) * d * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&q, size_t(t) * d * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&k, size_t(t) * d * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&v, size_t(t) * d * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&y, size_t(t) * d * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&scores, size_t(heads) * t * t * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&g, size_t(t) * mlp * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&u, size_t(t) * mlp * sizeof(half)));
  CHECK_CUDA(cudaMalloc(&logits, size_t(t) * vocab * sizeof(half)));
  std::vector<int> host_ids(t);
  for (int i = 0; i < t; i++) host_ids[i] = int((1103515245u * unsigned(i) + 12345u) % unsigned(vocab));
  int* ids = nullptr;
  CHECK_CUDA(cudaMalloc(&ids, t * sizeof(int)));
  CHECK_CUDA(cudaMemcpy(ids, host_ids.data(), t * sizeof(int), cudaMemcpyHostToDevice));
  cublasHandle_t blas;
  CHECK_CUBLAS(cublasCreate(&blas));
  const float one = 1, zero = 0, scale = 1.0f / std::sqrt(float(hd));
  const size_t td = size_t(t) * d, tm = size_t(t) * mlp;

  auto step = [&] {
    gather<<<t, 256>>>(ids, embedding, d, x);
    for (const Layer& l : stack) {
      rms_norm<<<t, 256>>>(x, l.attn_norm, d, 1e-5f, h);
      linear(blas, h, l.q, t, d, d, q);
      linear(blas, h, l.k, t, d, d, k);
      linear(blas, h, l.v, t, d, d, v);
      rope<<<t, 256>>>(q, k, heads, hd, 10000.0f);
      // scores[hh] = q_hh · k_hhᵀ (row-major [T, T] per head), then softmax, then y_hh = p · v_hh.
      CHECK_CUBLAS(cublasGemmStridedBatchedEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, t, t, hd, &one, k, CUDA_R_16F, d, hd,
                                              q, CUDA_R_16F, d, hd, &zero, scores, CUDA_R_16F, t,
                                              (long long)t * t, heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      softmax<<<heads * t, 256>>>(scores, t, scale);
      CHECK_CUBLAS(cublasGemmStridedBatchedEx(blas, CUBLAS_OP_N, CUBLAS_OP_N, hd, t, t, &one, v, CUDA_R_16F, d, hd,
                                              scores, CUDA_R_16F, t, (long long)t * t, &zero, y, CUDA_R_16F, d,
                                              hd, heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      linear(blas, y, l.o, t, d, d, h);
      add<<<256, 256>>>(x, h, td);
      rms_norm<<<t, 256>>>(x, l.ff_norm, d, 1e-5f, h);
      linear(blas, h, l.gate, t, d, mlp, g);
      linear(blas, h, l.up, t, d, mlp, u);
      silu_mul<<<256, 256>>>(g, u, tm, g);
      linear(blas, g, l.down, t, mlp, d, h);
      add<<<256, 256>>>(x, h, td);
    }
    rms_norm<<<t, 256>>>(x, final_norm, d, 1e-5f, h);
    linear(blas, h, head, t, d, vocab, logits);
  };
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < 2; i++) step();
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<float> ms;
  for (int i = 0; i < runs; i++) {
    CHECK_CUDA(cudaEventRecord(start));
    step();
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float elapsed = 0;
    CHECK_CUDA(cudaEventElapsedTime(&elapsed, start, stop));
    ms.push_back(elapsed);
  }
  CHECK_CUDA(cudaGetLastError());
  std::sort(ms.begin(), ms.end());
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("FP16 (cuBLAS, FP32 accumulation) on %s: %d tokens, d %d, %d heads, %d layers, MLP %d, vocab %d, %d runs\n",
              prop.name, t, d, heads, layers, mlp, vocab, runs);
  std::printf("step with all logits:      median %.3f ms, best %.3f ms\n", ms[ms.size() / 2], ms.front());
  std::printf("weights on the device: %.1f MiB\n", double(weights * sizeof(half)) / 1048576.0);
  cublasDestroy(blas);
  return 0;
}
