import DQCIR
import DQCInterp
import DQCKernels
import DQCPasses
import Testing

/// The float32 Hessian, `dqc_gemm` under it and GPTQ after it: the kernel's numerical contract,
/// closeness to float64, and bit-identical results with 1 and 2 threads.
@Suite(.serialized) struct HessianKernelTests {
  static func random(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) }
  }

  /// Every element is the documented sequence of fused multiply-adds, whatever the kernel
  /// (AVX-512, AVX2 or portable C), tile edges and transposes: compared bit for bit with Swift.
  @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
  func gemmFollowsItsContract(_ transA: Bool, _ transB: Bool) {
    let (m, n, k, alpha) = (37, 45, 600, -0.75)
    let a = Self.random(m * k, seed: 1)
    let b = Self.random(k * n, seed: 2)
    let start = Self.random(m * n, seed: 3).map { Double($0) }
    func opA(_ i: Int, _ t: Int) -> Float { transA ? a[t * m + i] : a[i * k + t] }
    func opB(_ t: Int, _ j: Int) -> Float { transB ? b[j * k + t] : b[t * n + j] }
    let chunk = Int(DQC_GEMM_KC)
    var expected32 = start
    var expected64 = start
    for i in 0..<m {
      for j in 0..<n {
        for k0 in stride(from: 0, to: k, by: chunk) {
          var sum32: Float = 0
          var sum64: Double = 0
          for t in k0..<min(k0 + chunk, k) {
            sum32 = sum32.addingProduct(opA(i, t), opB(t, j))
            sum64 = sum64.addingProduct(Double(opA(i, t)), Double(opB(t, j)))
          }
          expected32[i * n + j] = expected32[i * n + j].addingProduct(alpha, Double(sum32))
          expected64[i * n + j] = expected64[i * n + j].addingProduct(alpha, sum64)
        }
      }
    }
    var c32 = start
    var c64 = start
    let a64 = a.map { Double($0) }
    let b64 = b.map { Double($0) }
    let (lda, ldb) = (Int32(transA ? m : k), Int32(transB ? k : n))
    dqc_gemm_f32(
      transA, transB, Int32(m), Int32(n), Int32(k), alpha, a, lda, b, ldb, &c32, Int32(n),
      Int(-m))
    dqc_gemm_f64(
      transA, transB, Int32(m), Int32(n), Int32(k), alpha, a64, lda, b64, ldb, &c64, Int32(n),
      Int(-m))
    #expect(
      c32.map(\.bitPattern) == expected32.map(\.bitPattern), "\(String(cString: dqc_gemm_isa()))")
    #expect(
      c64.map(\.bitPattern) == expected64.map(\.bitPattern), "\(String(cString: dqc_gemm_isa()))")
  }

  /// `Σ_t w_t² x_t x_tᵀ` is symmetric, within float32 rounding of the float64 sum, and the same
  /// bits however the rows are split into `add` calls.
  @Test func hessianMatchesFloat64AndIgnoresBatching() {
    let (k, tokens) = (70, 1300)
    let x = Self.random(tokens * k, seed: 4)
    let weights = (0..<tokens).map { 0.5 + Double($0 % 7) / 7 }
    var whole = HessianAccumulator(columns: k)
    whole.add(x, weights: weights)
    let h = whole.finish()
    var pieces = HessianAccumulator(columns: k)
    var t = 0
    for size in [1, 300, 723, 276] {
      pieces.add(Array(x[(t * k)..<((t + size) * k)]), weights: Array(weights[t..<(t + size)]))
      t += size
    }
    #expect(pieces.finish().map(\.bitPattern) == h.map(\.bitPattern))
    var worst = 0.0
    for i in 0..<k {
      for j in 0..<k {
        #expect(h[i * k + j] == h[j * k + i])
        var sum = 0.0
        for t in 0..<tokens {
          let w = weights[t] * weights[t]
          sum += w * Double(x[t * k + i]) * Double(x[t * k + j])
        }
        worst = max(worst, abs(h[i * k + j] - sum))
      }
    }
    // Entries are O(tokens); float32 sums of 256 products each.
    #expect(worst < 1e-3, "max |H - H64| = \(worst)")
  }

  /// The Hessian (tiles, batches, chunks) and GPTQ (row chunks, blocked inverse Cholesky) give
  /// the same bits on 1 and 2 threads, on shapes crossing every tile and chunk boundary (and
  /// groups starting inside blocks).
  @Test func oneAndTwoThreadsGiveIdenticalBits() throws {
    let (n, k, tokens) = (600, 300, 1100)
    let x = Self.random(tokens * k, seed: 5)
    let weights = (0..<tokens).map { 1 + Double($0 % 10) / 10 }
    let w = Self.random(n * k, seed: 6).map { Double($0) / 10 }
    func run(threads: Int) throws -> ([Double], GPTQ.Result) {
      Interpreter.setThreads(threads)
      defer { Interpreter.setThreads(1) }
      var accumulator = HessianAccumulator(columns: k)
      accumulator.add(x, weights: weights)
      let h = accumulator.finish()
      let gptq = GPTQ(quantizer: WeightQuantizer(bits: 4, groupSize: 60, symmetric: false))
      return (h, try gptq.quantize(w, rows: n, columns: k, hessian: h))
    }
    let (h1, q1) = try run(threads: 1)
    let (h2, q2) = try run(threads: 2)
    #expect(h1.map(\.bitPattern) == h2.map(\.bitPattern))
    #expect(q1.codes == q2.codes)
    #expect(q1.dequantized.map(\.bitPattern) == q2.dequantized.map(\.bitPattern))
    #expect(q1.scales.map(\.bitPattern) == q2.scales.map(\.bitPattern))
    #expect(q1.zeros == q2.zeros)
  }
}
