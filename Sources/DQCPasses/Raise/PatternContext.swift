import DQCIR

/// What a raise pattern can see: the producer of every value defined so far, value types, use
/// counts, and small constants.
struct PatternContext {
  var producers: [String: Instruction] = [:]
  var types: [String: TensorType] = [:]
  var constants = ConstantValues()
  let uses: [String: Int]
  var weights: WeightStore

  init(module: Module) {
    uses = module.graph.useCounts()
    weights = module.weights
    for a in module.graph.arguments { types[a.name] = a.type }
  }

  mutating func record(_ inst: Instruction) {
    for r in inst.results {
      producers[r.name] = inst
      types[r.name] = r.type
    }
    constants.record(inst, weights: weights, limit: 16)
  }

  /// The instruction producing `name` if it applies `op`.
  func producer(_ name: String?, _ op: OpName) -> Instruction? {
    guard let name, let inst = producers[name], inst.op == op else { return nil }
    return inst
  }

  /// The single value of a constant with one element.
  func scalar(_ name: String?) -> Double? {
    guard let c = constants[name], c.count == 1 else { return nil }
    return c.doubles.first
  }

  /// The weight read by `dq.weight` that defines `name`.
  func weight(_ name: String?) -> Weight? {
    guard let inst = producer(name, .dq(.weight)), let symbol = inst.weightSymbol else {
      return nil
    }
    return weights[symbol]
  }

  /// The two operands of a binary instruction, with the one satisfying `test` first.
  static func split(_ inst: Instruction, _ test: (String) -> Bool) -> (String, String)? {
    guard inst.operands.count == 2, let a = inst.operands[0], let b = inst.operands[1] else {
      return nil
    }
    if test(a) { return (a, b) }
    if test(b) { return (b, a) }
    return nil
  }
}

/// Instructions replacing an anchor, the last of which defines the anchor's result.
struct Replacement {
  var instructions: [Instruction]
  var newWeights: [Weight] = []
}
