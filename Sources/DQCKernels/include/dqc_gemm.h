// dqc's own matrix-product kernel for the quantization passes.
//
// C[m x n] (float64, row-major, ldc) += alpha * op(A) * op(B), where op(A) is m x k and op(B) is
// k x n. A and B are both float32 (products accumulated in float32) or both float64.
//
// Every element of C is computed the same way on every machine and code path (AVX-512, AVX2 or
// portable C): k is cut into chunks of DQC_GEMM_KC; in each chunk the element's products are
// accumulated in order with fused multiply-adds from zero, and the chunk's sum is added to C with
// one fused multiply-add by alpha. Results therefore do not depend on the instruction set, the
// tile sizes or on how callers split C over threads.
#ifndef DQC_GEMM_H
#define DQC_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Products per chunk of k (accumulated in the inputs' precision before entering C).
#define DQC_GEMM_KC 256

/// C += alpha * op(A) op(B) for float32 A, B. transA: A is stored k x m (lda >= m), else m x k
/// (lda >= k); transB: B is stored n x k (ldb >= k), else k x n (ldb >= n). Only the elements
/// of C with column - row >= diagonal are required (others may be skipped or written); pass -m
/// for all.
void dqc_gemm_f32(bool transA, bool transB, int m, int n, int k, double alpha, const float *a,
                  int lda, const float *b, int ldb, double *c, int ldc, long diagonal);

/// The same with float64 A and B (products accumulated in float64).
void dqc_gemm_f64(bool transA, bool transB, int m, int n, int k, double alpha, const double *a,
                  int lda, const double *b, int ldb, double *c, int ldc, long diagonal);

/// Prepacked float32 operands, for products that share them (a symmetric update reads every
/// panel of X many times). A pack holds `lines` lines of length k: the rows of op(A)
/// (`forB == false`) or the columns of op(B) (`forB == true`), laid out in panels of
/// `dqc_gemm_panel_f32(forB)` lines.

/// Lines per panel of an A (`forB == false`) or B pack.
int dqc_gemm_panel_f32(bool forB);

/// Floats a pack of `lines` lines of length k needs.
size_t dqc_gemm_pack_size_f32(int lines, int k, bool forB);

/// Packs lines [lo, hi) of X into `dst` (a pack of `lines` lines): line i, product t is
/// x[t * ld + i] when trans (X stored k x lines), else x[i * ld + t]. lo must be a multiple of
/// the panel width and hi one too or `lines`; disjoint ranges may be packed concurrently.
void dqc_gemm_pack_f32(bool trans, bool forB, int lines, int k, const float *x, int ld,
                       float *dst, int lo, int hi);

/// C[m x n] += alpha * A[i0, i0 + m) * B[j0, j0 + n) (k products) from an A pack of aLines
/// lines and a B pack of bLines lines; i0 and j0 are multiples of the panel widths. Only the
/// elements with column - row >= diagonal are required (others may be skipped or written);
/// pass -m for all.
void dqc_gemm_packed_f32(int m, int n, int k, double alpha, const float *ap, int aLines, int i0,
                         const float *bp, int bLines, int j0, double *c, int ldc, long diagonal);

/// The instruction set in use: "avx512", "avx2" or "portable".
const char *dqc_gemm_isa(void);

#ifdef __cplusplus
}
#endif

#endif
