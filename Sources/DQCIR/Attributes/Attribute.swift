/// A typed attribute value attached to an instruction or a module.
public enum Attribute: Sendable, Hashable {
  /// A 64-bit signed integer.
  case int(Int64)
  /// A 64-bit float (ONNX's 32-bit float attributes widen exactly).
  case float(Double)
  /// A UTF-8 string.
  case string(String)
  /// A boolean.
  case bool(Bool)
  /// An ordered list of attributes (usually all of one kind).
  case array([Attribute])
  /// An element type, such as the target of a cast.
  case elementType(ElementType)
  /// A tensor type.
  case type(TensorType)
  /// A small constant tensor held inline (ONNX `Constant` and `ConstantOfShape` values).
  case dense(DenseTensor)
  /// A reference to a weight of the module's weight store.
  case symbol(String)
  /// A reference to a large payload in a side store (Hessians, calibration sets), with a
  /// short human-readable summary. Dumps print the reference and the summary only.
  case reference(key: String, summary: String)

  /// The kind of this attribute, for schema checks and messages.
  public var kind: AttributeKind {
    switch self {
    case .int: .int
    case .float: .float
    case .string: .string
    case .bool: .bool
    case .array: .array
    case .elementType: .elementType
    case .type: .type
    case .dense: .dense
    case .symbol: .symbol
    case .reference: .reference
    }
  }

  /// The integer value, if this is an integer.
  public var intValue: Int64? {
    if case .int(let v) = self { return v }
    return nil
  }

  /// The float value, if this is a float or an integer.
  public var floatValue: Double? {
    switch self {
    case .float(let v): v
    case .int(let v): Double(v)
    default: nil
    }
  }

  /// The string value, if this is a string.
  public var stringValue: String? {
    if case .string(let v) = self { return v }
    return nil
  }

  /// The boolean value, if this is a boolean.
  public var boolValue: Bool? {
    if case .bool(let v) = self { return v }
    return nil
  }

  /// The integers of an array of integers.
  public var intArray: [Int64]? {
    guard case .array(let items) = self else { return nil }
    var out: [Int64] = []
    for item in items {
      guard let v = item.intValue else { return nil }
      out.append(v)
    }
    return out
  }

  /// The floats of an array of numbers.
  public var floatArray: [Double]? {
    guard case .array(let items) = self else { return nil }
    var out: [Double] = []
    for item in items {
      guard let v = item.floatValue else { return nil }
      out.append(v)
    }
    return out
  }
}

/// The kinds of attribute values; a schema names which kind each attribute must have.
public enum AttributeKind: String, Sendable, Hashable {
  case int, float, string, bool, array
  case elementType = "element type"
  case type, dense, symbol, reference

  /// Whether a value of kind `actual` is acceptable where this kind is expected
  /// (an integer is accepted where a float is expected).
  public func accepts(_ actual: AttributeKind) -> Bool {
    self == actual || (self == .float && actual == .int)
  }
}
