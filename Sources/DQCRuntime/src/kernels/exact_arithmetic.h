// exact_arithmetic.h: the compile settings every kernel with a stated rounding sequence needs.
//
// The kernels promise the same bits on every instruction-set path, tiling and thread count, which
// holds only if the compiler never fuses a multiply and an add that the code keeps apart (GCC
// does by default, across statements and intrinsics). DQC_UNROLL fully unrolls the loop that
// follows (over a tile's rows or panels) so its accumulators live in registers.
#ifndef DQC_RUNTIME_EXACT_ARITHMETIC_H
#define DQC_RUNTIME_EXACT_ARITHMETIC_H

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define DQC_UNROLL _Pragma("GCC unroll 32")

#endif
