/// Checks a module's rules: SSA binding, op schemas (operand and result counts, attributes),
/// type rules, weights and returned values.
///
/// Errors name the instruction (its op and first result), its source line when it was parsed,
/// and the rule broken.
public enum Verifier {
  /// Verifies `module`, throwing the first problem found.
  public static func verify(_ module: Module) throws(IRError) {
    try verifyWeights(module)
    var constants = ConstantValues()
    var types: [String: TensorType] = [:]
    for arg in module.graph.arguments {
      guard types[arg.name] == nil else {
        throw IRError(.verify, at: nil, "graph argument %\(arg.name) is defined twice")
      }
      types[arg.name] = arg.type
    }
    for inst in module.graph.instructions {
      try verify(inst, types: types, constants: constants, weights: module.weights)
      for r in inst.results { types[r.name] = r.type }
      constants.record(inst, weights: module.weights)
    }
    for name in module.graph.outputs where types[name] == nil {
      throw IRError(.verify, at: nil, "graph returns undefined value %\(name)")
    }
  }

  static func verifyWeights(_ module: Module) throws(IRError) {
    for weight in module.weights {
      guard let bytes = weight.type.byteCount else {
        throw IRError(.verify, at: nil, "weight @\(weight.name) must have a static shape")
      }
      switch weight.storage {
      case .bytes(let b) where b.count != bytes:
        throw IRError(
          .verify, at: nil,
          "weight @\(weight.name) holds \(b.count) bytes, \(weight.type) needs \(bytes)")
      case .file(let slice) where slice.length != bytes:
        throw IRError(
          .verify, at: nil,
          "weight @\(weight.name) names \(slice.length) bytes of '\(slice.path)', \(weight.type) needs \(bytes)"
        )
      default:
        break
      }
    }
  }

  static func fail(_ inst: Instruction, _ message: String) -> IRError {
    let name = inst.results.first.map { " defining %\($0.name)" } ?? ""
    return IRError(.verify, at: inst.sourcePosition, "'\(inst.op)'\(name): \(message)")
  }

  /// Verifies one instruction given the types of the values defined before it.
  public static func verify(
    _ inst: Instruction, types: [String: TensorType], constants: ConstantValues,
    weights: WeightStore
  ) throws(IRError) {
    let schema = inst.op.schema
    guard schema.operandCount.contains(inst.operands.count) else {
      throw fail(
        inst,
        "has \(plural(inst.operands.count, "operand")), expected \(describe(schema.operandCount))")
    }
    guard schema.resultCount.contains(inst.results.count) else {
      throw fail(
        inst,
        "has \(plural(inst.results.count, "result")), expected \(describe(schema.resultCount))")
    }
    var operandTypes: [TensorType?] = []
    for (i, operand) in inst.operands.enumerated() {
      guard let operand else {
        if i < schema.requiredOperands {
          throw fail(inst, "operand \(i) is required, found 'none'")
        }
        operandTypes.append(nil)
        continue
      }
      guard let type = types[operand] else {
        throw fail(inst, "operand \(i) uses %\(operand) before it is defined")
      }
      operandTypes.append(type)
    }
    var seen = Set<String>()
    for r in inst.results {
      guard !r.name.isEmpty else { throw fail(inst, "has a result without a name") }
      guard types[r.name] == nil, seen.insert(r.name).inserted else {
        throw fail(inst, "redefines %\(r.name)")
      }
    }
    try verifyAttributes(inst, schema: schema)
    if let symbol = inst.weightSymbol {
      guard let weight = weights[symbol] else {
        throw fail(inst, "names unknown weight @\(symbol)")
      }
      guard weight.type == inst.result.type else {
        throw fail(inst, "has type \(inst.result.type), weight @\(symbol) has type \(weight.type)")
      }
    }
    let context = TypeRuleContext(
      operands: operandTypes, attributes: inst.attributes, resultCount: inst.results.count,
      constants: inst.operands.map { constants[$0] })
    let inferred: [TensorType?]
    do {
      inferred = try schema.typeRule(context)
    } catch {
      throw fail(inst, error.message)
    }
    for (i, (result, type)) in zip(inst.results, inferred).enumerated() {
      guard let type else { continue }
      guard result.type.isCompatible(with: type) else {
        throw fail(inst, "result \(i) has type \(result.type), expected \(type)")
      }
    }
  }

  static func verifyAttributes(_ inst: Instruction, schema: OpSchema) throws(IRError) {
    for (name, value) in inst.attributes {
      if AttributeDictionary.isAnalysisName(name) { continue }
      guard let spec = schema.attribute(named: name) else {
        let known = schema.attributes.map(\.name)
        throw fail(
          inst,
          "unknown attribute '\(name)'"
            + (known.isEmpty
              ? " (the op takes none)" : " (expected one of: \(known.joined(separator: ", ")))"))
      }
      guard spec.kind.accepts(value.kind) else {
        throw fail(
          inst, "attribute '\(name)' is \(article(value.kind)), expected \(article(spec.kind))")
      }
    }
    for spec in schema.attributes where spec.isRequired && inst.attributes[spec.name] == nil {
      throw fail(inst, "requires attribute '\(spec.name)' (\(spec.kind.rawValue))")
    }
  }

  static func article(_ kind: AttributeKind) -> String {
    let word = kind.rawValue
    return (["a", "e", "i", "o", "u"].contains(word.prefix(1)) ? "an " : "a ") + word
  }

  static func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

  static func describe(_ range: ClosedRange<Int>) -> String {
    if range.lowerBound == range.upperBound { return "\(range.lowerBound)" }
    if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
    return "\(range.lowerBound) to \(range.upperBound)"
  }
}
