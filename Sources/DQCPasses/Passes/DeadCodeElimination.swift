import DQCIR

/// Removes instructions whose results are never used; with `aggressive=true`, also removes
/// weights no `dq.weight` instruction reads.
public struct DeadCodeElimination: ModulePass {
  public static let name = "dce"
  public static let displayName = "DeadCodeElimination"
  public static let summary = "Remove unused instructions (and, aggressively, unused weights)"
  public static let optionSpecs = [
    PassOptionSpec("aggressive", .bool, default: .bool(false), "Also drop unreferenced weights")
  ]

  let aggressive: Bool

  public init(options: PassOptions) throws(PassError) {
    aggressive = options.bool("aggressive")
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let removed = module.graph.eraseDeadInstructions()
    var weightsRemoved = 0
    if aggressive {
      let used = Set(module.graph.instructions.compactMap(\.weightSymbol))
      for name in module.weights.names where !used.contains(name) {
        module.weights.remove(name)
        weightsRemoved += 1
      }
    }
    return PassOutcome(
      changed: removed + weightsRemoved > 0,
      statistics: [("instructions-removed", removed), ("weights-removed", weightsRemoved)])
  }
}
