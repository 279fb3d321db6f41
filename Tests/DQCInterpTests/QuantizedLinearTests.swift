import DQCIR
import DQCInterp
import DQCTestSupport
import Foundation
import Testing

/// `dq.qlinear` against float64 references written from the definitions.
@Suite struct QuantizedLinearTests {
  func module(groups: Int, actBits: Int?) -> (Module, [Double], [Int64], [Double], [Int64]) {
    let (n, k) = (3, 8)
    var rng = SplitMix64(seed: 5)
    let size = k / groups
    let codes = (0..<(n * k)).map { _ in Int64(rng.next() % 16) }
    let scales = (0..<(n * groups)).map { _ in Double(rng.next() % 100 + 1) / 1000 }
    let zeros = (0..<(n * groups)).map { _ in Int64(rng.next() % 16) }
    let x = (0..<(2 * k)).map { _ in Double(Int64(rng.next() % 2001) - 1000) / 500 }
    let qtype = QuantizedType(
      storage: .u4, expressed: .f32, granularity: .perGroup(axis: 1, size: size), isSymmetric: false
    )
    var m = Module(name: "m")
    m.weights.insert(
      Weight(
        name: "q",
        tensor: DenseTensor(
          type: TensorType(shape: [n, k], .quantized(qtype)), values: .ints(codes))))
    m.weights.insert(
      Weight(name: "s", tensor: DenseTensor(shape: [n, groups], element: .f32, floats: scales)))
    m.weights.insert(
      Weight(name: "z", tensor: DenseTensor(shape: [n, groups], element: .u8, ints: zeros)))
    let read = { (name: String) in
      Instruction(
        .dq(.weight), operands: [], results: [Value(name, m.weights[name]!.type)],
        attributes: AttributeDictionary([("name", .symbol(name))]))
    }
    var attributes = AttributeDictionary()
    if let actBits { attributes["act_bits"] = .int(Int64(actBits)) }
    m.graph = Graph(
      arguments: [Value("x", TensorType(shape: [2, k], .f32))],
      instructions: [
        read("q"), read("s"), read("z"),
        Instruction(
          .dq(.qlinear), operands: ["x", "q", "s", "z"],
          results: [Value("y", TensorType(shape: [2, n], .f32))],
          attributes: attributes),
      ], outputs: ["y"])
    return (m, x, codes, scales.map { Double(Float($0)) }, zeros)
  }

  @Test(arguments: [1, 2, 4])
  func weightOnlyMatchesDequantizedProduct(_ groups: Int) throws {
    let (m, x, codes, scales, zeros) = module(groups: groups, actBits: nil)
    try Verifier.verify(m)
    let y = try Interpreter(module: m).run([
      "x": Tensor(shape: [2, 8], floats: x.map { Float($0) })
    ])[0].doubles
    let size = 8 / groups
    for t in 0..<2 {
      for n in 0..<3 {
        var ref = 0.0
        for k in 0..<8 {
          let g = n * groups + k / size
          ref +=
            Double(Float(x[t * 8 + k]))
            * Double(Float(Double(codes[n * 8 + k] - zeros[g]) * scales[g]))
        }
        #expect(
          abs(y[t * 3 + n] - ref) <= 1e-5 * max(1, abs(ref)),
          "t \(t) n \(n): \(y[t * 3 + n]) vs \(ref)")
      }
    }
  }

  @Test(arguments: [1, 2])
  func int8ActivationsUseIntegerProducts(_ groups: Int) throws {
    let (m, x, codes, scales, zeros) = module(groups: groups, actBits: 8)
    let y = try Interpreter(module: m).run([
      "x": Tensor(shape: [2, 8], floats: x.map { Float($0) })
    ])[0].doubles
    let size = 8 / groups
    for t in 0..<2 {
      let row = (0..<8).map { Double(Float(x[t * 8 + $0])) }
      let sx = Double(Float(row.map(abs).max()!) / 127)
      let qx = row.map { min(max(($0 / sx).rounded(.toNearestOrEven), -127), 127) }
      for n in 0..<3 {
        var ref = 0.0
        for g in 0..<groups {
          var integer = 0.0
          for k in (g * size)..<((g + 1) * size) {
            integer += qx[k] * Double(codes[n * 8 + k] - zeros[n * groups + g])
          }
          ref += scales[n * groups + g] * integer
        }
        ref *= sx
        #expect(
          abs(y[t * 3 + n] - ref) <= 1e-6 * max(1, abs(ref)),
          "t \(t) n \(n): \(y[t * 3 + n]) vs \(ref)")
      }
    }
  }
}
