/// What the verifier knows about an op: operand and result counts, attributes, and a type rule.
public struct OpSchema: Sendable {
  /// One attribute an op accepts.
  public struct AttributeSpec: Sendable {
    /// The attribute's name.
    public var name: String
    /// The kind of value it must hold.
    public var kind: AttributeKind
    /// Whether the attribute must be present.
    public var isRequired: Bool

    /// Creates an attribute spec.
    public init(_ name: String, _ kind: AttributeKind, required: Bool = false) {
      self.name = name
      self.kind = kind
      self.isRequired = required
    }
  }

  /// The allowed number of operands (absent optional operands count).
  public var operandCount: ClosedRange<Int>
  /// The allowed number of results.
  public var resultCount: ClosedRange<Int>
  /// The accepted attributes; any other name (outside the analysis namespaces) is an error.
  public var attributes: [AttributeSpec]
  /// Operand positions that must be present (not `none`).
  public var requiredOperands: Int
  /// Whether the op has no side effects and may be removed when unused or merged when equal.
  public var isPure: Bool
  /// Infers result types from operand types, attributes and known constant operands.
  public var typeRule: TypeRule

  /// Creates a schema.
  ///
  /// `requiredOperands` defaults to the lower bound of `operands`.
  public init(
    operands: ClosedRange<Int>,
    results: ClosedRange<Int> = 1...1,
    attributes: [AttributeSpec] = [],
    requiredOperands: Int? = nil,
    isPure: Bool = true,
    typeRule: @escaping TypeRule
  ) {
    self.operandCount = operands
    self.resultCount = results
    self.attributes = attributes
    self.requiredOperands = requiredOperands ?? operands.lowerBound
    self.isPure = isPure
    self.typeRule = typeRule
  }

  /// The spec of the attribute called `name`, if the op accepts it.
  public func attribute(named name: String) -> AttributeSpec? {
    attributes.first { $0.name == name }
  }
}

/// A type rule: from what is known about the operands, the types of the results.
///
/// A rule returns one entry per result; `nil` means nothing can be said about that result. A
/// returned type may have dynamic dimensions where the rule cannot tell the size. A rule throws
/// when the operands break the op's typing constraints.
public typealias TypeRule = @Sendable (TypeRuleContext) throws(TypeRuleError) -> [TensorType?]

/// The facts a type rule sees.
public struct TypeRuleContext: Sendable {
  /// Operand types; `nil` for an absent optional operand.
  public var operands: [TensorType?]
  /// The instruction's attributes.
  public var attributes: AttributeDictionary
  /// The number of results the instruction declares.
  public var resultCount: Int
  /// The constant value of each operand, where known (a weight or a folded value).
  public var constants: [DenseTensor?]

  /// Creates a context.
  public init(
    operands: [TensorType?], attributes: AttributeDictionary, resultCount: Int,
    constants: [DenseTensor?]? = nil
  ) {
    self.operands = operands
    self.attributes = attributes
    self.resultCount = resultCount
    self.constants = constants ?? Array(repeating: nil, count: operands.count)
  }

  /// The type of operand `index`, or `nil` if it is absent or out of range.
  public func operand(_ index: Int) -> TensorType? {
    index < operands.count ? operands[index] : nil
  }

  /// The constant value of operand `index`, if known.
  public func constant(_ index: Int) -> DenseTensor? {
    index < constants.count ? constants[index] : nil
  }

  /// The integer values of operand `index`, if it is a known integer constant.
  public func constantInts(_ index: Int) -> [Int64]? { constant(index)?.int64s }
}

/// A typing constraint an instruction breaks, in words.
public struct TypeRuleError: Error, Sendable, Hashable {
  /// What is wrong, such as "operand 1 has element type i64, expected f32".
  public var message: String

  /// Creates an error.
  public init(_ message: String) { self.message = message }
}
