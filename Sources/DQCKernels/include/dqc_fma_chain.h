// Float32 arithmetic built of fused multiply-adds, for the reference interpreter (the
// arithmetic of the runtime's kernels): matrix products as single chains, and the kernels' exp.
//
// In a product every element of C is one chain: acc = +0, then acc = fma(a[i][p], b[p][j], acc) for p
// ascending, stored as is. Each step is one correctly rounded fused multiply-add, so every path
// (AVX2 with FMA, or portable C with fmaf) gives the same bits as any other exact fma chain,
// Swift's `Float.addingProduct` included.
#ifndef DQC_FMA_CHAIN_H
#define DQC_FMA_CHAIN_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/// C[m x n] = A[m x k] * op(B), row-major with leading dimensions lda, ldb, ldc. transB: B is
/// stored n x k (ldb >= k), else k x n (ldb >= n). C must not overlap A or B.
void dqc_sgemm_fma_chain(bool transB, long m, long n, long k, const float *a, long lda,
                         const float *b, long ldb, float *c, long ldc);

/// e^x in float32, operation for operation the runtime's `exp_scalar` (vec_math.h): x clamped to
/// [-104, 89]; n = round_half_even(x * log2 e) by the 1.5 * 2^23 trick; r = x - n * ln 2 in two
/// fused steps; y = 1 + fma(P(r), r^2, r) with Cephes' expf polynomial P in fused Horner steps;
/// e^x = (y * 2^floor(n/2)) * 2^(n - floor(n/2)). NaN stays NaN. Products and sums outside the
/// fused steps round separately (no contraction), so every path gives the same bits.
float dqc_exp_f32(float x);

/// The instruction set in use: "avx2" or "portable".
const char *dqc_fma_chain_isa(void);

#ifdef __cplusplus
}
#endif

#endif
