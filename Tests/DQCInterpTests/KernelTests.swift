import DQCIR
import DQCInterp
import Foundation
import Testing

/// Single ops against hand-computed (NumPy-equivalent) results.
@Suite struct KernelTests {
  func run(_ text: String, _ inputs: [String: Tensor]) throws -> [Tensor] {
    let module = try IRParser.parse(text)
    try Verifier.verify(module)
    return try Interpreter(module: module).run(inputs)
  }

  @Test func ropeRotatesHalvesByPositionAngles() throws {
    let text = """
      dqir version 1

      module @m {
        graph @main(%x: tensor<1x1x2x4xf32>) -> (tensor<1x1x2x4xf32>) {
          %y = dq.rope(%x) {theta = 100.0} : (tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
          return %y
        }
      }
      """
    let x: [Float] = [1, 2, 3, 4, 1, 2, 3, 4]
    let y = try run(text, ["x": Tensor(shape: [1, 1, 2, 4], floats: x)])[0].floats
    // Position 0 is the identity; position 1 rotates pair (x[i], x[i+2]) by 1 * 100^(-i/2).
    #expect(Array(y[0..<4]) == [1, 2, 3, 4])
    for i in 0..<2 {
      let angle = 1 * pow(100.0, -Double(2 * i) / 4)
      let (a, b) = (Double(x[i]), Double(x[i + 2]))
      #expect(abs(Double(y[4 + i]) - (a * cos(angle) - b * sin(angle))) < 1e-6)
      #expect(abs(Double(y[6 + i]) - (b * cos(angle) + a * sin(angle))) < 1e-6)
    }
  }

  @Test func groupedQueryAttentionSharesKeyValueHeads() throws {
    let text = """
      dqir version 1

      module @m {
        graph @main(%q: tensor<1x2x1x2xf32>, %k: tensor<1x1x2x2xf32>, %v: tensor<1x1x2x2xf32>) -> (tensor<1x2x1x2xf32>) {
          %o = dq.attention(%q, %k, %v) {scale = 1.0} : (tensor<1x2x1x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x2x1x2xf32>
          return %o
        }
      }
      """
    let out = try run(
      text,
      [
        "q": Tensor(shape: [1, 2, 1, 2], floats: [1, 0, 0, 1]),
        "k": Tensor(shape: [1, 1, 2, 2], floats: [1, 0, 0, 1]),
        "v": Tensor(shape: [1, 1, 2, 2], floats: [10, 0, 0, 10]),
      ])[0].floats
    // Head 0 scores [1, 0] -> p = [e/(e+1), 1/(e+1)]; head 1 scores [0, 1].
    let p = exp(1.0) / (exp(1.0) + 1)
    let expected = [10 * p, 10 * (1 - p), 10 * (1 - p), 10 * p]
    for (a, b) in zip(out, expected) { #expect(abs(Double(a) - b) < 1e-5) }
  }

  @Test func matMulBroadcastsBatches() throws {
    let text = """
      dqir version 1

      module @m {
        graph @main(%a: tensor<2x1x2x3xf32>, %b: tensor<3x2xf32>) -> (tensor<2x1x2x2xf32>) {
          %c = onnx.MatMul(%a, %b) : (tensor<2x1x2x3xf32>, tensor<3x2xf32>) -> tensor<2x1x2x2xf32>
          return %c
        }
      }
      """
    let a = (0..<12).map { Float($0) }
    let b: [Float] = [1, 0, 0, 1, 1, 1]
    let c = try run(
      text, ["a": Tensor(shape: [2, 1, 2, 3], floats: a), "b": Tensor(shape: [3, 2], floats: b)])[0]
    // Row r of A times B = [a0 + a2, a1 + a2].
    var expected: [Float] = []
    for row in stride(from: 0, to: 12, by: 3) {
      expected.append(a[row] + a[row + 2])
      expected.append(a[row + 1] + a[row + 2])
    }
    #expect(c.shape == [2, 1, 2, 2])
    #expect(c.floats == expected)
  }

  @Test func npyRoundTrip() throws {
    let t = Tensor(shape: [2, 3], floats: [1, -2, 3.5, 0, 1e-8, -0.0])
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("dqc-\(UUID()).npy")
      .path
    try Data(NPYFile.encode(t)).write(to: URL(fileURLWithPath: path))
    let back = try NPYFile.read(path)
    #expect(back.shape == [2, 3])
    #expect(back.floats.map(\.bitPattern) == t.floats.map(\.bitPattern))
  }
}
