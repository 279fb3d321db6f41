import DQCIR
import Testing

@Suite struct VerifierTests {
  let f2 = TensorType(shape: [2], .f32)

  func module(_ instructions: [Instruction], outputs: [String], weights: [Weight] = []) -> Module {
    var store = WeightStore()
    for w in weights { store.insert(w) }
    return Module(
      name: "m", weights: store,
      graph: Graph(arguments: [Value("x", f2)], instructions: instructions, outputs: outputs))
  }

  func message(_ module: Module) -> String? {
    do {
      try Verifier.verify(module)
      return nil
    } catch {
      return error.message
    }
  }

  @Test func acceptsAValidModule() {
    let m = module(
      [Instruction(.onnx(.neg), operands: ["x"], results: [Value("y", f2)])], outputs: ["y"])
    #expect(message(m) == nil)
  }

  @Test func rejectsUseBeforeDefinition() {
    let m = module(
      [
        Instruction(.onnx(.add), operands: ["x", "z"], results: [Value("y", f2)]),
        Instruction(.onnx(.neg), operands: ["x"], results: [Value("z", f2)]),
      ], outputs: ["y"])
    #expect(message(m) == "'onnx.Add' defining %y: operand 1 uses %z before it is defined")
  }

  @Test func rejectsRedefinitionAndUndefinedOutputs() {
    let twice = module(
      [Instruction(.onnx(.neg), operands: ["x"], results: [Value("x", f2)])], outputs: ["x"])
    #expect(message(twice) == "'onnx.Neg' defining %x: redefines %x")
    let missing = module([], outputs: ["nope"])
    #expect(message(missing) == "graph returns undefined value %nope")
  }

  @Test func checksWeightReferencesAndSizes() {
    let read = Instruction(
      .dq(.weight), operands: [], results: [Value("w", f2)],
      attributes: AttributeDictionary([("name", .symbol("w"))]))
    let unknown = module([read], outputs: ["w"])
    #expect(message(unknown) == "'dq.weight' defining %w: names unknown weight @w")
    let short = module(
      [read], outputs: ["w"], weights: [Weight(name: "w", type: f2, storage: .bytes([0, 0, 0]))])
    #expect(message(short) == "weight @w holds 3 bytes, tensor<2xf32> needs 8")
    let ok = module(
      [read], outputs: ["w"],
      weights: [Weight(name: "w", tensor: DenseTensor(shape: [2], floats: [1, 2]))])
    #expect(message(ok) == nil)
  }

  @Test func allowsAnalysisAttributesAnywhere() {
    let inst = Instruction(
      .onnx(.neg), operands: ["x"], results: [Value("y", f2)],
      attributes: AttributeDictionary([("calib.absmax", .float(2)), ("prec.act", .string("i8"))]))
    #expect(message(module([inst], outputs: ["y"])) == nil)
    var bad = inst
    bad.attributes["other.thing"] = .int(1)
    #expect(
      message(module([bad], outputs: ["y"]))?.contains("unknown attribute 'other.thing'") == true)
  }

  @Test func inferredTypesMustBeCompatible() {
    let wrong = Instruction(
      .onnx(.equal), operands: ["x", "x"], results: [Value("y", f2)])
    #expect(
      message(module([wrong], outputs: ["y"]))
        == "'onnx.Equal' defining %y: result 0 has type tensor<2xf32>, expected tensor<2xbool>")
  }
}
