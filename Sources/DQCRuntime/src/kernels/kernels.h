// kernels.h: the CPU back end's kernels (internal to DQCRuntime; C++17).
//
// Every kernel works on token-major f32 activations ([rows, features], row-major, with a leading
// dimension) and is deterministic: each output element is computed by one thread with a fixed
// reduction order, so results do not depend on the thread count. Where a kernel mirrors an op of
// dqc's reference interpreter (Sources/DQCInterp), it follows the interpreter's semantics (the
// rounding rules below), so the two agree to float rounding.
#ifndef DQC_RUNTIME_KERNELS_H
#define DQC_RUNTIME_KERNELS_H

#include <cstddef>
#include <cstdint>
#include <functional>

namespace dqc::rt {

// ---------------------------------------------------------------------------------------------
// Threads

/// A fixed set of worker threads. `parallel_for(n, fn)` splits [0, n) into at most `size()`
/// contiguous chunks of near-equal length (the same split for the same n and size) and runs
/// `fn(begin, end)` for each, the calling thread taking one; it returns when all are done.
class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int size() const;
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  struct State;
  State* state_;
};

// ---------------------------------------------------------------------------------------------
// Instruction sets

/// The kernel paths; the best one the CPU supports is chosen once, and `DQC_ISA` (one of
/// `scalar`, `avx2`, `avx2-vnni`, `avx512-vnni`) can ask for a lower one (never a higher one).
enum class Isa { scalar = 0, avx2 = 1, avx2_vnni = 2, avx512_vnni = 3 };
Isa detected_isa();  // what the CPU supports
Isa active_isa();    // detected_isa() capped by DQC_ISA, or by set_active_isa
void set_active_isa(Isa isa);  // for tests; capped by detected_isa()
const char* isa_name(Isa isa);

// ---------------------------------------------------------------------------------------------
// Weight packing (done at compile time; the bundle stores packed codes with these layouts)

/// Layout 1, `q4-n16k8`: 4-bit codes of a weight [N, K] in panels of 16 output channels. For
/// panel p (channels 16p..16p+15) and k-block b (columns 8b..8b+7) there are 64 bytes at offset
/// (p * ceil(K/8) + b) * 64; byte j holds channel 16p + j/4: low nibble = code at column
/// 8b + j%4, high nibble = code at column 8b + 4 + j%4. Codes are unsigned 0..15 (signed i4
/// codes are stored as code + 8). Channels past N and columns past K are 0.
constexpr int64_t kQ4PanelN = 16;
constexpr int64_t kQ4BlockK = 8;
/// Layout 2, `q8-n16k4`: 8-bit codes in panels of 16 channels; for panel p and k-block b
/// (columns 4b..4b+3) 64 bytes at (p * ceil(K/4) + b) * 64; byte j = channel 16p + j/4, column
/// 4b + j%4, as unsigned 0..255 (signed i8 codes stored as code + 128). Pads are 0.
constexpr int64_t kQ8PanelN = 16;
constexpr int64_t kQ8BlockK = 4;

size_t q4_packed_size(int64_t n, int64_t k);
size_t q8_packed_size(int64_t n, int64_t k);
/// `codes`: row-major [N, K] 4-bit elements two per byte, element 2i in the low nibble of byte i
/// (the bundle's layout 0); i4 (two's complement nibbles) when `signed_codes`, else u4.
void q4_pack(const uint8_t* codes, int64_t n, int64_t k, bool signed_codes, uint8_t* out);
void q4_unpack(const uint8_t* packed, int64_t n, int64_t k, bool signed_codes, uint8_t* codes);
/// `codes`: row-major [N, K] bytes, i8 when `signed_codes`, else u8.
void q8_pack(const uint8_t* codes, int64_t n, int64_t k, bool signed_codes, uint8_t* out);
void q8_unpack(const uint8_t* packed, int64_t n, int64_t k, bool signed_codes, uint8_t* codes);

// ---------------------------------------------------------------------------------------------
// Quantized linear layers

/// Per-row symmetric activation quantization, the interpreter's `act_bits` rule:
/// qmax = 2^(bits-1) - 1; s = amax > 0 ? amax / qmax : 1 (amax = max |x| over the row);
/// q = clamp(round_half_even(x / s), -qmax, qmax) (a true division, not a reciprocal multiply).
/// Writes xq[r * ldq + c] for c < k and 0 for k <= c < ldq (ldq >= k, a multiple of 64), xs[r] = s
/// and xsum[r * (k / group) + g] = sum of q over columns [g * group, (g + 1) * group).
/// `group` divides k. bits in 2...8.
void quantize_rows(ThreadPool& pool, const float* x, int64_t rows, int64_t k, int64_t ldx, int bits,
                   int64_t group, int8_t* xq, int64_t ldq, float* xs, int32_t* xsum);

/// A packed quantized weight [N, K] with per-group scales and zero points.
struct QWeight {
  const uint8_t* packed = nullptr;  // layout 1 (bits 4) or layout 2 (bits 8)
  int bits = 4;                     // 4 or 8
  int64_t n = 0, k = 0;             // logical shape; k % 8 == 0 (bits 4) or k % 4 == 0 (bits 8)
  int64_t group = 0;                // columns per scale group (k for per-channel); divides k; % 8 == 0
  /// [ceil(N/16)][K/group][16]: the scale of channel 16p+i in group g at (p * G + g) * 16 + i.
  const float* scale_panel = nullptr;
  /// Same shape: the unsigned code that stands for zero (z for asymmetric; 8 or 128 for signed).
  const int32_t* zero_panel = nullptr;
  const float* bias = nullptr;      // [N] or null
};

/// Builds the scale and zero panels of a QWeight from the bundle's row-major tensors:
/// `scales` [N, G] (f16 bits when `scales_are_f16`, else f32), `zeros` [N, G] u8 or null
/// (symmetric: zero = 2^(bits-1), since signed codes are stored offset). Pads are 0.
size_t qparams_panel_size(int64_t n, int64_t groups);  // elements of each panel array
void build_qparams_panels(const void* scales, bool scales_are_f16, const uint8_t* zeros, int64_t n,
                          int64_t groups, int bits, float* scale_panel, int32_t* zero_panel);

/// y[r * ldy + c] = xs[r] * sum over g ascending of
///   scale(c, g) * (sum_{k in g} xq[r, k] * code(c, k) - zero(c, g) * xsum[r, g])  (+ bias[c])
/// with the inner sums in int32 (exact) and the outer sum in f32, for r < rows, c < N.
void qgemm(ThreadPool& pool, const int8_t* xq, int64_t ldq, const float* xs, const int32_t* xsum,
           int64_t rows, const QWeight& w, float* y, int64_t ldy);

/// Layout 3, `f32-n16`: a float weight [N, K] in panels of 16 output channels; panel p holds,
/// for each column k, the 16 values W[16p + i][k] at float offset (p * K + k) * 16 + i.
/// Channels past N are 0.
constexpr int64_t kF32PanelN = 16;
size_t f32_packed_size(int64_t n, int64_t k);  // bytes
void f32_pack(const float* w, int64_t n, int64_t k, float* out);
void f32_unpack(const float* packed, int64_t n, int64_t k, float* w);

/// Float linear layer over a layout-3 weight: y[r, c] = sum_k x[r, k] * W[c, k] (+ bias[c]).
/// Every path accumulates each output in one float, k ascending, with fused multiply-adds
/// (acc = fma(x, w, acc); the scalar path uses std::fma), then adds the bias, so all paths and
/// thread counts give the same bits.
void sgemm_packed(ThreadPool& pool, const float* x, int64_t rows, int64_t k, int64_t ldx,
                  const float* w_packed, int64_t n, const float* bias, float* y, int64_t ldy);

// ---------------------------------------------------------------------------------------------
// Model ops (interpreter semantics: Sources/DQCInterp/Kernels/{ModelOps,Reductions}.swift)

/// ids [rows] into table [vocab, d]; returns false (writing nothing) if an id is out of range.
bool embedding(ThreadPool& pool, const int64_t* ids, int64_t rows, const float* table,
               int64_t vocab, int64_t d, float* out);
/// RMSNorm like the interpreter: sum of squares in double, inv = 1 / sqrt(sq / d + eps) in
/// double, y = float(x * inv) * w. The sum runs in 16 double partial sums (x[i]^2, exact in
/// double, added to sum i % 16 for i ascending), folded as sum j += sum j + h for h = 8, 4, 2, 1
/// (vec_math.h), on every path.
void rms_norm(ThreadPool& pool, const float* x, int64_t rows, int64_t d, const float* w,
              double eps, float* y);
/// Rotate-half RoPE in place on x [rows, heads * dh] (leading dimension ldx); row r is at
/// position r % seq; cos/sin tables [seq, dh]:
/// out[i] = x[i] * cos[p][i] + (i < dh/2 ? -x[i + dh/2] : x[i - dh/2]) * sin[p][i].
void rope(ThreadPool& pool, float* x, int64_t rows, int64_t heads, int64_t dh, int64_t ldx,
          const float* cos, const float* sin, int64_t seq);
/// silu(g) * u = (g / (1 + exp(-g))) * u, elementwise over n, with the kernels' own f32 exp
/// (vec_math.h: within 2 ulp of the true exp, measured max 1.01 ulp; identical bits on every
/// path). NaN gates give NaN.
void swiglu(ThreadPool& pool, const float* gate, const float* up, int64_t n, float* out);
/// out = a + b elementwise over n (out may alias a or b).
void add(ThreadPool& pool, const float* a, const float* b, int64_t n, float* out);

/// Bidirectional attention over token-major q [batch*seq, heads*head_dim] and k, v
/// [batch*seq, kv_heads*head_dim] (query head h reads kv head h / (heads / kv_heads)), output
/// [batch*seq, heads*head_dim]. The interpreter's `dq.attention` with no mask, not causal:
/// - qk_bits > 0: each (token, head) row of q and of k fake-quantized symmetric per row
///   (s = amax / qmax or 1, round half even, clamp, times s);
/// - v_bits > 0: V of each (batch, kv head) [seq, head_dim] fake-quantized with v_scales[kv head]
///   when given, else amax / qmax of that slice (a scale <= 0 becomes 1);
/// - scores = scale * q . k (f32), softmax per row with exp(x - max) by the kernels' own f32 exp
///   (vec_math.h: within 2 ulp of the true exp, measured max 1.01 ulp) and a double sum of the
///   exps (16 partial sums, element i into sum i % 16, folded as for rms_norm), then
///   p *= float(1 / sum);
/// - p_bits > 0: p = round_half_even(p * L) / L with L = 2^p_bits - 1 (the quotient correctly
///   rounded, as a division gives it);
/// - out = p . v (f32).
struct AttentionParams {
  int64_t batch = 1, seq = 0, heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 0;
  int qk_bits = 0, p_bits = 0, v_bits = 0;
  const float* v_scales = nullptr;  // [kv_heads] or null
};
/// Bytes of scratch `attention` needs for the pool's thread count.
size_t attention_scratch_size(const AttentionParams& p, int threads);
void attention(ThreadPool& pool, const float* q, int64_t ldq, const float* k, int64_t ldk,
               const float* v, int64_t ldv, const AttentionParams& p, float* out, int64_t ldo,
               void* scratch);

}  // namespace dqc::rt

#endif
