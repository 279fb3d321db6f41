// kernel_bench.cpp: on the target workload, M = 256 tokens, on a 2-thread pool:
// - sgemm_packed (the active ISA path) against OpenBLAS's sgemm, the yardstick (x W^T with W
//   row-major, on as many OpenBLAS threads as the pool has; `make bench` names its AVX-512
//   kernels), on the LM head (K 1024, N 32000) and a square layer;
// - qgemm (W4A8, group 128) against sgemm_packed on the linear layers;
// - the model ops (attention, swiglu, quantize_rows, rms_norm, rope, add, embedding) at the
//   target model's shapes.
//
// Prints per shape the median time of the runs, the GFLOPS or GOPS (2*M*N*K operations) and the
// ratio, and the same for the best run of each (steadier on a shared machine).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels.h"

using namespace dqc::rt;

namespace {

constexpr int kRuns = 21;
constexpr int kWarmups = 3;

double seconds_of(const std::function<void()>& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Timing {
  double median, best;
};

/// Times the bodies in turn, run after run, so that both see the same machine load (this
/// matters on shared virtual machines); returns each one's median and best.
std::vector<Timing> interleaved(const std::vector<std::function<void()>>& bodies) {
  for (int i = 0; i < kWarmups; ++i) {
    for (const auto& body : bodies) body();
  }
  std::vector<std::vector<double>> times(bodies.size());
  for (int i = 0; i < kRuns; ++i) {
    for (size_t b = 0; b < bodies.size(); ++b) times[b].push_back(seconds_of(bodies[b]));
  }
  std::vector<Timing> out;
  for (std::vector<double>& t : times) {
    std::sort(t.begin(), t.end());
    out.push_back({t[t.size() / 2], t[0]});
  }
  return out;
}

/// n floats at a 64-byte boundary (as the runtime keeps packed weights), so that no vector
/// load of a panel straddles two cache lines.
std::unique_ptr<float, decltype(&std::free)> aligned_floats(size_t n) {
  return {static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)),
          &std::free};
}

void bench_sgemm(ThreadPool& pool, int64_t m, int64_t k, int64_t n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::vector<float> x(m * k), w(n * k), y(m * n);
  for (float& v : x) v = real(rng);
  for (float& v : w) v = real(rng);
  const auto packed = aligned_floats(f32_packed_size(n, k) / sizeof(float));
  f32_pack(w.data(), n, k, packed.get());

  const std::vector<Timing> t = interleaved({
      [&] { sgemm_packed(pool, x.data(), m, k, k, packed.get(), n, nullptr, y.data(), n); },
      [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m),
                    static_cast<int>(n), static_cast<int>(k), 1.0f, x.data(), static_cast<int>(k),
                    w.data(), static_cast<int>(k), 0.0f, y.data(), static_cast<int>(n));
      },
  });
  const double flops = 2.0 * static_cast<double>(m * n * k);
  std::printf(
      "M=%lld K=%-5lld N=%-5lld  sgemm_packed %7.3f ms %4.0f GFLOPS | OpenBLAS %7.3f ms %4.0f "
      "GFLOPS | %.2fx  (best: %.0f vs %.0f GFLOPS, %.2fx)\n",
      static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n),
      t[0].median * 1e3, flops / t[0].median * 1e-9, t[1].median * 1e3,
      flops / t[1].median * 1e-9, t[1].median / t[0].median, flops / t[0].best * 1e-9,
      flops / t[1].best * 1e-9, t[1].best / t[0].best);
}

/// qgemm against sgemm_packed for M x K activations and N x K weights of `bits` (4 or 8) with
/// `group` columns per scale (k: per channel).
void bench_qgemm(ThreadPool& pool, int64_t m, int64_t k, int64_t n, int64_t group, int bits) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> byte(0, 255);

  std::vector<float> x(m * k), wf(n * k), bias(n);
  for (float& v : x) v = real(rng);
  for (float& v : wf) v = real(rng);
  for (float& v : bias) v = real(rng);
  const auto wf_packed = aligned_floats(f32_packed_size(n, k) / sizeof(float));
  f32_pack(wf.data(), n, k, wf_packed.get());

  // Asymmetric weights: codes, f32 scales, zeros, packed as the bundle stores them.
  const int64_t groups = k / group;
  std::vector<uint8_t> codes(bits == 4 ? n * k / 2 : n * k), zeros(n * groups);
  for (uint8_t& c : codes) c = static_cast<uint8_t>(byte(rng));
  for (uint8_t& z : zeros) z = static_cast<uint8_t>(byte(rng) & (bits == 4 ? 0x0F : 0xFF));
  std::vector<float> scales(n * groups);
  for (float& s : scales) s = 0.01f + 0.001f * real(rng);
  std::vector<uint8_t> packed(bits == 4 ? q4_packed_size(n, k) : q8_packed_size(n, k));
  if (bits == 4) {
    q4_pack(codes.data(), n, k, false, packed.data());
  } else {
    q8_pack(codes.data(), n, k, false, packed.data());
  }
  std::vector<float> scale_panel(qparams_panel_size(n, groups));
  std::vector<int32_t> zero_panel(scale_panel.size());
  build_qparams_panels(scales.data(), false, zeros.data(), n, groups, bits, scale_panel.data(),
                       zero_panel.data());
  QWeight w;
  w.packed = packed.data();
  w.bits = bits;
  w.n = n;
  w.k = k;
  w.group = group;
  w.scale_panel = scale_panel.data();
  w.zero_panel = zero_panel.data();
  w.bias = bias.data();

  const int64_t ldq = (k + 63) / 64 * 64;
  std::vector<int8_t> xq(m * ldq);
  std::vector<float> xs(m), y(m * n);
  std::vector<int32_t> xsum(m * groups);
  auto quantize = [&] {
    quantize_rows(pool, x.data(), m, k, k, 8, group, xq.data(), ldq, xs.data(), xsum.data());
  };
  quantize();

  const std::vector<Timing> t = interleaved({
      [&] { qgemm(pool, xq.data(), ldq, xs.data(), xsum.data(), m, w, y.data(), n); },
      [&] {
        sgemm_packed(pool, x.data(), m, k, k, wf_packed.get(), n, bias.data(), y.data(), n);
      },
      quantize,
  });
  const double ops = 2.0 * static_cast<double>(m * n * k);
  std::printf(
      "M=%lld K=%-5lld N=%-5lld W%d g%-4lld qgemm %6.3f ms %6.0f GOPS | sgemm_packed %6.3f ms %4.0f "
      "GOPS | ratio %.2fx  (best: %.0f vs %.0f GOPS, %.2fx; quantize_rows %.3f ms)\n",
      static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n), bits,
      static_cast<long long>(group),
      t[0].median * 1e3, ops / t[0].median * 1e-9, t[1].median * 1e3, ops / t[1].median * 1e-9,
      t[1].median / t[0].median, ops / t[0].best * 1e-9, ops / t[1].best * 1e-9,
      t[1].best / t[0].best, t[2].median * 1e3);
}

/// One line per model op at the target model's shapes (256 tokens, d_model 1024, 16 heads of 64,
/// MLP 2816, vocab 32000): the median and best time of each.
void bench_ops(ThreadPool& pool) {
  constexpr int64_t kTokens = 256, kModel = 1024, kHeads = 16, kHeadDim = 64, kMlp = 2816,
                    kVocab = 32000;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  auto floats = [&](size_t n, float scale) {
    std::vector<float> v(n);
    for (float& e : v) e = scale * real(rng);
    return v;
  };
  const std::vector<float> q = floats(kTokens * kModel, 2), k = floats(kTokens * kModel, 2),
                           v = floats(kTokens * kModel, 2), w = floats(kModel, 1),
                           gate = floats(kTokens * kMlp, 6), up = floats(kTokens * kMlp, 2),
                           mlp_x = floats(kTokens * kMlp, 3), table = floats(kVocab * kModel, 1);
  std::vector<float> cosines(kTokens * kHeadDim), sines(kTokens * kHeadDim);
  for (int64_t p = 0; p < kTokens; ++p) {
    for (int64_t i = 0; i < kHeadDim; ++i) {
      const double angle = p * std::pow(10000.0, -2.0 * (i % (kHeadDim / 2)) / kHeadDim);
      cosines[p * kHeadDim + i] = static_cast<float>(std::cos(angle));
      sines[p * kHeadDim + i] = static_cast<float>(std::sin(angle));
    }
  }
  std::vector<int64_t> ids(kTokens);
  for (int64_t& id : ids) id = std::uniform_int_distribution<int64_t>(0, kVocab - 1)(rng);
  std::vector<float> out(kTokens * kMlp), rope_x = q;

  AttentionParams ap;
  ap.seq = kTokens;
  ap.heads = ap.kv_heads = kHeads;
  ap.head_dim = kHeadDim;
  ap.scale = 0.125f;
  ap.qk_bits = ap.p_bits = ap.v_bits = 8;
  std::vector<unsigned char> scratch(attention_scratch_size(ap, pool.size()));

  const int64_t ldq1 = kModel, ldq2 = (kMlp + 63) / 64 * 64;
  std::vector<int8_t> xq(kTokens * ldq2);
  std::vector<float> xs(kTokens);
  std::vector<int32_t> xsum(kTokens * (kMlp / 128 + 1));

  const char* names[] = {"attention 16x64 qk/p/v 8", "swiglu 256x2816", "quantize 256x1024",
                         "quantize 256x2816", "rms_norm 256x1024", "rope 256x1024 h16",
                         "add 256x1024", "embedding 256x1024"};
  const std::vector<Timing> t = interleaved({
      [&] {
        attention(pool, q.data(), kModel, k.data(), kModel, v.data(), kModel, ap, out.data(),
                  kModel, scratch.data());
      },
      [&] { swiglu(pool, gate.data(), up.data(), kTokens * kMlp, out.data()); },
      [&] {
        quantize_rows(pool, q.data(), kTokens, kModel, kModel, 8, 128, xq.data(), ldq1, xs.data(),
                      xsum.data());
      },
      [&] {
        quantize_rows(pool, mlp_x.data(), kTokens, kMlp, kMlp, 8, 128, xq.data(), ldq2, xs.data(),
                      xsum.data());
      },
      [&] { rms_norm(pool, q.data(), kTokens, kModel, w.data(), 1e-6, out.data()); },
      [&] {
        rope(pool, rope_x.data(), kTokens, kHeads, kHeadDim, kModel, cosines.data(), sines.data(),
             kTokens);
      },
      [&] { add(pool, q.data(), k.data(), kTokens * kModel, out.data()); },
      [&] { embedding(pool, ids.data(), kTokens, table.data(), kVocab, kModel, out.data()); },
  });
  for (size_t i = 0; i < t.size(); ++i) {
    std::printf("%-26s %8.1f us median %8.1f us best\n", names[i], t[i].median * 1e6,
                t[i].best * 1e6);
  }
}

}  // namespace

/// Optional arguments: the thread count (default 2, the target machine's cores), then `ops` to
/// time the model ops alone.
int main(int argc, char** argv) {
  ThreadPool pool(argc > 1 ? std::atoi(argv[1]) : 2);
  openblas_set_num_threads(pool.size());
  std::printf("path %s (detected %s), OpenBLAS core %s, %d threads, median of %d runs\n",
              isa_name(active_isa()), isa_name(detected_isa()), openblas_get_corename(),
              pool.size(), kRuns);
  bench_ops(pool);
  if (argc > 2 && std::string(argv[2]) == "ops") return 0;
  bench_sgemm(pool, 256, 1024, 32000);
  bench_sgemm(pool, 256, 1024, 1024);
  const int64_t shapes[][2] = {{1024, 1024}, {1024, 2816}, {2816, 1024}};
  for (const auto& shape : shapes) bench_qgemm(pool, 256, shape[0], shape[1], 128, 4);
  // The default W8A8 head: int8 per channel.
  bench_qgemm(pool, 256, 1024, 32000, 1024, 8);
  return 0;
}
