import DQCIR
import DQCInterp
import Foundation
import Testing

/// Kernels that split work over threads: float64 references, and bit-identical results with 1
/// and 3 threads on shapes that cross the block and chunk boundaries.
@Suite(.serialized) struct ParallelKernelTests {
  static func random(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) }
  }

  /// Runs `text` with 1 and with 3 threads; expects identical bits and returns the outputs.
  func runOnOneAndThreeThreads(_ text: String, _ inputs: [String: Tensor]) throws -> [Tensor] {
    let module = try IRParser.parse(text)
    try Verifier.verify(module)
    let interpreter = try Interpreter(module: module)
    Interpreter.setThreads(1)
    let one = try interpreter.run(inputs)
    Interpreter.setThreads(3)
    let three = try interpreter.run(inputs)
    Interpreter.setThreads(1)
    for (a, b) in zip(one, three) {
      #expect(a.floats.map(\.bitPattern) == b.floats.map(\.bitPattern), "1 vs 3 threads differ")
    }
    return one
  }

  /// `x[m×k] · w[n×k]ᵀ` in float64.
  static func reference(_ x: [Float], _ w: [Float], m: Int, n: Int, k: Int) -> [Double] {
    var out = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(x[i * k + p]) * Double(w[j * k + p]) }
        out[i * n + j] = sum
      }
    }
    return out
  }

  @Test(arguments: [(3, 600, 70), (300, 5, 70), (257, 513, 33)])
  func linearMatchesFloat64(_ m: Int, _ n: Int, _ k: Int) throws {
    let text = """
      dqir version 1

      module @m {
        graph @main(%x: tensor<\(m)x\(k)xf32>, %w: tensor<\(n)x\(k)xf32>) -> (tensor<\(m)x\(n)xf32>) {
          %y = dq.linear(%x, %w) : (tensor<\(m)x\(k)xf32>, tensor<\(n)x\(k)xf32>) -> tensor<\(m)x\(n)xf32>
          return %y
        }
      }
      """
    let x = Self.random(m * k, seed: 1)
    let w = Self.random(n * k, seed: 2)
    let y = try runOnOneAndThreeThreads(
      text, ["x": Tensor(shape: [m, k], floats: x), "w": Tensor(shape: [n, k], floats: w)])[0]
    let expected = Self.reference(x, w, m: m, n: n, k: k)
    let worst = zip(y.floats, expected).map { abs(Double($0) - $1) }.max() ?? 0
    // |sum| ≤ k and f32 accumulation over k = 70 terms: 1e-4 is ~100 ulps of the largest value.
    #expect(worst < 1e-4, "max abs error \(worst)")
  }

  @Test func blockOpsDoNotDependOnThreadCount() throws {
    // [1, 4, 160, 128]: 81,920 elements, more than one elementwise chunk and several heads.
    let shape = "1x4x160x128"
    let text = """
      dqir version 1

      module @m {
        graph @main(%x: tensor<\(shape)xf32>, %g: tensor<128xf32>) -> (tensor<\(shape)xf32>) {
          %n = dq.rms_norm(%x, %g) {eps = 1.0e-5} : (tensor<\(shape)xf32>, tensor<128xf32>) -> tensor<\(shape)xf32>
          %r = dq.rope(%n) {theta = 10000.0} : (tensor<\(shape)xf32>) -> tensor<\(shape)xf32>
          %a = dq.attention(%r, %r, %x) : (tensor<\(shape)xf32>, tensor<\(shape)xf32>, tensor<\(shape)xf32>) -> tensor<\(shape)xf32>
          %s = dq.swiglu(%a, %x) : (tensor<\(shape)xf32>, tensor<\(shape)xf32>) -> tensor<\(shape)xf32>
          %e = onnx.Exp(%s) : (tensor<\(shape)xf32>) -> tensor<\(shape)xf32>
          %p = onnx.Softmax(%e) {axis = 2} : (tensor<\(shape)xf32>) -> tensor<\(shape)xf32>
          return %p
        }
      }
      """
    let x = Self.random(4 * 160 * 128, seed: 3)
    let g = Self.random(128, seed: 4)
    let out = try runOnOneAndThreeThreads(
      text,
      ["x": Tensor(shape: [1, 4, 160, 128], floats: x), "g": Tensor(shape: [128], floats: g)])[0]
    // Softmax over axis 2: every (head, column) sums to one.
    let v = out.floats
    for column in [0, 77, 127] {
      var sum = 0.0
      for t in 0..<160 { sum += Double(v[(2 * 160 + t) * 128 + column]) }
      #expect(abs(sum - 1) < 1e-5)
    }
  }

  @Test func sliceCopiesRunsLikeIndexArithmetic() throws {
    let text = """
      dqir version 1

      module @m {
        graph @main(%x: tensor<3x5x8xf32>) -> (tensor<2x3x8xf32>) {
          %s = onnx.Constant() {value = dense<[1, 1]> : tensor<2xi64>} : () -> tensor<2xi64>
          %e = onnx.Constant() {value = dense<[3, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
          %y = onnx.Slice(%x, %s, %e) : (tensor<3x5x8xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<2x3x8xf32>
          return %y
        }
      }
      """
    let x = (0..<120).map { Float($0) }
    let y = try runOnOneAndThreeThreads(text, ["x": Tensor(shape: [3, 5, 8], floats: x)])[0]
    var expected: [Float] = []
    for i in 1..<3 {
      for j in 1..<4 { for k in 0..<8 { expected.append(Float(i * 40 + j * 8 + k)) } }
    }
    #expect(y.shape == [2, 3, 8])
    #expect(y.floats == expected)
  }
}
