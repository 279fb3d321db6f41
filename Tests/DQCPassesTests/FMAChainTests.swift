import DQCIR
import DQCKernels
import Foundation
import Testing

/// The interpreter's fused arithmetic in C (`dqc_fma_chain.h`) against the same operations written
/// out in Swift with `addingProduct`, bit for bit.
@Suite struct FMAChainTests {
  static func random(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) }
  }

  /// Every element is one chain from +0 over k ascending, on every tile edge, leading dimension
  /// and transpose (k past 256 and k = 0 included).
  @Test(arguments: [false, true])
  func productsAreSwiftsChains(_ transB: Bool) {
    var rng = SplitMix64(seed: transB ? 7 : 5)
    for (m, n, k) in [(1, 1, 1), (4, 16, 8), (5, 17, 3), (23, 41, 300), (9, 33, 0), (13, 7, 64)] {
      let (lda, ldb, ldc) = (k + 2, (transB ? k : n) + 1, n + 3)
      let a = Self.random(m * lda, &rng)
      let b = Self.random((transB ? n : k) * ldb, &rng)
      var c = [Float](repeating: .nan, count: m * ldc)
      dqc_sgemm_fma_chain(transB, m, n, k, a, lda, b, ldb, &c, ldc)
      for i in 0..<m {
        for j in 0..<n {
          var acc: Float = 0
          for p in 0..<k {
            acc = acc.addingProduct(a[i * lda + p], transB ? b[j * ldb + p] : b[p * ldb + j])
          }
          #expect(c[i * ldc + j].bitPattern == acc.bitPattern, "\(m)x\(n)x\(k) [\(i), \(j)]")
        }
        for j in n..<ldc { #expect(c[i * ldc + j].isNaN, "padding [\(i), \(j)] written") }
      }
    }
  }

  /// The exp the interpreter had in Swift (vec_math.h's `exp_scalar` operation for operation).
  static func swiftExp(_ value: Float) -> Float {
    if value.isNaN { return value + value }
    var x = value < -104 ? -104 : value
    x = x > 89 ? 89 : x
    let roundMagic = Float(bitPattern: 0x4B40_0000)
    let t = x * Float(bitPattern: 0x3FB8_AA3B) + roundMagic
    let n = t - roundMagic
    var r = x.addingProduct(n, -Float(bitPattern: 0x3F31_7218))
    r = r.addingProduct(n, -Float(bitPattern: 0xB102_E308))
    var p = Float(bitPattern: 0x3AB7_43CE).addingProduct(Float(bitPattern: 0x3950_6967), r)
    p = Float(bitPattern: 0x3C08_8908).addingProduct(p, r)
    p = Float(bitPattern: 0x3D2A_A9C1).addingProduct(p, r)
    p = Float(bitPattern: 0x3E2A_AAAA).addingProduct(p, r)
    p = Float(bitPattern: 0x3F00_0000).addingProduct(p, r)
    let y = r.addingProduct(p, r * r) + 1
    let ni = Int32(bitPattern: t.bitPattern) &- Int32(bitPattern: roundMagic.bitPattern)
    let n1 = ni >> 1
    let n2 = ni &- n1
    let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) << 23))
    let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) << 23))
    return (y * s1) * s2
  }

  /// `dqc_exp_f32` on a stride through all 2^32 bit patterns and on the softmax range [-30, 0].
  @Test func expIsTheKernelsExp() {
    var inputs: [Float] = [0, -0, 1, -1, 88.7, 89, 89.5, -103.9, -104, -200, .infinity, -.infinity]
    for bits in stride(from: UInt32(0), to: UInt32.max - 40_009, by: 40_009) {
      inputs.append(Float(bitPattern: bits))
    }
    var rng = SplitMix64(seed: 11)
    for _ in 0..<100_000 { inputs.append(Float(-30 * rng.nextUnit())) }
    for x in inputs where !x.isNaN {
      #expect(dqc_exp_f32(x).bitPattern == Self.swiftExp(x).bitPattern, "exp(\(x))")
    }
    #expect(dqc_exp_f32(.nan).isNaN)
  }
}
