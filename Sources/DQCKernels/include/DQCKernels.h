// The DQCKernels module: dqc's own numeric kernels for the quantization passes and the interpreter.
#include "dqc_gemm.h"
#include "dqc_fma_chain.h"
#include "dqc_rank1.h"
