import DQCFrontend
import DQCIR
import DQCPasses
import DQCTestSupport
import Testing

/// The weight passes' `head-only` option: the model's head (the linear producing the logits)
/// alone, recorded as `quant.head_*`.
@Suite struct HeadQuantizationTests {
  static let export = Paths.packageRoot + "/Tests/Fixtures/exports/llada"

  static func run(_ pipeline: String, on module: Module) throws -> Module {
    var m = module
    var context = PassContext()
    try PassManager(pipeline: pipeline).run(&m, context: &context, output: { _ in })
    return m
  }

  static func linears(_ module: Module) -> (float: [String], quantized: [String]) {
    let float = module.graph.instructions.filter { $0.op == .dq(.linear) }.map(\.result.name)
    let quantized = module.graph.instructions.filter { $0.op == .dq(.qlinear) }.map(\.result.name)
    return (float, quantized)
  }

  @Test func headOnlyQuantizesTheHeadAlone() throws {
    let model = try Self.run("raise,dce", on: try ModelImporter.importModel(at: Self.export))
    let before = Self.linears(model)
    let head = try #require(model.graph.outputs.first)
    #expect(before.float.contains(head) && before.quantized.isEmpty)
    let m = try Self.run(
      "rtn{bits=8,group-size=0,act-bits=8,half-scales=true,head-only=true}", on: model)
    let after = Self.linears(m)
    #expect(after.quantized == [head])
    #expect(after.float == before.float.filter { $0 != head })
    #expect(m.attributes["quant.head_bits"] == .int(8))
    #expect(m.attributes["quant.head_act_bits"] == .int(8))
    #expect(m.attributes["quant.head_group_size"] == .int(0))
    #expect(m.attributes["quant.head_method"] == .string("rtn"))
    // The module-wide settings belong to the main pass, which has not run.
    #expect(m.attributes["quant.method"] == nil && m.attributes["quant.weight_bits"] == nil)

    // Every float weight of the head against its codes: w ≈ s · (q − z). Min–max scales
    // s = (max − min) / 255 rounded to f16 (relative error ≤ 2⁻¹¹) and an integer zero point
    // z = round(−min / s): an unclamped code is within half a step; a clamped one (0 or 255)
    // within 0.5 (the zero point's rounding) + 255 · 2⁻¹¹ (the scale's) more.
    let name = try #require(
      model.graph.instructions.first { $0.result.name == head }?.operands[1])
    let symbol = try #require(
      model.graph.instructions.first { $0.result.name == name }?.weightSymbol)
    let weight = try #require(model.weights[symbol])
    let shape = try #require(weight.type.staticShape)
    let w = try weight.loadTensor().doubles
    let q = try #require(m.weights[symbol + ".q"]).loadTensor().doubles
    let s = try #require(m.weights[symbol + ".scales"]).loadTensor().doubles
    let z = try #require(m.weights[symbol + ".zero_points"]).loadTensor().doubles
    #expect(q.count == w.count && s.count == shape[0] && z.count == shape[0])
    var worst = (inner: 0.0, clamped: 0.0)
    for row in 0..<shape[0] {
      for column in 0..<shape[1] {
        let i = row * shape[1] + column
        #expect((0...255).contains(q[i]))
        let steps = abs(s[row] * (q[i] - z[row]) - w[i]) / s[row]
        if q[i] == 0 || q[i] == 255 {
          worst.clamped = max(worst.clamped, steps)
        } else {
          worst.inner = max(worst.inner, steps)
        }
      }
    }
    #expect(worst.inner <= 0.5 + 1e-6, "largest error \(worst.inner) steps")
    #expect(worst.clamped <= 1 + 255.0 / 2048 + 1e-6, "largest clamped error \(worst.clamped)")
  }

  @Test func aHeadAlreadyQuantizedIsLeftAndNotRecorded() throws {
    let model = try Self.run(
      "raise,dce,rtn{bits=4,group-size=32,act-bits=8,quantize-head=true}",
      on: try ModelImporter.importModel(at: Self.export))
    let m = try Self.run("rtn{bits=8,group-size=0,act-bits=8,head-only=true}", on: model)
    #expect(m.graph == model.graph)
    #expect(m.attributes["quant.head_bits"] == nil)
    #expect(m.attributes["quant.weight_bits"] == .int(4))
  }

  @Test(arguments: [
    "rtn{head-only=true,quantize-head=true}", "gptq{head-only=true,only=blocks.0.*}",
  ])
  func contradictoryOptionsAreRefused(_ pipeline: String) throws {
    #expect(throws: PassError.self) { try PassManager(pipeline: pipeline) }
  }
}
