import DQCIR

/// Refines every value's type with what the op type rules infer from operand types and known
/// constants (static sizes replace `?` and named dims; a known rank replaces `*`).
public struct InferShapes: ModulePass {
  public static let name = "infer-shapes"
  public static let displayName = "InferShapes"
  public static let summary = "Propagate static shapes and element types through the graph"
  public static let optionSpecs = [
    PassOptionSpec(
      "constant-limit", .int, default: .int(4096),
      "Read file-backed weights up to this many elements as constants (shape tensors)")
  ]

  let constantLimit: Int

  public init(options: PassOptions) throws(PassError) {
    constantLimit = options.int("constant-limit")
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    var types: [String: TensorType] = [:]
    for arg in module.graph.arguments { types[arg.name] = arg.type }
    var constants = ConstantValues()
    var refined = 0
    for i in module.graph.instructions.indices {
      var inst = module.graph.instructions[i]
      let ctx = TypeRuleContext(
        operands: inst.operands.map { $0.flatMap { types[$0] } }, attributes: inst.attributes,
        resultCount: inst.results.count, constants: inst.operands.map { constants[$0] })
      let inferred: [TensorType?]
      do {
        inferred = try inst.op.schema.typeRule(ctx)
      } catch {
        throw .invalidModule(
          pass: Self.name, message: "'\(inst.op)' defining %\(inst.result.name): \(error.message)")
      }
      for (j, type) in inferred.enumerated() where j < inst.results.count {
        guard let type else { continue }
        let declared = inst.results[j].type
        guard declared.isCompatible(with: type) else {
          throw .invalidModule(
            pass: Self.name,
            message:
              "'\(inst.op)' defining %\(inst.results[j].name): declared \(declared), inferred \(type)"
          )
        }
        let better = declared.refined(by: type)
        if better != declared {
          inst.results[j].type = better
          refined += 1
        }
      }
      module.graph.instructions[i] = inst
      for r in inst.results { types[r.name] = r.type }
      constants.record(inst, weights: module.weights, limit: constantLimit)
    }
    return PassOutcome(changed: refined > 0, statistics: [("types-refined", refined)])
  }
}
