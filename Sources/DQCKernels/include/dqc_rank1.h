// GPTQ's in-block error update: B[r, j] -= e[r] * u[j], multiplied and subtracted separately
// (two roundings, never fused), so every instruction set gives the same bits as plain Swift.
#ifndef DQC_RANK1_H
#define DQC_RANK1_H

#ifdef __cplusplus
extern "C" {
#endif

/// B[r * ldb + j] -= e[r * incE] * u[j] for r < rows, j < cols (float64).
void dqc_rank1_sub_f64(int rows, int cols, const double *e, int incE, const double *u, double *b,
                       int ldb);

#ifdef __cplusplus
}
#endif

#endif
