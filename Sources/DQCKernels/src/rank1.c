// dqc_rank1_sub_f64 (see dqc_rank1.h): an AVX-512 loop where available, portable C otherwise;
// the product is rounded before the subtraction on both.
#include "dqc_rank1.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang fp contract(off)

static void portable(int rows, int cols, const double *e, int incE, const double *u, double *b,
                     int ldb) {
  for (int r = 0; r < rows; r++) {
    const double er = e[(long)r * incE];
    double *br = b + (long)r * ldb;
    for (int j = 0; j < cols; j++) {
      const double p = er * u[j];
      br[j] = br[j] - p;
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void avx512(int rows, int cols, const double *e,
                                                      int incE, const double *u, double *b,
                                                      int ldb) {
  for (int r = 0; r < rows; r++) {
    const __m512d er = _mm512_set1_pd(e[(long)r * incE]);
    double *br = b + (long)r * ldb;
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m512d p = _mm512_mul_pd(er, _mm512_loadu_pd(u + j));
      _mm512_storeu_pd(br + j, _mm512_sub_pd(_mm512_loadu_pd(br + j), p));
    }
    if (j < cols) {
      __mmask8 mask = (__mmask8)((1u << (cols - j)) - 1);
      __m512d p = _mm512_mul_pd(er, _mm512_maskz_loadu_pd(mask, u + j));
      _mm512_mask_storeu_pd(br + j, mask, _mm512_sub_pd(_mm512_maskz_loadu_pd(mask, br + j), p));
    }
  }
}
#endif

void dqc_rank1_sub_f64(int rows, int cols, const double *e, int incE, const double *u, double *b,
                       int ldb) {
  if (rows <= 0 || cols <= 0) return;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    avx512(rows, cols, e, incE, u, b, ldb);
    return;
  }
#endif
  portable(rows, cols, e, incE, u, b, ldb);
}
