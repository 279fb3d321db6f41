// dqc_sgemm_fma_chain: register-tiled fused multiply-add chains, and dqc_exp_f32 (see
// dqc_fma_chain.h).
//
// The AVX2 path keeps a tile of 4 rows x 16 columns of C in registers and runs the k loop once
// for the tile: each lane is one element's chain, in k order, with one vfmadd per product. The
// portable path calls fmaf. A transposed B is first copied to k x n.
#include "dqc_fma_chain.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define DQC_X86 1
#endif

// Only the fused steps written as fma may fuse.
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF

typedef void (*chain_kernel)(long m, long n, long k, const float *a, long lda, const float *b,
                             long ldb, float *c, long ldc);

static void portable(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                     float *c, long ldc) {
  for (long i = 0; i < m; i++) {
    float *row = c + i * ldc;
    for (long j = 0; j < n; j++) row[j] = 0.0f;
    for (long p = 0; p < k; p++) {
      const float v = a[i * lda + p];
      const float *y = b + p * ldb;
      for (long j = 0; j < n; j++) row[j] = fmaf(v, y[j], row[j]);
    }
  }
}

#if DQC_X86

#define MR 4

/// Lanes j < cols of a 16-column tile (two vectors of 8).
__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) __m256i
lane_mask(long cols, int half) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cols - 8 * half)), index);
}

/// s[r] += a[r, p] * b[p, 0..16) for r < rows, p ascending: one fma per step. Inlined, so the
/// call with rows == MR gets a constant trip count.
__attribute__((target("avx2,fma"), always_inline)) static inline void accumulate16(
    __m256 s[MR][2], long rows, long k, const float *a, long lda, const float *b, long ldb) {
  for (long p = 0; p < k; p++) {
    const __m256 b0 = _mm256_loadu_ps(b + p * ldb), b1 = _mm256_loadu_ps(b + p * ldb + 8);
    for (long r = 0; r < rows; r++) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
      s[r][0] = _mm256_fmadd_ps(x, b0, s[r][0]);
      s[r][1] = _mm256_fmadd_ps(x, b1, s[r][1]);
    }
  }
}

/// C[rows x cols] for rows <= MR, cols <= 16, over all k: full tiles load and store plainly,
/// partial ones through lane masks (masked lanes are neither read nor written).
__attribute__((target("avx2,fma"))) static void tile(long rows, long cols, long k,
                                                      const float *a, long lda, const float *b,
                                                      long ldb, float *c, long ldc) {
  __m256 s[MR][2];
  for (int r = 0; r < MR; r++) s[r][0] = s[r][1] = _mm256_setzero_ps();
  if (cols == 16) {
    if (rows == MR) {
      accumulate16(s, MR, k, a, lda, b, ldb);
    } else {
      accumulate16(s, rows, k, a, lda, b, ldb);
    }
    for (long r = 0; r < rows; r++) {
      _mm256_storeu_ps(c + r * ldc, s[r][0]);
      _mm256_storeu_ps(c + r * ldc + 8, s[r][1]);
    }
    return;
  }
  const __m256i m0 = lane_mask(cols, 0), m1 = lane_mask(cols, 1);
  for (long p = 0; p < k; p++) {
    const __m256 b0 = _mm256_maskload_ps(b + p * ldb, m0);
    const __m256 b1 = _mm256_maskload_ps(b + p * ldb + 8, m1);
    for (long r = 0; r < rows; r++) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
      s[r][0] = _mm256_fmadd_ps(x, b0, s[r][0]);
      s[r][1] = _mm256_fmadd_ps(x, b1, s[r][1]);
    }
  }
  for (long r = 0; r < rows; r++) {
    _mm256_maskstore_ps(c + r * ldc, m0, s[r][0]);
    _mm256_maskstore_ps(c + r * ldc + 8, m1, s[r][1]);
  }
}

__attribute__((target("avx2,fma"))) static void avx2(long m, long n, long k, const float *a,
                                                      long lda, const float *b, long ldb,
                                                      float *c, long ldc) {
  for (long j = 0; j < n; j += 16) {
    const long cols = n - j < 16 ? n - j : 16;
    for (long i = 0; i < m; i += MR) {
      const long rows = m - i < MR ? m - i : MR;
      tile(rows, cols, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc);
    }
  }
}

#endif

// The helpers of exp are inlined even in unoptimized (debug) builds.
#define DQC_INLINE static inline __attribute__((always_inline))

DQC_INLINE float float_of_bits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

DQC_INLINE int32_t bits_of_float(float f) {
  int32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

/// The exp of dqc_fma_chain.h with FMA(a, b, c) = a * b + c rounded once.
#define DQC_EXP_BODY(FMA)                                                        \
  if (x != x) return x + x;                                                     \
  const float round_magic = float_of_bits(0x4B400000u); /* 1.5 * 2^23 */        \
  x = x < -104.0f ? -104.0f : x;                                                \
  x = x > 89.0f ? 89.0f : x;                                                    \
  const float scaled = x * float_of_bits(0x3FB8AA3Bu); /* log2 e */             \
  const float t = scaled + round_magic;                                         \
  const float n = t - round_magic;                                              \
  float r = FMA(n, -float_of_bits(0x3F317218u), x);  /* ln 2, high part */      \
  r = FMA(n, -float_of_bits(0xB102E308u), r);        /* ln 2, low part */       \
  float p = FMA(float_of_bits(0x39506967u), r, float_of_bits(0x3AB743CEu));     \
  p = FMA(p, r, float_of_bits(0x3C088908u));                                    \
  p = FMA(p, r, float_of_bits(0x3D2AA9C1u));                                    \
  p = FMA(p, r, float_of_bits(0x3E2AAAAAu));                                    \
  p = FMA(p, r, float_of_bits(0x3F000000u));                                    \
  const float r2 = r * r;                                                       \
  const float y = FMA(p, r2, r) + 1.0f;                                         \
  const int32_t ni = bits_of_float(t) - bits_of_float(round_magic);            \
  const int32_t n1 = ni >> 1, n2 = ni - n1;                                     \
  const float s1 = float_of_bits((uint32_t)(n1 + 127) << 23);                  \
  const float s2 = float_of_bits((uint32_t)(n2 + 127) << 23);                  \
  const float ys1 = y * s1;                                                     \
  return ys1 * s2;

static float exp_portable(float x) { DQC_EXP_BODY(fmaf) }

#if DQC_X86
__attribute__((target("fma"))) DQC_INLINE float fma_instruction(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

__attribute__((target("fma"))) static float exp_fma(float x) { DQC_EXP_BODY(fma_instruction) }
#endif

typedef struct {
  chain_kernel kernel;
  float (*exp)(float);
  const char *name;
} isa_t;

static isa_t chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose_once(void) {
  chosen = (isa_t){portable, exp_portable, "portable"};
#if DQC_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    chosen = (isa_t){avx2, exp_fma, "avx2"};
#endif
}

static const isa_t *isa(void) {
  pthread_once(&chosen_once, choose_once);
  return &chosen;
}

const char *dqc_fma_chain_isa(void) { return isa()->name; }

float dqc_exp_f32(float x) { return isa()->exp(x); }

void dqc_sgemm_fma_chain(bool transB, long m, long n, long k, const float *a, long lda,
                         const float *b, long ldb, float *c, long ldc) {
  if (m <= 0 || n <= 0) return;
  const chain_kernel kernel = isa()->kernel;
  if (!transB) {
    kernel(m, n, k, a, lda, b, ldb, c, ldc);
    return;
  }
  // B^T as k x n; on the stack when small.
  float local[4096];
  const size_t count = (size_t)k * (size_t)n;
  float *bt = count <= sizeof local / sizeof local[0] ? local : malloc(count * sizeof(float));
  if (bt == NULL) {
    // Out of memory: the same chains, element by element.
    for (long i = 0; i < m; i++) {
      for (long j = 0; j < n; j++) {
        float acc = 0.0f;
        for (long p = 0; p < k; p++) acc = fmaf(a[i * lda + p], b[j * ldb + p], acc);
        c[i * ldc + j] = acc;
      }
    }
    return;
  }
  for (long j = 0; j < n; j++)
    for (long p = 0; p < k; p++) bt[p * n + j] = b[j * ldb + p];
  kernel(m, n, k, a, lda, bt, n, c, ldc);
  if (bt != local) free(bt);
}
