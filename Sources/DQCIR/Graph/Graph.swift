/// A single SSA graph: arguments, instructions in topological order, and returned values.
public struct Graph: Sendable, Hashable {
  /// The graph's name, printed as `@name`.
  public var name: String
  /// Graph inputs.
  public var arguments: [Value]
  /// Instructions; each operand is defined by an argument or an earlier instruction.
  public var instructions: [Instruction]
  /// The names of the returned values, in order.
  public var outputs: [String]

  /// Creates a graph.
  public init(
    name: String = "main", arguments: [Value] = [], instructions: [Instruction] = [],
    outputs: [String] = []
  ) {
    self.name = name
    self.arguments = arguments
    self.instructions = instructions
    self.outputs = outputs
  }

  /// The type of every value by name (arguments and results).
  public func valueTypes() -> [String: TensorType] {
    var types: [String: TensorType] = [:]
    for a in arguments { types[a.name] = a.type }
    for inst in instructions { for r in inst.results { types[r.name] = r.type } }
    return types
  }

  /// The index of the instruction defining each result name.
  public func definingIndices() -> [String: Int] {
    var index: [String: Int] = [:]
    for (i, inst) in instructions.enumerated() { for r in inst.results { index[r.name] = i } }
    return index
  }

  /// How many times each value is used (as an operand or an output).
  public func useCounts() -> [String: Int] {
    var counts: [String: Int] = [:]
    for inst in instructions { for name in inst.presentOperands { counts[name, default: 0] += 1 } }
    for name in outputs { counts[name, default: 0] += 1 }
    return counts
  }

  /// The types of the returned values (`nil` for a name that is not defined).
  public func outputTypes() -> [TensorType?] {
    let types = valueTypes()
    return outputs.map { types[$0] }
  }

  /// Replaces every use of the values in `replacements` (operands and outputs).
  public mutating func replaceUses(_ replacements: [String: String]) {
    guard !replacements.isEmpty else { return }
    func resolve(_ name: String) -> String {
      var current = name
      var seen = 0
      while let next = replacements[current], seen < replacements.count {
        current = next
        seen += 1
      }
      return current
    }
    for i in instructions.indices {
      instructions[i].operands = instructions[i].operands.map { $0.map(resolve) }
    }
    outputs = outputs.map(resolve)
  }

  /// A name not yet used by any value, derived from `base` (`base`, `base_1`, `base_2`, ...).
  public func freshName(_ base: String, avoiding taken: inout Set<String>) -> String {
    if taken.isEmpty {
      for a in arguments { taken.insert(a.name) }
      for inst in instructions { for r in inst.results { taken.insert(r.name) } }
    }
    var candidate = base
    var n = 1
    while taken.contains(candidate) {
      candidate = "\(base)_\(n)"
      n += 1
    }
    taken.insert(candidate)
    return candidate
  }

  /// Erases instructions whose results are unused (transitively), keeping those with side
  /// effects; returns how many were erased.
  @discardableResult
  public mutating func eraseDeadInstructions() -> Int {
    var live = Set(outputs)
    var keep = Array(repeating: false, count: instructions.count)
    for (i, inst) in instructions.enumerated().reversed() {
      guard !inst.op.schema.isPure || inst.results.contains(where: { live.contains($0.name) })
      else { continue }
      keep[i] = true
      live.formUnion(inst.presentOperands)
    }
    let before = instructions.count
    instructions = zip(instructions, keep).filter(\.1).map(\.0)
    return before - instructions.count
  }
}
