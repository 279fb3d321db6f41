// The DQCKernels module: dqc's own numeric kernels for the quantization passes.
#include "dqc_gemm.h"
#include "dqc_rank1.h"
