// kernel_tests.cpp: checks every kernel of Sources/DQCRuntime/src/kernels against float64 (and
// exact integer) references written here from kernels.h's contract, on every instruction-set
// path the CPU has and on pools of 1, 2 and 3 threads.
//
// Rules checked: integer results (codes, sums, layouts) exactly; float results within the
// tolerance stated at each check; every ISA path and thread count bit-identical to the first.
// Prints one line per failing check and ends with "N passed, M failed"; exits 1 on a failure.
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "kernels.h"
#include "vec_math.h"

using namespace dqc::rt;
namespace vmath = dqc::rt::vmath;

namespace {

int passed = 0;
int failed = 0;

#define CHECK(cond, ...)                               \
  do {                                                 \
    if (cond) {                                        \
      ++passed;                                        \
    } else {                                           \
      ++failed;                                        \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      std::printf(__VA_ARGS__);                        \
      std::printf("\n");                               \
    }                                                  \
  } while (0)

std::mt19937_64 rng(20240611);

int uniform_int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

std::vector<float> random_floats(size_t n, float lo = -1, float hi = 1) {
  std::vector<float> v(n);
  for (float& x : v) x = uniform(lo, hi);
  return v;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) isas.push_back(static_cast<Isa>(i));
  return isas;
}

const int kThreadCounts[] = {1, 2, 3};

bool same_bits(const void* a, const void* b, size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

double round_half_even(double v) {
  const double f = std::floor(v), frac = v - f;
  if (frac > 0.5) return f + 1;
  if (frac < 0.5) return f;
  return std::fmod(f, 2.0) == 0 ? f : f + 1;
}

/// IEEE half bits to double, from the definition.
double half_value(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  double v;
  if (exponent == 0x1F) {
    v = mantissa != 0 ? NAN : INFINITY;
  } else if (exponent == 0) {
    v = std::ldexp(mantissa, -24);
  } else {
    v = std::ldexp(1024 + mantissa, exponent - 25);
  }
  return sign ? -v : v;
}

// ---------------------------------------------------------------------------------------------
// Threads and ISA selection

void test_thread_pool() {
  for (int threads : kThreadCounts) {
    ThreadPool pool(threads);
    CHECK(pool.size() == threads, "pool of %d has size %d", threads, pool.size());
    for (int64_t n : {0, 1, 2, 3, 5, 100, 1001}) {
      for (int repeat = 0; repeat < 2; ++repeat) {
        std::vector<int> hits(n, 0);
        std::vector<std::pair<int64_t, int64_t>> chunks(threads, {-1, -1});
        int calls = 0;
        std::mutex m;
        pool.parallel_for(n, [&](int64_t begin, int64_t end) {
          std::lock_guard<std::mutex> lock(m);
          for (int64_t i = begin; i < end; ++i) ++hits[i];
          if (calls < threads) chunks[calls] = {begin, end};
          ++calls;
        });
        bool once = true;
        for (int h : hits) once = once && h == 1;
        CHECK(once, "parallel_for(%lld) on %d threads covers each index once",
              static_cast<long long>(n), threads);
        const int64_t expected_chunks = n == 0 ? 0 : (n < threads ? n : threads);
        CHECK(calls == expected_chunks, "parallel_for(%lld) on %d threads: %d chunks, want %lld",
              static_cast<long long>(n), threads, calls,
              static_cast<long long>(expected_chunks));
        bool even = true;
        for (int i = 0; i < calls && i < threads; ++i) {
          const int64_t len = chunks[i].second - chunks[i].first;
          even = even && len >= n / expected_chunks && len <= n / expected_chunks + 1;
        }
        CHECK(even, "parallel_for(%lld) on %d threads splits near-equally",
              static_cast<long long>(n), threads);
      }
    }
  }
}

void test_isa() {
  const Isa detected = detected_isa();
  std::printf("detected ISA: %s\n", isa_name(detected));
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx2_vnni, Isa::avx512_vnni}) {
    set_active_isa(isa);
    const Isa want = static_cast<int>(isa) < static_cast<int>(detected) ? isa : detected;
    CHECK(active_isa() == want, "set_active_isa(%s) gives %s", isa_name(isa),
          isa_name(active_isa()));
  }
  CHECK(std::string(isa_name(Isa::avx2_vnni)) == "avx2-vnni", "isa_name(avx2_vnni)");
  set_active_isa(detected);
}

// ---------------------------------------------------------------------------------------------
// Packing

/// Row-major [n, k] 4-bit codes, two per byte, element 2i in the low nibble of byte i.
std::vector<uint8_t> layout0_q4(const std::vector<int>& nibbles) {
  std::vector<uint8_t> bytes((nibbles.size() + 1) / 2, 0);
  for (size_t i = 0; i < nibbles.size(); ++i) {
    bytes[i / 2] |= static_cast<uint8_t>((nibbles[i] & 0xF) << (i % 2 ? 4 : 0));
  }
  return bytes;
}

/// The packed image from the layout description in kernels.h; stored codes given unsigned.
std::vector<uint8_t> expected_packed(const std::vector<int>& stored, int64_t n, int64_t k,
                                     int bits) {
  const int64_t block_k = bits == 4 ? 8 : 4;
  const int64_t blocks = (k + block_k - 1) / block_k;
  std::vector<uint8_t> out((n + 15) / 16 * blocks * 64, 0);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t col = 0; col < k; ++col) {
      const int64_t byte = ((c / 16) * blocks + col / block_k) * 64 + (c % 16) * 4 + col % 4;
      const int shift = bits == 4 && col % 8 >= 4 ? 4 : 0;
      out[byte] |= static_cast<uint8_t>(stored[c * k + col] << shift);
    }
  }
  return out;
}

void test_pack() {
  struct Shape {
    int64_t n, k;
  };
  for (Shape s : {Shape{1, 8}, Shape{16, 8}, Shape{17, 24}, Shape{40, 384}, Shape{7, 128}}) {
    for (bool is_signed : {false, true}) {
      // 4 bits: logical codes, then what the layout stores (i4 as code + 8).
      std::vector<int> logical(s.n * s.k), stored(logical.size());
      for (size_t i = 0; i < logical.size(); ++i) {
        logical[i] = is_signed ? uniform_int(-8, 7) : uniform_int(0, 15);
        stored[i] = is_signed ? logical[i] + 8 : logical[i];
      }
      const std::vector<uint8_t> codes = layout0_q4(logical);
      std::vector<uint8_t> packed(q4_packed_size(s.n, s.k), 0xAA);
      q4_pack(codes.data(), s.n, s.k, is_signed, packed.data());
      const std::vector<uint8_t> want = expected_packed(stored, s.n, s.k, 4);
      CHECK(packed.size() == want.size() && packed == want, "q4_pack n=%lld k=%lld signed=%d",
            static_cast<long long>(s.n), static_cast<long long>(s.k), is_signed);
      std::vector<uint8_t> back(codes.size(), 0x55);
      q4_unpack(packed.data(), s.n, s.k, is_signed, back.data());
      CHECK(back == codes, "q4 pack/unpack round trip n=%lld k=%lld signed=%d",
            static_cast<long long>(s.n), static_cast<long long>(s.k), is_signed);

      // 8 bits.
      std::vector<uint8_t> codes8(s.n * s.k);
      for (size_t i = 0; i < codes8.size(); ++i) {
        const int v = is_signed ? uniform_int(-128, 127) : uniform_int(0, 255);
        codes8[i] = static_cast<uint8_t>(v);
        stored[i] = is_signed ? v + 128 : v;
      }
      std::vector<uint8_t> packed8(q8_packed_size(s.n, s.k), 0xAA);
      q8_pack(codes8.data(), s.n, s.k, is_signed, packed8.data());
      CHECK(packed8 == expected_packed(stored, s.n, s.k, 8), "q8_pack n=%lld k=%lld signed=%d",
            static_cast<long long>(s.n), static_cast<long long>(s.k), is_signed);
      std::vector<uint8_t> back8(codes8.size(), 0x55);
      q8_unpack(packed8.data(), s.n, s.k, is_signed, back8.data());
      CHECK(back8 == codes8, "q8 pack/unpack round trip n=%lld k=%lld signed=%d",
            static_cast<long long>(s.n), static_cast<long long>(s.k), is_signed);
    }
  }
}

void test_qparams() {
  // Half conversion: normals, extremes, subnormals, zeros, infinities, NaN.
  const uint16_t halves[] = {0x3C00, 0xC000, 0x7BFF, 0x0400, 0x0001, 0x03FF, 0x8001,
                             0x0000, 0x8000, 0x7C00, 0xFC00, 0x3555, 0x2E66, 0x7E00};
  const int64_t n = 14, groups = 1;
  std::vector<float> scale_panel(qparams_panel_size(n, groups));
  std::vector<int32_t> zero_panel(scale_panel.size());
  build_qparams_panels(halves, true, nullptr, n, groups, 4, scale_panel.data(), zero_panel.data());
  for (int64_t c = 0; c < n; ++c) {
    const double want = half_value(halves[c]);
    const float got = scale_panel[c];
    const bool ok = std::isnan(want) ? std::isnan(got)
                                     : static_cast<double>(got) == want &&
                                           std::signbit(got) == std::signbit(want);
    CHECK(ok, "f16 0x%04x -> %g, want %g", halves[c], static_cast<double>(got), want);
  }

  for (int bits : {4, 8}) {
    for (bool f16 : {false, true}) {
      for (bool with_zeros : {false, true}) {
        const int64_t nn = 37, gg = 3;
        std::vector<uint16_t> h(nn * gg);
        std::vector<float> f(h.size());
        std::vector<uint8_t> z(h.size());
        for (size_t i = 0; i < h.size(); ++i) {
          h[i] = static_cast<uint16_t>(uniform_int(0, 0xFFFF) & 0xBBFF);  // finite
          f[i] = uniform(-2, 2);
          z[i] = static_cast<uint8_t>(uniform_int(0, (1 << bits) - 1));
        }
        std::vector<float> sp(qparams_panel_size(nn, gg), -1);
        std::vector<int32_t> zp(sp.size(), -1);
        build_qparams_panels(f16 ? static_cast<const void*>(h.data()) : f.data(), f16,
                             with_zeros ? z.data() : nullptr, nn, gg, bits, sp.data(), zp.data());
        bool ok = sp.size() == ((nn + 15) / 16 * gg * 16);
        for (int64_t p = 0; p < (nn + 15) / 16; ++p) {
          for (int64_t g = 0; g < gg; ++g) {
            for (int64_t i = 0; i < 16; ++i) {
              const int64_t c = 16 * p + i;
              const size_t at = ((p * gg + g) * 16 + i);
              if (c >= nn) {
                ok = ok && sp[at] == 0 && zp[at] == 0;
                continue;
              }
              const size_t src = (c * gg + g);
              const double want_s = f16 ? half_value(h[src]) : f[src];
              const int want_z = with_zeros ? z[src] : 1 << (bits - 1);
              ok = ok && static_cast<double>(sp[at]) == want_s && zp[at] == want_z;
            }
          }
        }
        CHECK(ok, "build_qparams_panels bits=%d f16=%d zeros=%d", bits, f16, with_zeros);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Activation quantization

struct Quantized {
  std::vector<int8_t> q;  // [rows][ldq]
  std::vector<float> s;
  std::vector<int32_t> sum;  // [rows][k / group]
};

Quantized reference_quantize(const std::vector<float>& x, int64_t rows, int64_t k, int64_t ldx,
                             int bits, int64_t group, int64_t ldq) {
  Quantized out{std::vector<int8_t>(rows * ldq, 0), std::vector<float>(rows),
                std::vector<int32_t>(rows * (k / group), 0)};
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  for (int64_t r = 0; r < rows; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < k; ++c) amax = std::fmax(amax, std::fabs(x[r * ldx + c]));
    const float s = amax > 0 ? amax / qmax : 1.0f;
    out.s[r] = s;
    for (int64_t c = 0; c < k; ++c) {
      double v = round_half_even(static_cast<double>(x[r * ldx + c] / s));
      v = std::fmin(std::fmax(v, -qmax), qmax);
      out.q[r * ldq + c] = static_cast<int8_t>(v);
      out.sum[r * (k / group) + c / group] += static_cast<int32_t>(v);
    }
  }
  return out;
}

void test_quantize() {
  struct Case {
    int64_t rows, k, group, ldx;
    int bits;
  };
  const Case cases[] = {{1, 8, 8, 8, 8},         {3, 384, 128, 400, 8}, {37, 1000, 40, 1000, 8},
                        {256, 128, 128, 130, 8}, {5, 20, 4, 20, 4},     {4, 36, 36, 40, 2},
                        {2, 64, 32, 64, 5},      {7, 13, 13, 13, 3}};
  for (const Case& cs : cases) {
    const int64_t ldq = (cs.k + 63) / 64 * 64 + 64;
    std::vector<float> x = random_floats(cs.rows * cs.ldx, -3, 3);
    // Row 0 hits exact ties: amax = qmax makes s = 1, and qmax is odd, so c % qmax - qmax / 2
    // is a half-integer that rounds half to even. Row 1 is all zeros (s = 1). Row 2 has
    // s = f32(3/7) and values (n + 1/2) * s, many of which divide back to exact ties that a
    // multiply by a rounded 1/s would put just below the tie.
    if (cs.rows > 2) {
      const float qmax = static_cast<float>((1 << (cs.bits - 1)) - 1);
      for (int64_t c = 0; c < cs.k; ++c) {
        const float tie = std::fmod(static_cast<float>(c), qmax) - qmax / 2;
        x[c] = tie;
        x[cs.ldx + c] = 0;
        x[2 * cs.ldx + c] = tie * (3.0f / 7.0f);
      }
      x[0] = qmax;
      x[2 * cs.ldx] = qmax * (3.0f / 7.0f);
    }
    const Quantized want = reference_quantize(x, cs.rows, cs.k, cs.ldx, cs.bits, cs.group, ldq);
    for (Isa isa : available_isas()) {
      set_active_isa(isa);
      for (int threads : kThreadCounts) {
        ThreadPool pool(threads);
        Quantized got{std::vector<int8_t>(want.q.size(), 99), std::vector<float>(want.s.size()),
                      std::vector<int32_t>(want.sum.size())};
        quantize_rows(pool, x.data(), cs.rows, cs.k, cs.ldx, cs.bits, cs.group, got.q.data(), ldq,
                      got.s.data(), got.sum.data());
        CHECK(got.q == want.q && same_bits(got.s.data(), want.s.data(), want.s.size() * 4) &&
                  got.sum == want.sum,
              "quantize_rows rows=%lld k=%lld group=%lld bits=%d isa=%s threads=%d",
              static_cast<long long>(cs.rows), static_cast<long long>(cs.k),
              static_cast<long long>(cs.group), cs.bits, isa_name(isa), threads);
      }
    }
  }
  set_active_isa(detected_isa());
}

// ---------------------------------------------------------------------------------------------
// qgemm

struct QgemmCase {
  int64_t rows, n, k, group;
  int bits;
  bool is_signed, f16, bias;
  int act_bits;
};

void test_qgemm_case(const QgemmCase& cs) {
  const int64_t groups = cs.k / cs.group;
  const int levels = 1 << cs.bits;
  // Logical codes and zeros: signed codes have zero 0, unsigned ones a zero point per group.
  std::vector<int> logical(cs.n * cs.k);
  for (int& c : logical)
    c = cs.is_signed ? uniform_int(-levels / 2, levels / 2 - 1) : uniform_int(0, levels - 1);
  std::vector<uint8_t> zeros(cs.n * groups);
  for (uint8_t& z : zeros) z = static_cast<uint8_t>(uniform_int(0, levels - 1));
  std::vector<uint16_t> half_scales(zeros.size());
  std::vector<float> float_scales(zeros.size());
  for (size_t i = 0; i < zeros.size(); ++i) {
    half_scales[i] = static_cast<uint16_t>((uniform_int(0, 1) << 15) | (uniform_int(8, 16) << 10) |
                                           uniform_int(0, 1023));
    float_scales[i] = uniform(-0.1f, 0.1f);
  }
  std::vector<float> bias = random_floats(cs.n, -2, 2);

  std::vector<uint8_t> packed(cs.bits == 4 ? q4_packed_size(cs.n, cs.k)
                                           : q8_packed_size(cs.n, cs.k));
  if (cs.bits == 4) {
    q4_pack(layout0_q4(logical).data(), cs.n, cs.k, cs.is_signed, packed.data());
  } else {
    std::vector<uint8_t> bytes(logical.size());
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(logical[i]);
    q8_pack(bytes.data(), cs.n, cs.k, cs.is_signed, packed.data());
  }
  std::vector<float> scale_panel(qparams_panel_size(cs.n, groups)), unit_panel(scale_panel.size());
  std::vector<int32_t> zero_panel(scale_panel.size());
  const uint8_t* zp = cs.is_signed ? nullptr : zeros.data();
  build_qparams_panels(cs.f16 ? static_cast<const void*>(half_scales.data()) : float_scales.data(),
                       cs.f16, zp, cs.n, groups, cs.bits, scale_panel.data(), zero_panel.data());
  const std::vector<float> ones(zeros.size(), 1.0f);
  build_qparams_panels(ones.data(), false, zp, cs.n, groups, cs.bits, unit_panel.data(),
                       zero_panel.data());

  const int64_t ldq = (cs.k + 63) / 64 * 64;
  std::vector<float> x = random_floats(cs.rows * cs.k, -4, 4);
  const Quantized xq = reference_quantize(x, cs.rows, cs.k, cs.k, cs.act_bits, cs.group, ldq);

  // Reference: exact group sums, then the scaled sum in float64.
  std::vector<int64_t> group_sums(cs.rows * cs.n * groups);
  std::vector<double> want(cs.rows * cs.n), magnitude(want.size());
  for (int64_t r = 0; r < cs.rows; ++r) {
    for (int64_t c = 0; c < cs.n; ++c) {
      double sum = 0, mag = 0;
      for (int64_t g = 0; g < groups; ++g) {
        const int zero = cs.is_signed ? 0 : zeros[c * groups + g];
        int64_t d = 0;
        for (int64_t col = g * cs.group; col < (g + 1) * cs.group; ++col) {
          d += static_cast<int64_t>(xq.q[r * ldq + col]) * (logical[c * cs.k + col] - zero);
        }
        group_sums[(r * cs.n + c) * groups + g] = d;
        const size_t si = (c * groups + g);
        const double s = cs.f16 ? half_value(half_scales[si]) : float_scales[si];
        sum += s * static_cast<double>(d);
        mag += std::fabs(s * static_cast<double>(d));
      }
      const double xs = xq.s[r];
      const double b = cs.bias ? bias[c] : 0.0;
      want[r * cs.n + c] = xs * sum + b;
      magnitude[r * cs.n + c] = xs * mag + std::fabs(b);
    }
  }

  QWeight w;
  w.packed = packed.data();
  w.bits = cs.bits;
  w.n = cs.n;
  w.k = cs.k;
  w.group = cs.group;
  w.scale_panel = scale_panel.data();
  w.zero_panel = zero_panel.data();
  w.bias = cs.bias ? bias.data() : nullptr;
  QWeight unit = w;
  unit.scale_panel = unit_panel.data();
  unit.bias = nullptr;
  const std::vector<float> unit_xs(cs.rows, 1.0f);

  const int64_t ldy = cs.n + 3;  // the 3 extra columns must stay untouched
  std::vector<float> first, first_unit;
  char what[160];
  std::snprintf(
      what, sizeof what, "rows=%lld n=%lld k=%lld group=%lld bits=%d signed=%d f16=%d bias=%d a%d",
      static_cast<long long>(cs.rows), static_cast<long long>(cs.n), static_cast<long long>(cs.k),
      static_cast<long long>(cs.group), cs.bits, cs.is_signed, cs.f16, cs.bias, cs.act_bits);
  for (Isa isa : available_isas()) {
    set_active_isa(isa);
    for (int threads : kThreadCounts) {
      ThreadPool pool(threads);
      std::vector<float> y(cs.rows * ldy, NAN);
      qgemm(pool, xq.q.data(), ldq, xq.s.data(), xq.sum.data(), cs.rows, w, y.data(), ldy);
      int64_t bad = 0, untouched = 0, first_bad = -1;
      for (int64_t r = 0; r < cs.rows; ++r) {
        for (int64_t c = 0; c < ldy; ++c) {
          const float got = y[r * ldy + c];
          if (c >= cs.n) {
            untouched += std::isnan(got) ? 0 : 1;
            continue;
          }
          const size_t i = (r * cs.n + c);
          // f32 outer sum over the groups: a few roundings per group relative to the terms.
          if (!(std::fabs(got - want[i]) <= 1e-5 * magnitude[i] + 1e-30)) {
            if (first_bad < 0) first_bad = static_cast<int64_t>(i);
            ++bad;
          }
        }
      }
      CHECK(bad == 0, "qgemm %s isa=%s threads=%d: %lld outputs off (first #%lld: %g vs %g)", what,
            isa_name(isa), threads, static_cast<long long>(bad), static_cast<long long>(first_bad),
            first_bad < 0 ? 0.0 : static_cast<double>(y[first_bad / cs.n * ldy + first_bad % cs.n]),
            first_bad < 0 ? 0.0 : want[first_bad]);
      CHECK(untouched == 0, "qgemm %s isa=%s threads=%d wrote past n", what, isa_name(isa),
            threads);
      if (first.empty()) first = y;
      CHECK(same_bits(first.data(), y.data(), y.size() * sizeof(float)),
            "qgemm %s isa=%s threads=%d differs bitwise from scalar/1 thread", what, isa_name(isa),
            threads);

      // Unit scales, xs = 1, no bias: y is the f32 sum of the exact int32 group sums, exactly
      // their sum wherever every partial sum is an integer f32 holds exactly.
      std::vector<float> yu(cs.rows * ldy, NAN);
      qgemm(pool, xq.q.data(), ldq, unit_xs.data(), xq.sum.data(), cs.rows, unit, yu.data(), ldy);
      int64_t wrong = 0, checked = 0;
      for (int64_t r = 0; r < cs.rows; ++r) {
        for (int64_t c = 0; c < cs.n; ++c) {
          int64_t partial = 0;
          bool exact = true;
          for (int64_t g = 0; g < groups; ++g) {
            partial += group_sums[(r * cs.n + c) * groups + g];
            exact = exact && std::llabs(partial) < (1 << 24) &&
                    std::llabs(group_sums[(r * cs.n + c) * groups + g]) < (1 << 24);
          }
          if (!exact) continue;
          ++checked;
          wrong += yu[r * ldy + c] != static_cast<float>(partial) ? 1 : 0;
        }
      }
      CHECK(wrong == 0 && checked > 0,
            "qgemm int32 group sums %s isa=%s threads=%d: %lld of %lld wrong", what, isa_name(isa),
            threads, static_cast<long long>(wrong), static_cast<long long>(checked));
      if (first_unit.empty()) first_unit = yu;
      CHECK(same_bits(first_unit.data(), yu.data(), yu.size() * sizeof(float)),
            "qgemm unit-scale %s isa=%s threads=%d differs bitwise", what, isa_name(isa), threads);
    }
  }
  set_active_isa(detected_isa());
}

void test_qgemm() {
  const QgemmCase cases[] = {
      // rows, n, k, group, bits, signed, f16, bias, act_bits
      {1, 16, 8, 8, 4, false, false, true, 8},      {3, 40, 384, 128, 4, false, true, true, 8},
      {37, 7, 384, 384, 4, true, false, false, 8},  {256, 40, 384, 128, 4, false, false, true, 8},
      {5, 100, 64, 8, 4, true, true, true, 4},      {9, 33, 96, 32, 4, false, false, false, 8},
      {1, 16, 8, 8, 8, false, false, true, 8},      {3, 40, 384, 128, 8, true, true, true, 8},
      {37, 7, 384, 384, 8, false, false, false, 8}, {256, 24, 256, 128, 8, false, true, true, 8},
      {17, 50, 12, 4, 8, true, false, true, 8},     {8, 64, 1024, 1024, 8, false, false, true, 8},
      {12, 48, 2816, 128, 4, false, true, true, 8}, {2, 31, 16, 8, 4, false, false, false, 2},
  };
  for (const QgemmCase& cs : cases) test_qgemm_case(cs);
}

// ---------------------------------------------------------------------------------------------
// Float linear layer

void test_f32_pack() {
  struct Shape {
    int64_t n, k;
  };
  for (Shape s : {Shape{1, 1}, Shape{16, 1}, Shape{17, 7}, Shape{40, 1000}, Shape{33, 64}}) {
    const std::vector<float> w = random_floats(s.n * s.k);
    const int64_t panels = (s.n + 15) / 16;
    CHECK(f32_packed_size(s.n, s.k) == static_cast<size_t>(panels * 16 * s.k) * sizeof(float),
          "f32_packed_size n=%lld k=%lld", static_cast<long long>(s.n),
          static_cast<long long>(s.k));
    std::vector<float> packed(f32_packed_size(s.n, s.k) / sizeof(float), NAN);
    f32_pack(w.data(), s.n, s.k, packed.data());
    // The layout of kernels.h: W[16p + i][k] at (p * K + k) * 16 + i; pads 0.
    std::vector<float> want(packed.size(), 0.0f);
    for (int64_t c = 0; c < s.n; ++c) {
      for (int64_t col = 0; col < s.k; ++col) want[((c / 16) * s.k + col) * 16 + c % 16] = w[c * s.k + col];
    }
    CHECK(same_bits(packed.data(), want.data(), want.size() * sizeof(float)),
          "f32_pack n=%lld k=%lld", static_cast<long long>(s.n), static_cast<long long>(s.k));
    std::vector<float> back(w.size(), NAN);
    f32_unpack(packed.data(), s.n, s.k, back.data());
    CHECK(same_bits(back.data(), w.data(), w.size() * sizeof(float)),
          "f32 pack/unpack round trip n=%lld k=%lld", static_cast<long long>(s.n),
          static_cast<long long>(s.k));
  }
}

void test_sgemm_packed_case(int64_t rows, int64_t k, int64_t n, bool with_bias) {
  const int64_t ldx = k + 5, ldy = n + 3;  // the 3 extra columns must stay untouched
  const std::vector<float> x = random_floats(rows * ldx, -2, 2);
  const std::vector<float> w = random_floats(n * k);
  const std::vector<float> bias = random_floats(n);
  std::vector<float> packed(f32_packed_size(n, k) / sizeof(float));
  f32_pack(w.data(), n, k, packed.data());

  // The contract, literally: one float, k ascending, std::fma, then + bias; and the float64
  // value with the error bound of that chain (k + 1 roundings, each at most 2^-24 relative to
  // the sum of |terms|).
  std::vector<float> exact(rows * n);
  int64_t off = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      float acc = 0;
      double want = with_bias ? bias[c] : 0, mag = std::fabs(want);
      for (int64_t i = 0; i < k; ++i) {
        acc = std::fma(x[r * ldx + i], w[c * k + i], acc);
        const double prod = static_cast<double>(x[r * ldx + i]) * w[c * k + i];
        want += prod;
        mag += std::fabs(prod);
      }
      exact[r * n + c] = with_bias ? acc + bias[c] : acc;
      off += std::fabs(exact[r * n + c] - want) <= (k + 2) * 0x1p-24 * mag ? 0 : 1;
    }
  }
  char what[120];
  std::snprintf(what, sizeof what, "sgemm_packed rows=%lld k=%lld n=%lld bias=%d",
                static_cast<long long>(rows), static_cast<long long>(k),
                static_cast<long long>(n), with_bias);
  CHECK(off == 0, "%s: the fma chain is %lld times off the float64 value", what,
        static_cast<long long>(off));

  for (Isa isa : available_isas()) {
    set_active_isa(isa);
    for (int threads : kThreadCounts) {
      ThreadPool pool(threads);
      std::vector<float> y(rows * ldy, NAN);
      sgemm_packed(pool, x.data(), rows, k, ldx, packed.data(), n,
                   with_bias ? bias.data() : nullptr, y.data(), ldy);
      int64_t bad = 0, stray = 0;
      for (int64_t r = 0; r < rows; ++r) {
        bad += same_bits(&y[r * ldy], &exact[r * n], n * sizeof(float)) ? 0 : 1;
        for (int64_t c = n; c < ldy; ++c) stray += std::isnan(y[r * ldy + c]) ? 0 : 1;
      }
      // Bit-equal to the contract's chain, hence to every other path and thread count.
      CHECK(bad == 0 && stray == 0, "%s isa=%s threads=%d: %lld rows differ, %lld stray", what,
            isa_name(isa), threads, static_cast<long long>(bad), static_cast<long long>(stray));
    }
  }
  set_active_isa(detected_isa());
}

void test_sgemm_packed() {
  // Every rows x K combination, with N (never a multiple of 16 but for one) and the bias varied.
  const int64_t widths[] = {17, 40, 1, 129, 33, 16};
  int i = 0;
  for (int64_t rows : {1, 3, 37, 256}) {
    for (int64_t k : {1, 7, 64, 1000}) {
      test_sgemm_packed_case(rows, k, widths[i % 6], i % 2 == 0);
      ++i;
    }
  }
  test_sgemm_packed_case(5, 0, 20, true);  // K = 0: y = bias
  test_sgemm_packed_case(5, 0, 20, false);  // or 0
  test_sgemm_packed_case(30, 600, 300, true);  // several column blocks and units
}

// ---------------------------------------------------------------------------------------------
// vec_math.h: exp and the p-level division

/// |got - exp(x)| in units in the last place of the f32 result near exp(x) (float64 exp as the
/// reference; subnormal results in units of 2^-149; an overflow to +inf measured against 2^128).
double exp_ulp_error(float x, float got) {
  const double want = std::exp(static_cast<double>(x));
  const double value = std::isinf(got) ? std::ldexp(1.0, 128) : got;
  const double w = std::fmin(want, std::ldexp(1.0, 128));
  int e = 0;
  std::frexp(w, &e);
  const double ulp = w < std::ldexp(1.0, -126) ? std::ldexp(1.0, -149) : std::ldexp(1.0, e - 24);
  return std::fabs(value - w) / ulp;
}

using ExpArray = void (*)(const float*, int64_t, float*);

#if defined(__x86_64__)
// The vector functions need their target features; call them only where the CPU has them.
DQC_TARGET_AVX2 void exp_avx2_array(const float* x, int64_t n, float* y) {
  vmath::exp_array_avx2(x, n, y);
}
DQC_TARGET_AVX512 void exp_avx512_array(const float* x, int64_t n, float* y) {
  vmath::exp_array_avx512(x, n, y);
}
#endif

void test_vec_exp() {
  std::vector<std::pair<const char*, ExpArray>> paths = {{"scalar", vmath::exp_array_scalar}};
#if defined(__x86_64__)
  if (detected_isa() >= Isa::avx2) paths.push_back({"avx2", exp_avx2_array});
  if (detected_isa() >= Isa::avx512_vnni) paths.push_back({"avx512", exp_avx512_array});
#endif
  // A dense sweep: every 1021st bit pattern over all floats (every binade of the
  // range where exp is neither 0 nor inf is covered thousands of times), then the edges.
  std::vector<float> x;
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 1021) {
    float f = vmath::bits_float(static_cast<int32_t>(static_cast<uint32_t>(bits)));
    if (std::isnan(f)) continue;
    if (std::fabs(f) < 110 || bits % (1021 * 64) == 0) x.push_back(f);
  }
  const float edges[] = {0.0f, -0.0f, INFINITY, -INFINITY, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX,
                         88.72283f, 88.722839f, 88.72284f, 89.0f, -87.33654f, -103.278931f,
                         -103.972084f, -104.0f, -105.0f, 1e-10f, -1e-10f, 0.34657359f};
  x.insert(x.end(), std::begin(edges), std::end(edges));
  for (float f = -104.5f; f < 89.5f; f += 1.0f / 1024) x.push_back(f);  // near every n

  std::vector<float> first(x.size()), y(x.size());
  for (size_t p = 0; p < paths.size(); ++p) {
    paths[p].second(x.data(), static_cast<int64_t>(x.size()), p == 0 ? first.data() : y.data());
    const std::vector<float>& got = p == 0 ? first : y;
    double worst = 0;
    float worst_x = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double err = exp_ulp_error(x[i], got[i]);
      if (!(err <= worst)) {
        worst = err;
        worst_x = x[i];
      }
    }
    std::printf("exp %s: max error %.3f ulp over %zu values\n", paths[p].first, worst, x.size());
    CHECK(worst <= 2.0, "exp %s: %.3f ulp at %.9g", paths[p].first, worst,
          static_cast<double>(worst_x));
    CHECK(same_bits(first.data(), got.data(), x.size() * sizeof(float)),
          "exp %s differs bitwise from scalar", paths[p].first);
    // Specials, exactly.
    const float special[] = {-INFINITY, INFINITY, NAN, -200.0f, 200.0f, 0.0f, -0.0f};
    float out[7];
    paths[p].second(special, 7, out);
    CHECK(out[0] == 0 && !std::signbit(out[0]) && out[1] == INFINITY && std::isnan(out[2]) &&
              out[3] == 0 && out[4] == INFINITY && out[5] == 1 && out[6] == 1,
          "exp %s specials: %g %g %g %g %g %g %g", paths[p].first, out[0], out[1], out[2], out[3],
          out[4], out[5], out[6]);
  }
}

void test_div_levels() {
  // div_levels(k, L, 1 / L) == k / L for every integer k in [0, L], L = 2^bits - 1: all k for
  // bits <= 16, 50000 random ones (and the ends) for 17..24.
  int64_t bad = 0;
  for (int bits = 1; bits <= vmath::kMaxExactBits; ++bits) {
    const int64_t levels = (int64_t{1} << bits) - 1;
    const float l = static_cast<float>(levels), inv = 1 / l;
    auto check = [&](int64_t k) {
      const float kf = static_cast<float>(k);
      bad += vmath::div_levels(kf, l, inv) != kf / l;
    };
    if (bits <= 16) {
      for (int64_t k = 0; k <= levels; ++k) check(k);
    } else {
      check(0);
      check(levels);
      for (int i = 0; i < 50000; ++i)
        check(std::uniform_int_distribution<int64_t>(0, levels)(rng));
    }
  }
  CHECK(bad == 0, "div_levels differs from the division %lld times", static_cast<long long>(bad));
}

// ---------------------------------------------------------------------------------------------
// Model ops

/// Runs op(pool, out) on 1, 2 and 3 threads; checks each against `check` and against 1 thread.
template <typename Op, typename Check>
void across_threads(const char* name, size_t size, const Op& op, const Check& check) {
  std::vector<float> first;
  for (int threads : kThreadCounts) {
    ThreadPool pool(threads);
    std::vector<float> out(size, NAN);
    op(pool, out);
    const std::string problem = check(out);
    CHECK(problem.empty(), "%s threads=%d: %s", name, threads, problem.c_str());
    if (first.empty()) first = out;
    CHECK(same_bits(first.data(), out.data(), size * sizeof(float)),
          "%s threads=%d differs bitwise", name, threads);
  }
}

/// across_threads on every ISA path; every path must also give the first path's (scalar's) bits.
template <typename Op, typename Check>
void across_isas(const char* name, size_t size, const Op& op, const Check& check) {
  std::vector<float> first;
  for (Isa isa : available_isas()) {
    set_active_isa(isa);
    const std::string label = std::string(name) + " isa=" + isa_name(isa);
    across_threads(
        label.c_str(), size,
        [&](ThreadPool& pool, std::vector<float>& out) {
          op(pool, out);
          if (first.empty()) first = out;
          CHECK(same_bits(first.data(), out.data(), size * sizeof(float)),
                "%s threads=%d differs bitwise from scalar", label.c_str(), pool.size());
        },
        check);
  }
  set_active_isa(detected_isa());
}

std::string count_bad(int64_t bad) { return bad == 0 ? "" : std::to_string(bad) + " values off"; }

void test_embedding() {
  const int64_t vocab = 50, d = 24, rows = 37;
  const std::vector<float> table = random_floats(vocab * d);
  std::vector<int64_t> ids(rows);
  for (int64_t& id : ids) id = uniform_int(0, vocab - 1);
  across_isas(
      "embedding", rows * d,
      [&](ThreadPool& pool, std::vector<float>& out) {
        CHECK(embedding(pool, ids.data(), rows, table.data(), vocab, d, out.data()),
              "embedding of valid ids returns true");
      },
      [&](const std::vector<float>& out) {
        int64_t bad = 0;
        for (int64_t r = 0; r < rows; ++r) {
          bad += std::memcmp(&out[r * d], &table[ids[r] * d],
                             d * sizeof(float)) != 0;
        }
        return count_bad(bad);
      });
  for (int64_t wrong : {int64_t{-1}, vocab}) {
    ThreadPool pool(2);
    std::vector<int64_t> bad_ids = ids;
    bad_ids[20] = wrong;
    std::vector<float> out(rows * d, 7.0f);
    const bool ok = embedding(pool, bad_ids.data(), rows, table.data(), vocab, d, out.data());
    bool untouched = true;
    for (float v : out) untouched = untouched && v == 7.0f;
    CHECK(!ok && untouched, "embedding with id %lld returns false and writes nothing",
          static_cast<long long>(wrong));
  }
}

void test_rms_norm() {
  for (int64_t d : {1, 7, 37, 100, 1024}) {
    const int64_t rows = 37;
    const double eps = 1e-6;
    const std::vector<float> x = random_floats(rows * d, -3, 3);
    const std::vector<float> w = random_floats(d, 0.5f, 1.5f);
    across_isas(
        "rms_norm", rows * d,
        [&](ThreadPool& pool, std::vector<float>& out) {
          rms_norm(pool, x.data(), rows, d, w.data(), eps, out.data());
        },
        [&](const std::vector<float>& out) {
          int64_t bad = 0;
          for (int64_t r = 0; r < rows; ++r) {
            double sq = 0;
            for (int64_t i = 0; i < d; ++i) sq += std::pow(static_cast<double>(x[r * d + i]), 2);
            const double inv = 1 / std::sqrt(sq / static_cast<double>(d) + eps);
            for (int64_t i = 0; i < d; ++i) {
              const size_t at = (r * d + i);
              const double want = x[at] * inv * w[i];
              // Two f32 roundings (the normalised value, the product).
              bad += std::fabs(out[at] - want) <= 2.5e-7 * std::fabs(want) ? 0 : 1;
            }
          }
          return count_bad(bad);
        });
  }
}

void test_rope_case(int64_t dh);

void test_rope() {
  // half = 8 (one AVX2 vector, a part of an AVX-512 one), 32 and 18 (vector tails).
  for (int64_t dh : {16, 64, 36}) test_rope_case(dh);
}

void test_rope_case(int64_t dh) {
  const int64_t rows = 37, heads = 3, seq = 10, ldx = heads * dh + 4;
  const std::vector<float> x = random_floats(rows * ldx, -2, 2);
  const std::vector<float> cosines = random_floats(seq * dh);
  const std::vector<float> sines = random_floats(seq * dh);
  across_isas(
      "rope", x.size(),
      [&](ThreadPool& pool, std::vector<float>& out) {
        out = x;
        rope(pool, out.data(), rows, heads, dh, ldx, cosines.data(), sines.data(), seq);
      },
      [&](const std::vector<float>& out) {
        int64_t bad = 0;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t p = r % seq;
          for (int64_t c = 0; c < ldx; ++c) {
            const size_t at = (r * ldx + c);
            if (c >= heads * dh) {
              bad += out[at] != x[at];  // the gap past the heads is left alone
              continue;
            }
            const int64_t base = r * ldx + c / dh * dh, i = c % dh;
            const double xi = x[at];
            const double rot =
                i < dh / 2 ? -static_cast<double>(x[base + i + dh / 2]) : x[base + i - dh / 2];
            const double cs = cosines[p * dh + i], sn = sines[p * dh + i];
            const double want = xi * cs + rot * sn;
            bad += std::fabs(out[at] - want) <= 2.5e-7 * (std::fabs(xi * cs) + std::fabs(rot * sn))
                       ? 0
                       : 1;
          }
        }
        return count_bad(bad);
      });
}

void test_elementwise_case(int64_t n);

void test_elementwise() {
  // 40000: several blocks of elements; 40007: and a tail shorter than any vector.
  for (int64_t n : {int64_t{40000}, int64_t{40007}}) test_elementwise_case(n);
}

void test_elementwise_case(int64_t n) {
  std::vector<float> a = random_floats(n, -12, 12);
  const std::vector<float> b = random_floats(n, -3, 3);
  // Gates where exp(-g) overflows (silu = -0) or vanishes (silu = g), and zeros.
  const float extremes[] = {-200.0f, -100.0f, -88.0f, -87.0f, 0.0f, -0.0f, 17.0f, 88.8f, 200.0f};
  for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; ++i) a[i * 7] = extremes[i];
  across_isas(
      "swiglu", n,
      [&](ThreadPool& pool, std::vector<float>& out) {
        swiglu(pool, a.data(), b.data(), n, out.data());
      },
      [&](const std::vector<float>& out) {
        int64_t bad = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          const double g = a[i], want = g / (1 + std::exp(-g)) * b[i];
          // exp (<= 2 ulp: vec_math.h) and three f32 roundings; below f32's smallest normal,
          // an absolute bound.
          bad += std::fabs(out[i] - want) <= 5e-7 * std::fabs(want) + 1e-37 ? 0 : 1;
        }
        return count_bad(bad);
      });
  across_isas(
      "add", n,
      [&](ThreadPool& pool, std::vector<float>& out) {
        add(pool, a.data(), b.data(), n, out.data());
      },
      [&](const std::vector<float>& out) {
        int64_t bad = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          const double want = static_cast<double>(a[i]) + b[i];
          bad += std::fabs(out[i] - want) <= 6e-8 * std::fabs(want) ? 0 : 1;  // one rounding
        }
        return count_bad(bad);
      });
  // In place: out aliases a.
  ThreadPool pool(3);
  std::vector<float> inout = a;
  add(pool, inout.data(), b.data(), n, inout.data());
  bool ok = true;
  for (size_t i = 0; i < inout.size(); ++i) ok = ok && inout[i] == a[i] + b[i];
  CHECK(ok, "add in place (out == a)");
}

// ---------------------------------------------------------------------------------------------
// Attention

/// The interpreter's fake quantization of n values with scale s (f32 operations, as specified).
float fake_quantize(float x, float s, float qmax) {
  const double q = std::fmin(std::fmax(round_half_even(static_cast<double>(x / s)), -qmax), qmax);
  return static_cast<float>(q) * s;
}

void fake_quantize_rows(std::vector<float>& m, int64_t rows, int64_t ld, int64_t width,
                        int64_t offset, int bits) {
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = &m[r * ld + offset];
    float amax = 0;
    for (int64_t i = 0; i < width; ++i) amax = std::fmax(amax, std::fabs(row[i]));
    const float s = amax > 0 ? amax / qmax : 1.0f;
    for (int64_t i = 0; i < width; ++i) row[i] = fake_quantize(row[i], s, qmax);
  }
}

void test_attention_case(const AttentionParams& p, bool with_v_scales) {
  const int64_t tokens = p.batch * p.seq, hd = p.head_dim;
  const int64_t ldq = p.heads * hd + 3, ldk = p.kv_heads * hd + 1, ldv = p.kv_heads * hd + 2,
                ldo = p.heads * hd + 5;
  const std::vector<float> q = random_floats(tokens * ldq, -2, 2);
  const std::vector<float> k = random_floats(tokens * ldk, -2, 2);
  const std::vector<float> v = random_floats(tokens * ldv, -2, 2);
  std::vector<float> v_scales(p.kv_heads);
  for (size_t i = 0; i < v_scales.size(); ++i)
    v_scales[i] = i == 1 ? -1.0f : uniform(0.005f, 0.02f);
  AttentionParams params = p;
  params.v_scales = with_v_scales ? v_scales.data() : nullptr;

  // Reference: the quantized operands exactly as specified, then float64 attention. Where p_bits
  // rounding meets a near-tie, either rounding is right: the tolerance widens by that step.
  std::vector<float> qf = q, kf = k, vf = v;
  if (p.qk_bits > 0) {
    for (int64_t h = 0; h < p.heads; ++h)
      fake_quantize_rows(qf, tokens, ldq, hd, h * hd, p.qk_bits);
    for (int64_t h = 0; h < p.kv_heads; ++h)
      fake_quantize_rows(kf, tokens, ldk, hd, h * hd, p.qk_bits);
  }
  if (p.v_bits > 0) {
    const float qmax = static_cast<float>((1 << (p.v_bits - 1)) - 1);
    for (int64_t b = 0; b < p.batch; ++b) {
      for (int64_t h = 0; h < p.kv_heads; ++h) {
        float s;
        if (with_v_scales) {
          s = v_scales[h];
        } else {
          float amax = 0;
          for (int64_t t = 0; t < p.seq; ++t) {
            for (int64_t i = 0; i < hd; ++i)
              amax = std::fmax(amax, std::fabs(v[(b * p.seq + t) * ldv + h * hd + i]));
          }
          s = amax / qmax;
        }
        if (s <= 0) s = 1;
        for (int64_t t = 0; t < p.seq; ++t) {
          for (int64_t i = 0; i < hd; ++i) {
            float& e = vf[(b * p.seq + t) * ldv + h * hd + i];
            e = fake_quantize(e, s, qmax);
          }
        }
      }
    }
  }
  const double levels = p.p_bits > 0 ? (1 << p.p_bits) - 1 : 0;
  std::vector<double> want(tokens * p.heads * hd), tol(want.size());
  std::vector<double> prob(p.seq), score_mag(p.seq);
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.heads; ++h) {
      const int64_t kh = h / (p.heads / p.kv_heads);
      for (int64_t t = 0; t < p.seq; ++t) {
        double m = -INFINITY;
        for (int64_t s = 0; s < p.seq; ++s) {
          double dot = 0, mag = 0;
          for (int64_t i = 0; i < hd; ++i) {
            const double prod = static_cast<double>(qf[(b * p.seq + t) * ldq + h * hd + i]) *
                                kf[(b * p.seq + s) * ldk + kh * hd + i];
            dot += prod;
            mag += std::fabs(prod);
          }
          prob[s] = p.scale * dot;
          score_mag[s] = std::fabs(p.scale) * mag;
          m = std::fmax(m, prob[s]);
        }
        double sum = 0, score_err = 0;
        for (int64_t s = 0; s < p.seq; ++s) {
          prob[s] = std::exp(prob[s] - m);
          sum += prob[s];
          score_err = std::fmax(score_err, 2e-6 * score_mag[s]);  // f32 dots
        }
        std::vector<bool> near_tie(p.seq, false);
        for (int64_t s = 0; s < p.seq; ++s) {
          double& pr = prob[s];
          pr /= sum;
          if (levels > 0) {
            const double scaled = pr * levels, frac = scaled - std::floor(scaled);
            near_tie[s] = std::fabs(frac - 0.5) < 1e-3;
            pr = round_half_even(scaled) / levels;
          }
        }
        for (int64_t i = 0; i < hd; ++i) {
          double o = 0, mag = 0, tie = 0;
          for (int64_t s = 0; s < p.seq; ++s) {
            const double vv = vf[(b * p.seq + s) * ldv + kh * hd + i];
            o += prob[s] * vv;
            mag += prob[s] * std::fabs(vv);
            if (near_tie[s]) tie += std::fabs(vv) / levels;
          }
          const size_t at = (((b * p.seq + t) * p.heads + h) * hd + i);
          want[at] = o;
          // Relative error of each p: the scores' error (through exp) plus f32 roundings.
          tol[at] = (2 * score_err + 1e-5) * mag + tie + 1e-6 * (levels > 0 ? 1 / levels : 0);
        }
      }
    }
  }

  char what[160];
  std::snprintf(
      what, sizeof what,
      "attention batch=%lld seq=%lld heads=%lld kv=%lld dh=%lld qk=%d p=%d v=%d v_scales=%d",
      static_cast<long long>(p.batch), static_cast<long long>(p.seq),
      static_cast<long long>(p.heads), static_cast<long long>(p.kv_heads),
      static_cast<long long>(hd), p.qk_bits, p.p_bits, p.v_bits, with_v_scales);
  // Every ISA path on 1, 2 and 3 threads; all bit-identical to the first (scalar, 1 thread).
  std::vector<float> first;
  for (Isa isa : available_isas()) {
    set_active_isa(isa);
    const std::string name = std::string(what) + " isa=" + isa_name(isa);
    across_threads(
      name.c_str(), tokens * ldo,
      [&](ThreadPool& pool, std::vector<float>& out) {
        std::vector<unsigned char> scratch(attention_scratch_size(params, pool.size()));
        attention(pool, q.data(), ldq, k.data(), ldk, v.data(), ldv, params, out.data(), ldo,
                  scratch.data());
        if (first.empty()) first = out;
        CHECK(same_bits(first.data(), out.data(), out.size() * sizeof(float)),
              "%s threads=%d differs bitwise from scalar", name.c_str(), pool.size());
      },
      [&](const std::vector<float>& out) {
        int64_t bad = 0, stray = 0;
        for (int64_t r = 0; r < tokens; ++r) {
          for (int64_t c = 0; c < ldo; ++c) {
            const float got = out[r * ldo + c];
            if (c >= p.heads * hd) {
              stray += std::isnan(got) ? 0 : 1;
              continue;
            }
            const size_t at = (r * p.heads * hd + c);
            bad += std::fabs(got - want[at]) <= tol[at] ? 0 : 1;
          }
        }
        return bad == 0 && stray == 0
                   ? std::string()
                   : std::to_string(bad) + " off, " + std::to_string(stray) + " stray";
      });
  }
  set_active_isa(detected_isa());
}

void test_attention() {
  AttentionParams p;
  p.batch = 2;
  p.seq = 37;
  p.heads = 4;
  p.head_dim = 16;
  p.scale = 0.25f;
  for (int64_t kv_heads : {2, 4}) {
    p.kv_heads = kv_heads;
    for (int qk : {0, 8}) {
      for (int pb : {0, 8}) {
        for (int vb : {0, 8}) {
          p.qk_bits = qk;
          p.p_bits = pb;
          p.v_bits = vb;
          test_attention_case(p, false);
          if (vb > 0) test_attention_case(p, true);
        }
      }
    }
  }
  // Several query blocks, 4-bit operands, one kv head for all.
  p.batch = 1;
  p.seq = 150;
  p.heads = 3;
  p.kv_heads = 1;
  p.head_dim = 32;
  p.scale = 1.0f / std::sqrt(32.0f);
  p.qk_bits = 4;
  p.p_bits = 4;
  p.v_bits = 4;
  test_attention_case(p, false);
  test_attention_case(p, true);
  // head_dim not a multiple of 16 (a padded V panel), 2 kv heads.
  p.seq = 37;
  p.heads = 4;
  p.kv_heads = 2;
  p.head_dim = 24;
  p.scale = 0.2f;
  p.qk_bits = p.p_bits = p.v_bits = 8;
  test_attention_case(p, false);
  p.qk_bits = p.p_bits = p.v_bits = 0;
  test_attention_case(p, false);
}

}  // namespace

int main() {
  test_thread_pool();
  test_isa();
  test_pack();
  test_qparams();
  test_quantize();
  test_qgemm();
  test_f32_pack();
  test_sgemm_packed();
  test_vec_exp();
  test_div_levels();
  test_embedding();
  test_rms_norm();
  test_rope();
  test_elementwise();
  test_attention();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
