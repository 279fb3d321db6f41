// cuda_kernel_tests.cu: the CUDA kernel library (Sources/DQCRuntime/cuda) against the CPU back
// end's kernels (Sources/DQCRuntime/src/kernels) on random data, kernel by kernel, and on a GPU a
// benchmark of the W4A8 GEMM against cuBLAS FP16.
//
// Built two ways (Makefile): as C++ for the CPU emulator (`make emulated`, small shapes, part of
// `make test`), and with nvcc for a GPU (`make gpu`, Scripts/gpu_check.sh), where the shapes
// include the issue's M = 256, N = K = 4096. Exit status 1 when a check fails.
#include "dqc_cuda.cuh"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels.h"

#if !defined(DQC_CUDA_EMULATION)
#include <cublas_v2.h>
#include <cuda_fp16.h>
#endif

namespace {

int failures = 0, checks = 0;

#define CHECK(cond, ...)                 \
  do {                                   \
    checks++;                            \
    if (!(cond)) {                       \
      failures++;                        \
      std::printf("FAIL: " __VA_ARGS__); \
      std::printf("\n");                 \
    }                                    \
  } while (0)

#define CUDA_OK(call)                                                                             \
  do {                                                                                            \
    cudaError_t e_ = (call);                                                                      \
    if (e_ != cudaSuccess) {                                                                      \
      std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)

/// A device copy of a host vector.
template <typename T>
T* upload(const std::vector<T>& host) {
  void* p = nullptr;
  CUDA_OK(cudaMalloc(&p, std::max<size_t>(host.size() * sizeof(T), 256)));
  CUDA_OK(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> download(const T* device, size_t count) {
  std::vector<T> host(count);
  CUDA_OK(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

template <typename T>
T* device_buffer(size_t count) {
  void* p = nullptr;
  CUDA_OK(cudaMalloc(&p, std::max<size_t>(count * sizeof(T), 256)));
  return static_cast<T*>(p);
}

/// IEEE half bits of a float in the normal range (scales here are k / 1024, exact in f16).
uint16_t half_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const int exponent = int((x >> 23) & 0xff) - 127 + 15;
  const uint32_t mantissa = (x >> 13) & 0x3ff;
  return uint16_t(sign | (uint32_t(exponent) << 10) | mantissa);
}

/// max |a - b| / max |b|.
double relative_max(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); i++) {
    worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return worst / scale;
}

/// k.quantize then k.qlinear on the device (both GEMM paths) against quantize_rows + qgemm.
template <int N, int K, int GROUP, int BITS>
void check_qlinear(int rows, std::mt19937& rng, dqc::rt::ThreadPool& pool) {
  constexpr int LDQ = (K + 63) / 64 * 64, G = K / GROUP;
  using W = dqc_cuda::QWeightShape<N, K, GROUP, BITS, uint16_t, true, true>;
  std::uniform_real_distribution<float> value(-2, 2);
  std::vector<float> x(static_cast<size_t>(rows) * K), bias(N);
  for (float& v : x) v = value(rng);
  for (float& v : bias) v = value(rng);
  // Asymmetric weights: unsigned codes, zero points, f16 scales.
  const int levels = 1 << BITS;
  std::vector<uint8_t> codes(static_cast<size_t>(N) * K), zeros(static_cast<size_t>(N) * G);
  std::vector<uint16_t> scales(static_cast<size_t>(N) * G);
  for (auto& c : codes) c = uint8_t(rng() % unsigned(levels));
  for (auto& z : zeros) z = uint8_t(rng() % unsigned(levels));
  for (auto& s : scales) s = half_bits(float(1 + rng() % 64) / 1024.0f);
  std::vector<uint8_t> layout0(BITS == 4 ? static_cast<size_t>(N) * K / 2 : static_cast<size_t>(N) * K);
  if (BITS == 4) {
    for (size_t i = 0; i < codes.size(); i += 2) layout0[i / 2] = uint8_t(codes[i] | (codes[i + 1] << 4));
  } else {
    layout0 = codes;
  }
  const size_t packed_size = BITS == 4 ? dqc::rt::q4_packed_size(N, K) : dqc::rt::q8_packed_size(N, K);
  std::vector<uint8_t> packed(packed_size);
  if (BITS == 4) {
    dqc::rt::q4_pack(layout0.data(), N, K, false, packed.data());
  } else {
    dqc::rt::q8_pack(layout0.data(), N, K, false, packed.data());
  }
  // CPU reference.
  std::vector<int8_t> xq(static_cast<size_t>(rows) * LDQ);
  std::vector<float> xs(static_cast<size_t>(rows)), y_cpu(static_cast<size_t>(rows) * N);
  std::vector<int32_t> xsum(static_cast<size_t>(rows) * G);
  dqc::rt::quantize_rows(pool, x.data(), rows, K, K, 8, GROUP, xq.data(), LDQ, xs.data(), xsum.data());
  const size_t panel = dqc::rt::qparams_panel_size(N, G);
  std::vector<float> scale_panel(panel);
  std::vector<int32_t> zero_panel(panel);
  dqc::rt::build_qparams_panels(scales.data(), true, zeros.data(), N, G, BITS, scale_panel.data(), zero_panel.data());
  dqc::rt::QWeight w;
  w.packed = packed.data();
  w.bits = BITS;
  w.n = N;
  w.k = K;
  w.group = GROUP;
  w.scale_panel = scale_panel.data();
  w.zero_panel = zero_panel.data();
  w.bias = bias.data();
  dqc::rt::qgemm(pool, xq.data(), LDQ, xs.data(), xsum.data(), rows, w, y_cpu.data(), N);
  // Device.
  float* d_x = upload(x);
  int8_t* d_xq = device_buffer<int8_t>(static_cast<size_t>(rows) * LDQ);
  float* d_xs = device_buffer<float>(static_cast<size_t>(rows));
  int32_t* d_xsum = device_buffer<int32_t>(static_cast<size_t>(rows) * G);
  CUDA_OK(dqc_cuda::launch(dqc_cuda::quantize<K, LDQ, GROUP, 8>, rows, dqc_cuda::kRowThreads, nullptr, d_x, d_xq,
                           d_xs, d_xsum));
  CHECK(download(d_xq, xq.size()) == xq && download(d_xsum, xsum.size()) == xsum &&
            download(d_xs, xs.size()) == xs,
        "quantize K=%d rows=%d: codes, sums or scales differ from quantize_rows", K, rows);
  uint8_t* d_packed = upload(packed);
  uint16_t* d_scales = upload(scales);
  uint8_t* d_zeros = upload(zeros);
  float* d_bias = upload(bias);
  float* d_y = device_buffer<float>(static_cast<size_t>(rows) * N);
  const dqc_cuda::QLinearArgs<uint16_t> args{d_xq, d_xs, d_xsum, d_packed, d_scales, d_zeros, d_bias, d_y, rows};
  for (bool mma : {true, false}) {
    CUDA_OK(dqc_cuda::launch_qlinear<W>(args, LDQ, mma, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    const double err = relative_max(download(d_y, y_cpu.size()), y_cpu);
    CHECK(err <= 1e-5, "qlinear%s W%d N=%d K=%d group=%d rows=%d: relative error %.3g", mma ? " (mma)" : " (dp4a)",
          BITS, N, K, GROUP, rows, err);
  }
  for (void* p : {(void*)d_x, (void*)d_xq, (void*)d_xs, (void*)d_xsum, (void*)d_packed, (void*)d_scales,
                  (void*)d_zeros, (void*)d_bias, (void*)d_y})
    cudaFree(p);
}

/// RMSNorm (alone and fused with quantization) and the f32 head GEMM.
template <int D, int N>
void check_norm_and_linear(int rows, std::mt19937& rng, dqc::rt::ThreadPool& pool) {
  std::uniform_real_distribution<float> value(-3, 3);
  std::vector<float> x(static_cast<size_t>(rows) * D), gamma(D), weight(static_cast<size_t>(N) * D), y_cpu(static_cast<size_t>(rows) * D);
  for (float& v : x) v = value(rng);
  for (float& v : gamma) v = 1 + 0.1f * value(rng);
  for (float& v : weight) v = 0.2f * value(rng);
  dqc::rt::rms_norm(pool, x.data(), rows, D, gamma.data(), 1e-5, y_cpu.data());
  float* d_x = upload(x);
  float* d_gamma = upload(gamma);
  float* d_y = device_buffer<float>(y_cpu.size());
  CUDA_OK(dqc_cuda::launch(dqc_cuda::rms_norm<D>, rows, dqc_cuda::kRowThreads, nullptr, d_x, d_gamma, 1e-5, d_y));
  CHECK(relative_max(download(d_y, y_cpu.size()), y_cpu) <= 1e-6, "rms_norm D=%d rows=%d", D, rows);
  constexpr int LDQ = (D + 63) / 64 * 64;
  int8_t* d_xq = device_buffer<int8_t>(static_cast<size_t>(rows) * LDQ);
  float* d_xs = device_buffer<float>(static_cast<size_t>(rows));
  int32_t* d_xsum = device_buffer<int32_t>(static_cast<size_t>(rows) * (D / 32));
  float* d_y2 = device_buffer<float>(y_cpu.size());
  CUDA_OK(dqc_cuda::launch(dqc_cuda::rms_norm_quantize<D, LDQ, 32, 8, true>, rows, dqc_cuda::kRowThreads, nullptr,
                           d_x, d_gamma, 1e-5, d_y2, d_xq, d_xs, d_xsum));
  std::vector<int8_t> xq(static_cast<size_t>(rows) * LDQ);
  std::vector<float> xs(static_cast<size_t>(rows));
  std::vector<int32_t> xsum(static_cast<size_t>(rows) * (D / 32));
  dqc::rt::quantize_rows(pool, y_cpu.data(), rows, D, D, 8, 32, xq.data(), LDQ, xs.data(), xsum.data());
  CHECK(download(d_y2, y_cpu.size()) == download(d_y, y_cpu.size()), "rms_norm_quantize D=%d: the norm differs", D);
  size_t differing = 0;
  const std::vector<int8_t> got = download(d_xq, xq.size());
  for (size_t i = 0; i < xq.size(); i++) differing += std::abs(int(got[i]) - int(xq[i])) > 1;
  CHECK(differing == 0, "rms_norm_quantize D=%d: %zu codes differ by more than one step", D, differing);
  // Head: y = x W^T over layout 3.
  std::vector<float> packed(dqc::rt::f32_packed_size(N, D) / sizeof(float)), logits_cpu(static_cast<size_t>(rows) * N);
  dqc::rt::f32_pack(weight.data(), N, D, packed.data());
  dqc::rt::sgemm_packed(pool, y_cpu.data(), rows, D, D, packed.data(), N, nullptr, logits_cpu.data(), N);
  float* d_w = upload(packed);
  float* d_logits = device_buffer<float>(logits_cpu.size());
  CUDA_OK((dqc_cuda::launch_linear<N, D, false>(d_y, d_w, nullptr, d_logits, rows, nullptr)));
  CHECK(relative_max(download(d_logits, logits_cpu.size()), logits_cpu) <= 1e-5, "linear N=%d K=%d rows=%d", N, D,
        rows);
  for (void* p : {(void*)d_x, (void*)d_gamma, (void*)d_y, (void*)d_xq, (void*)d_xs, (void*)d_xsum, (void*)d_y2,
                  (void*)d_w, (void*)d_logits})
    cudaFree(p);
}

/// IA-AQ attention (8-bit q, k, V and P) against the CPU kernel.
template <int HEADS, int KV, int DH, int SEQ>
void check_attention(int rows, std::mt19937& rng, dqc::rt::ThreadPool& pool) {
  std::uniform_real_distribution<float> value(-2, 2);
  std::vector<float> q(static_cast<size_t>(rows) * HEADS * DH), k(static_cast<size_t>(rows) * KV * DH), v(k.size()),
      out_cpu(q.size());
  for (float& x : q) x = value(rng);
  for (float& x : k) x = value(rng);
  for (float& x : v) x = value(rng);
  dqc::rt::AttentionParams p;
  p.seq = rows;
  p.heads = HEADS;
  p.kv_heads = KV;
  p.head_dim = DH;
  p.scale = 1.0f / std::sqrt(float(DH));
  p.qk_bits = p.p_bits = p.v_bits = 8;
  std::vector<uint8_t> scratch(dqc::rt::attention_scratch_size(p, pool.size()));
  dqc::rt::attention(pool, q.data(), HEADS * DH, k.data(), KV * DH, v.data(), KV * DH, p, out_cpu.data(),
                     HEADS * DH, scratch.data());
  float* d_q = upload(q);
  float* d_k = upload(k);
  float* d_v = upload(v);
  float* d_out = device_buffer<float>(out_cpu.size());
  uint8_t* d_scratch = device_buffer<uint8_t>(static_cast<size_t>(dqc_cuda::attention_scratch_bytes(SEQ, HEADS, KV, DH)));
  CUDA_OK((dqc_cuda::launch_attention<HEADS, KV, DH, SEQ, 8, 8, 8>(d_q, d_k, d_v, nullptr, p.scale, d_out, rows,
                                                                  d_scratch, nullptr)));
  const double err = relative_max(download(d_out, out_cpu.size()), out_cpu);
  // Integer q.k and p.v against the CPU's fake-quantized floats: a score may round to the
  // neighbouring probability step (docs/gpu.md).
  CHECK(err <= 1e-2, "attention heads=%d kv=%d dh=%d rows=%d: relative error %.3g", HEADS, KV, DH, rows, err);
  for (void* ptr : {(void*)d_q, (void*)d_k, (void*)d_v, (void*)d_out, (void*)d_scratch}) cudaFree(ptr);
}

#if !defined(DQC_CUDA_EMULATION)
/// The issue's benchmark: the W4A8 GEMM at M = 256, N = K = 4096 (group 128) against cuBLAS FP16
/// (what torch.matmul calls) on the same device; medians of 50 runs.
void benchmark_gemm() {
  constexpr int M = 256, N = 4096, K = 4096, GROUP = 128, G = K / GROUP;
  using W = dqc_cuda::QWeightShape<N, K, GROUP, 4, uint16_t, true, false>;
  std::vector<int8_t> xq(static_cast<size_t>(M) * K, 3);
  std::vector<float> xs(M, 0.01f);
  std::vector<int32_t> xsum(static_cast<size_t>(M) * G, 3 * GROUP);
  std::vector<uint8_t> packed(dqc::rt::q4_packed_size(N, K), 0x5a), zeros(static_cast<size_t>(N) * G, 8);
  std::vector<uint16_t> scales(static_cast<size_t>(N) * G, half_bits(0.01f));
  const dqc_cuda::QLinearArgs<uint16_t> args{upload(xq), upload(xs), upload(xsum), upload(packed), upload(scales),
                                             upload(zeros), nullptr, device_buffer<float>(static_cast<size_t>(M) * N), M};
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  auto median_ms = [&](auto&& run) {
    for (int i = 0; i < 5; i++) run();
    std::vector<float> times;
    for (int i = 0; i < 50; i++) {
      cudaEventRecord(start);
      run();
      cudaEventRecord(stop);
      cudaEventSynchronize(stop);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  const float mma = median_ms([&] { dqc_cuda::launch_qlinear<W>(args, K, true, nullptr); });
  const float dp4a = median_ms([&] { dqc_cuda::launch_qlinear<W>(args, K, false, nullptr); });
  cublasHandle_t handle;
  cublasCreate(&handle);
  std::vector<__half> a(static_cast<size_t>(M) * K, __float2half(0.01f)), b(static_cast<size_t>(K) * N, __float2half(0.01f));
  __half* d_a = upload(a);
  __half* d_b = upload(b);
  __half* d_c = device_buffer<__half>(static_cast<size_t>(M) * N);
  const __half alpha = __float2half(1.0f), beta = __float2half(0.0f);
  const float fp16 = median_ms([&] {
    cublasHgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &alpha, d_b, N, d_a, K, &beta, d_c, N);
  });
  const double flop = 2.0 * M * N * K;
  std::printf("GEMM M=%d N=%d K=%d: dqc W4A8 mma %.4f ms (%.1f TOPS), dp4a %.4f ms, cuBLAS FP16 %.4f ms "
              "(%.1f TFLOPS); speed-up over FP16: mma %.2fx, dp4a %.2fx (goal 1.8x)\n",
              M, N, K, mma, flop / mma / 1e9, dp4a, fp16, flop / fp16 / 1e9, fp16 / mma, fp16 / dp4a);
  cublasDestroy(handle);
}
#endif

}  // namespace

int main() {
  std::mt19937 rng(20261129);
  dqc::rt::ThreadPool pool(2);
  for (int rows : {1, 37, 64}) {
    check_qlinear<96, 256, 128, 4>(rows, rng, pool);
    check_qlinear<70, 64, 32, 4>(rows, rng, pool);
    check_qlinear<40, 128, 64, 8>(rows, rng, pool);
    check_qlinear<24, 48, 8, 4>(rows, rng, pool);
    check_norm_and_linear<256, 80>(rows, rng, pool);
    check_attention<4, 2, 32, 64>(rows, rng, pool);
  }
  // The tensor-core path's pipeline and tiles: more steps than stages, several row blocks, the
  // 128-channel tiles (N >= 4096) with a partial last tile, per-channel 8-bit groups, and a K that
  // is not a multiple of 64 (dp4a).
  for (int rows : {130}) {
    check_qlinear<144, 512, 128, 4>(rows, rng, pool);
    check_qlinear<80, 384, 384, 8>(rows, rng, pool);
    check_qlinear<48, 96, 32, 4>(rows, rng, pool);
  }
  // Long score rows: 2 query rows per attention block, the last block with one.
  check_attention<2, 1, 16, 4096>(37, rng, pool);
  check_qlinear<4112, 128, 64, 4>(70, rng, pool);
  check_qlinear<4128, 192, 192, 8>(33, rng, pool);
#if !defined(DQC_CUDA_EMULATION)
  for (int rows : {256, 1000}) {
    check_qlinear<4096, 4096, 128, 4>(rows, rng, pool);
    check_attention<16, 16, 64, 1024>(rows, rng, pool);
  }
  benchmark_gemm();
#endif
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
