import DQCIR
import DQCPasses
import Foundation
import Testing

/// Folded values checked against direct Float and Double computations.
@Suite struct ConstantFoldingTests {
  func fold(_ op: ONNXOp, _ inputs: [DenseTensor], attributes: [(String, Attribute)] = [])
    throws -> DenseTensor
  {
    var module = Module(name: "m")
    var instructions: [Instruction] = []
    for (i, input) in inputs.enumerated() {
      module.weights.insert(Weight(name: "in\(i)", tensor: input))
      instructions.append(
        Instruction(
          .dq(.weight), operands: [], results: [Value("in\(i)", input.type)],
          attributes: AttributeDictionary([("name", .symbol("in\(i)"))])))
    }
    instructions.append(
      Instruction(
        .onnx(op), operands: inputs.indices.map { "in\($0)" },
        results: [Value("y", TensorType(unrankedOf: inputs[0].type.element))],
        attributes: AttributeDictionary(attributes)))
    if op == .equal || op == .less {
      instructions[instructions.count - 1].results[0].type.element = .bool
    }
    if case .elementType(let to)? = AttributeDictionary(attributes)["to"] {
      instructions[instructions.count - 1].results[0].type.element = to
    }
    module.graph = Graph(instructions: instructions, outputs: ["y"])
    try Verifier.verify(module)
    var context = PassContext()
    try PassManager(pipeline: "canonicalize").run(&module, context: &context, output: { _ in })
    let read = try #require(module.graph.instructions.last)
    #expect(read.op == .dq(.weight), "\(op) did not fold")
    let symbol = try #require(read.weightSymbol)
    return try #require(module.weights[symbol]).loadTensor()
  }

  func randomFloats(_ n: Int, seed: UInt64) -> [Double] {
    var state = seed
    return (0..<n).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(Float(Double(state >> 40) / Double(1 << 24) * 8 - 4))
    }
  }

  @Test(arguments: [ONNXOp.add, .sub, .mul, .div])
  func f32ArithmeticIsCorrectlyRounded(_ op: ONNXOp) throws {
    let a = randomFloats(64, seed: 1)
    let b = randomFloats(64, seed: 2).map { $0 == 0 ? 0.5 : $0 }
    let result = try fold(
      op, [DenseTensor(shape: [64], floats: a), DenseTensor(shape: [64], floats: b)])
    for i in 0..<64 {
      let x = Float(a[i])
      let y = Float(b[i])
      let expected: Float =
        switch op {
        case .add: x + y
        case .sub: x - y
        case .mul: x * y
        default: x / y
        }
      #expect(Float(result.doubles[i]).bitPattern == expected.bitPattern)
    }
  }

  @Test func unaryMathWithinOneUlpOfFloat() throws {
    let a = randomFloats(32, seed: 3)
    let sqrt = try fold(.sqrt, [DenseTensor(shape: [32], floats: a.map(abs))])
    let exp = try fold(.exp, [DenseTensor(shape: [32], floats: a)])
    for i in 0..<32 {
      #expect(Float(sqrt.doubles[i]) == Float(abs(a[i])).squareRoot())
      let reference = Float(Foundation.exp(a[i]))
      #expect(abs(Float(exp.doubles[i]) - reference) <= reference.ulp)
    }
  }

  @Test func broadcastingAndComparison() throws {
    // NumPy: np.array([[1,2,3],[4,5,6]]) - np.array([10,20,30]) == [[-9,-18,-27],[-6,-15,-24]]
    let a = DenseTensor(shape: [2, 3], element: .i64, ints: [1, 2, 3, 4, 5, 6])
    let b = DenseTensor(shape: [3], element: .i64, ints: [10, 20, 30])
    #expect(try fold(.sub, [a, b]).int64s == [-9, -18, -27, -6, -15, -24])
    let c = DenseTensor(shape: [2, 1], element: .i64, ints: [2, 5])
    #expect(try fold(.less, [a, c]).int64s == [1, 0, 0, 1, 0, 0])
  }

  @Test func castRoundsThroughTheTargetType() throws {
    let a = DenseTensor(shape: [3], floats: [0.1, 65520, -1e-8])
    let half = try fold(.cast, [a], attributes: [("to", .elementType(.f16))])
    #expect(half.type.element == .f16)
    #expect(
      half.doubles.map { Float16(Float($0)) } == [Float16(0.1), Float16.infinity, Float16(-1e-8)])
  }
}
