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
/// Swift never contracts a multiply and an add into a fused one, so the separate operations below
/// round separately, as the C++ kernels' (compiled with contraction off) do.
enum KernelArithmetic {
  /// Partial sums of `laneSum`.
  static let sumLanes = 16

  private static let expLow: Float = -104  // exp(-104) < 2^-150: rounds to 0
  private static let expHigh: Float = 89  // exp(89) > Float.greatestFiniteMagnitude
  // The constants by their bits, exactly the C++ float literals.
  private static let log2e = Float(bitPattern: 0x3FB8_AA3B)
  private static let roundMagic = Float(bitPattern: 0x4B40_0000)  // 1.5 · 2^23
  private static let ln2High = Float(bitPattern: 0x3F31_7218)
  private static let ln2Low = Float(bitPattern: 0xB102_E308)
  private static let c0 = Float(bitPattern: 0x3F00_0000)
  private static let c1 = Float(bitPattern: 0x3E2A_AAAA)
  private static let c2 = Float(bitPattern: 0x3D2A_A9C1)
  private static let c3 = Float(bitPattern: 0x3C08_8908)
  private static let c4 = Float(bitPattern: 0x3AB7_43CE)
  private static let c5 = Float(bitPattern: 0x3950_6967)

  /// e^x in f32, operation for operation vec_math.h's `exp_scalar`.
  ///
  /// x clamped to [−104, 89]; n = round_half_even(x · log2 e) by the 1.5 · 2^23 trick; r = x − n · ln 2 in two fused
  /// steps; y = 1 + fma(P(r), r², r) with P Cephes' expf polynomial in fused Horner steps;
  /// e^x = (y · 2^⌊n/2⌋) · 2^(n − ⌊n/2⌋). NaN stays NaN.
  @inline(__always)
  static func exp(_ value: Float) -> Float {
    if value.isNaN { return value + value }
    var x = value < expLow ? expLow : value
    x = x > expHigh ? expHigh : x
    let t = x * log2e + roundMagic
    let n = t - roundMagic
    var r = x.addingProduct(n, -ln2High)
    r = r.addingProduct(n, -ln2Low)
    var p = c4.addingProduct(c5, r)
    p = c3.addingProduct(p, r)
    p = c2.addingProduct(p, r)
    p = c1.addingProduct(p, r)
    p = c0.addingProduct(p, r)
    let y = r.addingProduct(p, r * r) + 1
    let ni = Int32(bitPattern: t.bitPattern) &- Int32(bitPattern: roundMagic.bitPattern)
    let n1 = ni >> 1
    let n2 = ni &- n1
    let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) << 23))
    let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) << 23))
    return (y * s1) * s2
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
  /// `[k×n]`.
  static func gemm(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, transB: Bool,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int
  ) {
    if transB {
      for i in 0..<m {
        let x = a + i * lda
        for j in 0..<n {
          let y = b + j * ldb
          var acc: Float = 0
          for p in 0..<k { acc = acc.addingProduct(x[p], y[p]) }
          c[i * ldc + j] = acc
        }
      }
    } else {
      for i in 0..<m {
        let x = a + i * lda
        let row = c + i * ldc
        row.update(repeating: 0, count: n)
        for p in 0..<k {
          let v = x[p]
          let y = b + p * ldb
          for j in 0..<n { row[j] = row[j].addingProduct(v, y[j]) }
        }
      }
    }
  }
}
