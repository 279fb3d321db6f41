// dqc_gemm_f32 / dqc_gemm_f64: a packed, cache-blocked matrix product with a register-tiled
// micro-kernel per instruction set (see dqc_gemm.h for the numerical contract).
//
// For each chunk of DQC_GEMM_KC products the whole op(A) (m x kc) and op(B) (kc x n) are packed
// into micro-panels, MR rows of A and NR columns of B, padded with zeros; the micro-kernel keeps
// an MR x NR tile of sums in registers, one fused multiply-add per product in k order, then adds
// alpha times the sums to C with fused multiply-adds. Callers keep m and n moderate (a few
// hundred) so the packed panels stay in the core's cache.
#include "dqc_gemm.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define DQC_X86 1
#endif

typedef void (*kernel_f32)(int kc, const float *ap, const float *bp, double alpha, double *c,
                           int ldc, int rows, int cols);
typedef void (*kernel_f64)(int kc, const double *ap, const double *bp, double alpha, double *c,
                           int ldc, int rows, int cols);

// ---- portable kernels (any machine; fma/fmaf keep the contract) ----

#define P_MR 4
#define P_NR 4

static void portable_f32(int kc, const float *ap, const float *bp, double alpha, double *c,
                         int ldc, int rows, int cols) {
  float acc[P_MR * P_NR] = {0};
  for (int t = 0; t < kc; t++)
    for (int r = 0; r < P_MR; r++)
      for (int j = 0; j < P_NR; j++)
        acc[r * P_NR + j] = fmaf(ap[t * P_MR + r], bp[t * P_NR + j], acc[r * P_NR + j]);
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++)
      c[r * ldc + j] = fma(alpha, (double)acc[r * P_NR + j], c[r * ldc + j]);
}

static void portable_f64(int kc, const double *ap, const double *bp, double alpha, double *c,
                         int ldc, int rows, int cols) {
  double acc[P_MR * P_NR] = {0};
  for (int t = 0; t < kc; t++)
    for (int r = 0; r < P_MR; r++)
      for (int j = 0; j < P_NR; j++)
        acc[r * P_NR + j] = fma(ap[t * P_MR + r], bp[t * P_NR + j], acc[r * P_NR + j]);
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++)
      c[r * ldc + j] = fma(alpha, acc[r * P_NR + j], c[r * ldc + j]);
}

#if DQC_X86

// ---- AVX-512: 12 x 32 (f32) and 12 x 16 (f64) tiles ----

#define Z_MR 12

__attribute__((target("avx512f,fma"))) static void avx512_f32(int kc, const float *ap,
                                                               const float *bp, double alpha,
                                                               double *c, int ldc, int rows,
                                                               int cols) {
  __m512 s[Z_MR][2];
  for (int r = 0; r < Z_MR; r++) s[r][0] = s[r][1] = _mm512_setzero_ps();
  for (int t = 0; t < kc; t++) {
    __m512 b0 = _mm512_loadu_ps(bp + t * 32), b1 = _mm512_loadu_ps(bp + t * 32 + 16);
    for (int r = 0; r < Z_MR; r++) {
      __m512 a = _mm512_set1_ps(ap[t * Z_MR + r]);
      s[r][0] = _mm512_fmadd_ps(a, b0, s[r][0]);
      s[r][1] = _mm512_fmadd_ps(a, b1, s[r][1]);
    }
  }
  __m512d al = _mm512_set1_pd(alpha);
  if (rows == Z_MR && cols == 32) {
    for (int r = 0; r < Z_MR; r++) {
      double *cr = c + (size_t)r * ldc;
      for (int h = 0; h < 2; h++) {
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(s[r][h]));
        __m512d hi = _mm512_cvtps_pd(
            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s[r][h]), 1)));
        _mm512_storeu_pd(cr + 16 * h, _mm512_fmadd_pd(al, lo, _mm512_loadu_pd(cr + 16 * h)));
        _mm512_storeu_pd(cr + 16 * h + 8,
                         _mm512_fmadd_pd(al, hi, _mm512_loadu_pd(cr + 16 * h + 8)));
      }
    }
    return;
  }
  float acc[Z_MR * 32];
  for (int r = 0; r < Z_MR; r++) {
    _mm512_storeu_ps(acc + r * 32, s[r][0]);
    _mm512_storeu_ps(acc + r * 32 + 16, s[r][1]);
  }
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++)
      c[(size_t)r * ldc + j] = fma(alpha, (double)acc[r * 32 + j], c[(size_t)r * ldc + j]);
}

__attribute__((target("avx512f,fma"))) static void avx512_f64(int kc, const double *ap,
                                                               const double *bp, double alpha,
                                                               double *c, int ldc, int rows,
                                                               int cols) {
  __m512d s[Z_MR][2];
  for (int r = 0; r < Z_MR; r++) s[r][0] = s[r][1] = _mm512_setzero_pd();
  for (int t = 0; t < kc; t++) {
    __m512d b0 = _mm512_loadu_pd(bp + t * 16), b1 = _mm512_loadu_pd(bp + t * 16 + 8);
    for (int r = 0; r < Z_MR; r++) {
      __m512d a = _mm512_set1_pd(ap[t * Z_MR + r]);
      s[r][0] = _mm512_fmadd_pd(a, b0, s[r][0]);
      s[r][1] = _mm512_fmadd_pd(a, b1, s[r][1]);
    }
  }
  __m512d al = _mm512_set1_pd(alpha);
  if (rows == Z_MR && cols == 16) {
    for (int r = 0; r < Z_MR; r++) {
      double *cr = c + (size_t)r * ldc;
      _mm512_storeu_pd(cr, _mm512_fmadd_pd(al, s[r][0], _mm512_loadu_pd(cr)));
      _mm512_storeu_pd(cr + 8, _mm512_fmadd_pd(al, s[r][1], _mm512_loadu_pd(cr + 8)));
    }
    return;
  }
  double acc[Z_MR * 16];
  for (int r = 0; r < Z_MR; r++) {
    _mm512_storeu_pd(acc + r * 16, s[r][0]);
    _mm512_storeu_pd(acc + r * 16 + 8, s[r][1]);
  }
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++)
      c[(size_t)r * ldc + j] = fma(alpha, acc[r * 16 + j], c[(size_t)r * ldc + j]);
}

// ---- AVX2: 6 x 16 (f32) and 6 x 8 (f64) tiles ----

#define Y_MR 6

__attribute__((target("avx2,fma"))) static void avx2_f32(int kc, const float *ap,
                                                         const float *bp, double alpha,
                                                         double *c, int ldc, int rows, int cols) {
  __m256 s[Y_MR][2];
  for (int r = 0; r < Y_MR; r++) s[r][0] = s[r][1] = _mm256_setzero_ps();
  for (int t = 0; t < kc; t++) {
    __m256 b0 = _mm256_loadu_ps(bp + t * 16), b1 = _mm256_loadu_ps(bp + t * 16 + 8);
    for (int r = 0; r < Y_MR; r++) {
      __m256 a = _mm256_broadcast_ss(ap + t * Y_MR + r);
      s[r][0] = _mm256_fmadd_ps(a, b0, s[r][0]);
      s[r][1] = _mm256_fmadd_ps(a, b1, s[r][1]);
    }
  }
  float acc[Y_MR * 16];
  for (int r = 0; r < Y_MR; r++) {
    _mm256_storeu_ps(acc + r * 16, s[r][0]);
    _mm256_storeu_ps(acc + r * 16 + 8, s[r][1]);
  }
  __m256d al = _mm256_set1_pd(alpha);
  if (rows == Y_MR && cols == 16) {
    for (int r = 0; r < Y_MR; r++) {
      double *cr = c + (size_t)r * ldc;
      for (int q = 0; q < 4; q++) {
        __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(acc + r * 16 + 4 * q));
        _mm256_storeu_pd(cr + 4 * q, _mm256_fmadd_pd(al, v, _mm256_loadu_pd(cr + 4 * q)));
      }
    }
    return;
  }
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++)
      c[(size_t)r * ldc + j] = fma(alpha, (double)acc[r * 16 + j], c[(size_t)r * ldc + j]);
}

__attribute__((target("avx2,fma"))) static void avx2_f64(int kc, const double *ap,
                                                         const double *bp, double alpha,
                                                         double *c, int ldc, int rows, int cols) {
  __m256d s[Y_MR][2];
  for (int r = 0; r < Y_MR; r++) s[r][0] = s[r][1] = _mm256_setzero_pd();
  for (int t = 0; t < kc; t++) {
    __m256d b0 = _mm256_loadu_pd(bp + t * 8), b1 = _mm256_loadu_pd(bp + t * 8 + 4);
    for (int r = 0; r < Y_MR; r++) {
      __m256d a = _mm256_broadcast_sd(ap + t * Y_MR + r);
      s[r][0] = _mm256_fmadd_pd(a, b0, s[r][0]);
      s[r][1] = _mm256_fmadd_pd(a, b1, s[r][1]);
    }
  }
  __m256d al = _mm256_set1_pd(alpha);
  if (rows == Y_MR && cols == 8) {
    for (int r = 0; r < Y_MR; r++) {
      double *cr = c + (size_t)r * ldc;
      _mm256_storeu_pd(cr, _mm256_fmadd_pd(al, s[r][0], _mm256_loadu_pd(cr)));
      _mm256_storeu_pd(cr + 4, _mm256_fmadd_pd(al, s[r][1], _mm256_loadu_pd(cr + 4)));
    }
    return;
  }
  double acc[Y_MR * 8];
  for (int r = 0; r < Y_MR; r++) {
    _mm256_storeu_pd(acc + r * 8, s[r][0]);
    _mm256_storeu_pd(acc + r * 8 + 4, s[r][1]);
  }
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++)
      c[(size_t)r * ldc + j] = fma(alpha, acc[r * 8 + j], c[(size_t)r * ldc + j]);
}

#endif

// ---- dispatch ----

typedef struct {
  int mr32, nr32, mr64, nr64;
  kernel_f32 k32;
  kernel_f64 k64;
  const char *name;
} isa_t;

static isa_t choose(void) {
#if DQC_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
    return (isa_t){Z_MR, 32, Z_MR, 16, avx512_f32, avx512_f64, "avx512"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return (isa_t){Y_MR, 16, Y_MR, 8, avx2_f32, avx2_f64, "avx2"};
#endif
  return (isa_t){P_MR, P_NR, P_MR, P_NR, portable_f32, portable_f64, "portable"};
}

static isa_t chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;
static void choose_once(void) { chosen = choose(); }

static const isa_t *isa(void) {
  pthread_once(&chosen_once, choose_once);
  return &chosen;
}

const char *dqc_gemm_isa(void) { return isa()->name; }

int dqc_gemm_panel_f32(bool forB) { return forB ? isa()->nr32 : isa()->mr32; }

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

// A buffer per thread and purpose, grown as needed and kept for the thread's next call.
static void *scratch(void **slot, size_t *capacity, size_t bytes) {
  if (*capacity < bytes) {
    free(*slot);
    *slot = aligned_alloc(64, round_up(bytes, 64));
    if (!*slot) abort();
    *capacity = round_up(bytes, 64);
  }
  return *slot;
}

// Packed layout of `lines` lines of length k (rows of op(A), or columns of op(B)) in panels of
// w lines: chunk q (of DQC_GEMM_KC products, kc_q long) starts at q * padded * DQC_GEMM_KC, and
// in it panel p at p * w * kc_q, holding [t][line % w]; lines past `lines` are zero.
static size_t packed_size(int lines, int k, int w) {
  int chunks = (k + DQC_GEMM_KC - 1) / DQC_GEMM_KC;
  return round_up((size_t)lines, (size_t)w) * (size_t)DQC_GEMM_KC * (size_t)chunks;
}

// Line i, product t of X: x[t * ld + i] when trans (X stored k x lines), else x[i * ld + t].
#define DQC_PACK(NAME, T)                                                                        \
  static void NAME(bool trans, int lines, int k, const T *x, int ld, int w, T *dst, int lo,      \
                   int hi) {                                                                     \
    const size_t padded = round_up((size_t)lines, (size_t)w);                                    \
    const int end = hi < lines ? hi : lines;                                                     \
    const int padded_hi = (int)round_up((size_t)hi, (size_t)w);                                  \
    for (int k0 = 0, q = 0; k0 < k; k0 += DQC_GEMM_KC, q++) {                                    \
      const int kc = k - k0 < DQC_GEMM_KC ? k - k0 : DQC_GEMM_KC;                                \
      T *chunk = dst + (size_t)q * padded * DQC_GEMM_KC;                                         \
      if (trans) {                                                                               \
        for (int t = 0; t < kc; t++) {                                                           \
          const T *src = x + (size_t)(k0 + t) * (size_t)ld;                                      \
          for (int i0 = lo; i0 < padded_hi; i0 += w) {                                           \
            T *d = chunk + (size_t)i0 * kc + (size_t)t * w;                                      \
            if (i0 + w <= end) {                                                                 \
              memcpy(d, src + i0, sizeof(T) * (size_t)w);                                        \
            } else {                                                                             \
              for (int r = 0; r < w; r++) d[r] = i0 + r < end ? src[i0 + r] : (T)0;             \
            }                                                                                    \
          }                                                                                      \
        }                                                                                        \
      } else {                                                                                   \
        for (int i = lo; i < padded_hi; i++) {                                                   \
          T *d = chunk + (size_t)(i / w * w) * kc + (size_t)(i % w);                             \
          if (i < end) {                                                                         \
            const T *src = x + (size_t)i * (size_t)ld + (size_t)k0;                              \
            for (int t = 0; t < kc; t++) d[(size_t)t * w] = src[t];                              \
          } else {                                                                               \
            for (int t = 0; t < kc; t++) d[(size_t)t * w] = 0;                                   \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

DQC_PACK(pack_f32, float)
DQC_PACK(pack_f64, double)

size_t dqc_gemm_pack_size_f32(int lines, int k, bool forB) {
  return packed_size(lines, k, dqc_gemm_panel_f32(forB));
}

void dqc_gemm_pack_f32(bool trans, bool forB, int lines, int k, const float *x, int ld,
                       float *dst, int lo, int hi) {
  pack_f32(trans, lines, k, x, ld, dqc_gemm_panel_f32(forB), dst, lo, hi);
}

// C[m x n] += alpha * A[i0 .. i0 + m) * B[j0 .. j0 + n) from packs of aLines / bLines lines;
// each chunk sweeps the whole C tile, which callers size to stay in cache.
#define DQC_COMPUTE(NAME, T, MR_FIELD, NR_FIELD, KERNEL_FIELD)                                  \
  static void NAME(int m, int n, int k, double alpha, const T *ap, int aLines, int i0,           \
                   const T *bp, int bLines, int j0, double *c, int ldc, long diagonal) {         \
    const isa_t *s = isa();                                                                      \
    const int mr = s->MR_FIELD, nr = s->NR_FIELD;                                                \
    const size_t ap_stride = round_up((size_t)aLines, (size_t)mr) * DQC_GEMM_KC;                 \
    const size_t bp_stride = round_up((size_t)bLines, (size_t)nr) * DQC_GEMM_KC;                 \
    for (int k0 = 0, q = 0; k0 < k; k0 += DQC_GEMM_KC, q++) {                                    \
      const int kc = k - k0 < DQC_GEMM_KC ? k - k0 : DQC_GEMM_KC;                                \
      const T *a = ap + q * ap_stride + (size_t)i0 * kc;                                         \
      const T *b = bp + q * bp_stride + (size_t)j0 * kc;                                         \
      for (int jj = 0; jj < n; jj += nr) {                                                       \
        int cols = n - jj < nr ? n - jj : nr;                                                    \
        for (int ii = 0; ii < m; ii += mr) {                                                     \
          if ((long)(jj + cols - 1) - ii < diagonal) break;                                      \
          int rows = m - ii < mr ? m - ii : mr;                                                  \
          s->KERNEL_FIELD(kc, a + (size_t)ii * kc, b + (size_t)jj * kc, alpha,                   \
                          c + (size_t)ii * ldc + jj, ldc, rows, cols);                           \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

DQC_COMPUTE(compute_f32, float, mr32, nr32, k32)
DQC_COMPUTE(compute_f64, double, mr64, nr64, k64)

void dqc_gemm_packed_f32(int m, int n, int k, double alpha, const float *ap, int aLines, int i0,
                         const float *bp, int bLines, int j0, double *c, int ldc, long diagonal) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  compute_f32(m, n, k, alpha, ap, aLines, i0, bp, bLines, j0, c, ldc, diagonal);
}

// The one-call driver: packs op(A) and op(B) into per-thread buffers, then computes.
#define DQC_GEMM_DRIVER(NAME, T, PACK, COMPUTE, MR_FIELD, NR_FIELD)                             \
  void NAME(bool transA, bool transB, int m, int n, int k, double alpha, const T *a, int lda,    \
            const T *b, int ldb, double *c, int ldc, long diagonal) {                            \
    static _Thread_local void *abuf = NULL, *bbuf = NULL;                                        \
    static _Thread_local size_t acap = 0, bcap = 0;                                              \
    if (m <= 0 || n <= 0 || k <= 0) return;                                                      \
    const isa_t *s = isa();                                                                      \
    const int mr = s->MR_FIELD, nr = s->NR_FIELD;                                                \
    T *ap = scratch(&abuf, &acap, sizeof(T) * packed_size(m, k, mr));                            \
    T *bp = scratch(&bbuf, &bcap, sizeof(T) * packed_size(n, k, nr));                            \
    PACK(transA, m, k, a, lda, mr, ap, 0, m);                                                    \
    /* op(B)'s columns are the lines: stored n x k when transB. */                               \
    PACK(!transB, n, k, b, ldb, nr, bp, 0, n);                                                   \
    COMPUTE(m, n, k, alpha, ap, m, 0, bp, n, 0, c, ldc, diagonal);                               \
  }

DQC_GEMM_DRIVER(dqc_gemm_f32, float, pack_f32, compute_f32, mr32, nr32)
DQC_GEMM_DRIVER(dqc_gemm_f64, double, pack_f64, compute_f64, mr64, nr64)
