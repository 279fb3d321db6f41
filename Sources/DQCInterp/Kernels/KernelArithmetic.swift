import DQCKernels

/// The arithmetic the interpreter shares, bit for bit, with the runtime's CPU kernels.
///
/// A quantized model rounds activations (and attention probabilities) to integer grids; a
/// last-bit difference in a value that is about to be rounded can flip one code, and the flip
/// propagates. So every value upstream of a rounding decision is computed here in one defined way,
/// the same as `Sources/DQCRuntime/src/kernels/vec_math.h`, `sgemm_*.cpp`, `attention.cpp`,
/// `model_ops.cpp` and `qgemm_*.cpp` (docs/interpreter.md, "Kernel arithmetic"):
///
/// - `exp`: vec_math's f32 exp (Cephes polynomial, ≤ 1.02 ulp), operation for operation;
/// - `laneSum`: float64 sums in 16 lanes (term i into lane i % 16, ascending i), folded lane
///   j += lane j + h for h = 8, 4, 2, 1;
/// - `dot`: f32 dot products as one fused multiply-add chain from +0, k ascending.
///
/// `exp` and `dot` run in DQCKernels (`dqc_fma_chain.h`): Swift's `addingProduct` becomes a call
/// to libm's `fmaf` per product on a baseline x86-64 target, while the C uses FMA instructions
/// where the CPU has them. Every fused step is one correctly rounded fma and every other operation
/// rounds separately (contraction off, as in the C++ kernels), so the bits are the same on every
/// path.
enum KernelArithmetic {
  /// Partial sums of `laneSum`.
  static let sumLanes = 16

  /// e^x in f32, operation for operation vec_math.h's `exp_scalar`.
  ///
  /// x clamped to [−104, 89]; n = round_half_even(x · log2 e) by the 1.5 · 2^23 trick;
  /// r = x − n · ln 2 in two fused steps; y = 1 + fma(P(r), r², r) with P Cephes' expf polynomial
  /// in fused Horner steps; e^x = (y · 2^⌊n/2⌋) · 2^(n − ⌊n/2⌋). NaN stays NaN. It runs as
  /// DQCKernels' `dqc_exp_f32` (the fused steps as FMA instructions where the CPU has them, libm's
  /// `fmaf` otherwise; the same bits either way).
  @inline(__always)
  static func exp(_ value: Float) -> Float {
    dqc_exp_f32(value)
  }

  /// Σ term(i) for i in 0..<count, in float64: term i added to lane i % 16 in ascending i, then
  /// the lanes folded (lane j += lane j + h for h = 8, 4, 2, 1).
  @inline(__always)
  static func laneSum(_ count: Int, _ term: (Int) -> Double) -> Double {
    withUnsafeTemporaryAllocation(of: Double.self, capacity: sumLanes) { lanes in
      lanes.initialize(repeating: 0)
      for i in 0..<count { lanes[i % sumLanes] += term(i) }
      var h = sumLanes / 2
      while h >= 1 {
        for j in 0..<h { lanes[j] += lanes[j + h] }
        h /= 2
      }
      return lanes[0]
    }
  }

  /// `C[m×n] = A[m×k] · op(B)` as the runtime's `sgemm_packed` computes it.
  ///
  /// Row-major buffers with leading dimensions; each element is one f32 fused multiply-add chain
  /// from +0 over k ascending. `transB` reads B as `[n×k]` (row stride `ldb`), otherwise as
  /// `[k×n]`. The chains run in DQCKernels' `dqc_sgemm_fma_chain` (vector FMA instructions where
  /// the CPU has them; Swift's `addingProduct` calls libm's `fmaf` for every product on a
  /// baseline x86-64 target): each step is one correctly rounded fma, so the bits are those of
  /// the chain written out in Swift.
  static func gemm(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, transB: Bool,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int
  ) {
    dqc_sgemm_fma_chain(transB, m, n, k, a, lda, b, ldb, c, ldc)
  }
}
