import DQCIR

/// Merges instructions that apply the same op to the same operands with the same attributes
/// and result types; later duplicates are replaced by the first.
public struct CommonSubexpressionElimination: ModulePass {
  public static let name = "cse"
  public static let displayName = "CSE"
  public static let summary = "Merge identical pure instructions"

  public init(options: PassOptions) throws(PassError) {}

  struct Key: Hashable {
    var op: OpName
    var operands: [String?]
    var attributes: AttributeDictionary
    var resultTypes: [TensorType]
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    var seen: [Key: [String]] = [:]
    var replacements: [String: String] = [:]
    var kept: [Instruction] = []
    for var inst in module.graph.instructions {
      inst.operands = inst.operands.map { $0.map { replacements[$0] ?? $0 } }
      guard inst.op.schema.isPure else {
        kept.append(inst)
        continue
      }
      let key = Key(
        op: inst.op, operands: inst.operands, attributes: inst.attributes,
        resultTypes: inst.results.map(\.type))
      if let existing = seen[key] {
        for (r, e) in zip(inst.results, existing) { replacements[r.name] = e }
      } else {
        seen[key] = inst.results.map(\.name)
        kept.append(inst)
      }
    }
    let merged = module.graph.instructions.count - kept.count
    module.graph.instructions = kept
    module.graph.replaceUses(replacements)
    return PassOutcome(changed: merged > 0, statistics: [("instructions-merged", merged)])
  }
}
