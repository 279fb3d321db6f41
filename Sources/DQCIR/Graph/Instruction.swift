/// One operation of the graph: an op applied to operands, defining result values.
public struct Instruction: Sendable {
  /// The op.
  public var op: OpName
  /// Operand value names; `nil` marks an absent optional operand (printed `none`).
  public var operands: [String?]
  /// The values this instruction defines.
  public var results: [Value]
  /// Attributes in order.
  public var attributes: AttributeDictionary
  /// Where the instruction came from (an ONNX node name), printed as `loc("...")`.
  public var location: String?
  /// Where the instruction was parsed from, for diagnostics; not part of equality.
  public var sourcePosition: SourcePosition?

  /// Creates an instruction.
  public init(
    _ op: OpName, operands: [String?], results: [Value],
    attributes: AttributeDictionary = AttributeDictionary(), location: String? = nil,
    sourcePosition: SourcePosition? = nil
  ) {
    self.op = op
    self.operands = operands
    self.results = results
    self.attributes = attributes
    self.location = location
    self.sourcePosition = sourcePosition
  }

  /// The first result (every op defines at least one).
  public var result: Value { results[0] }

  /// The names of the operands that are present.
  public var presentOperands: [String] { operands.compactMap { $0 } }

  /// The weight symbol of a `dq.weight` instruction, `nil` for any other op.
  public var weightSymbol: String? {
    guard op == .dq(.weight), case .symbol(let s)? = attributes["name"] else { return nil }
    return s
  }
}

extension Instruction: Hashable {
  /// Equality ignores `sourcePosition`.
  public static func == (lhs: Instruction, rhs: Instruction) -> Bool {
    lhs.op == rhs.op && lhs.operands == rhs.operands && lhs.results == rhs.results
      && lhs.attributes == rhs.attributes && lhs.location == rhs.location
  }

  /// Hashing ignores `sourcePosition`.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(op)
    hasher.combine(operands)
    hasher.combine(results)
    hasher.combine(attributes)
    hasher.combine(location)
  }
}
