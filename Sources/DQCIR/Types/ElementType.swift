/// A scalar element type of a tensor.
///
/// Spellings are stable: they appear in `.dqir` text, dumps and golden files.
public enum ScalarType: String, Sendable, Hashable, CaseIterable {
  case f64, f32, f16, bf16
  case i64, i32, i16, i8, u8, i4, u4
  case bool

  /// The number of bits one element occupies in packed storage.
  public var bitWidth: Int {
    switch self {
    case .f64, .i64: 64
    case .f32, .i32: 32
    case .f16, .bf16, .i16: 16
    case .i8, .u8, .bool: 8
    case .i4, .u4: 4
    }
  }

  /// Whether this is a floating-point type.
  public var isFloat: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }

  /// Whether this is an integer type (signed or unsigned), excluding `bool`.
  public var isInteger: Bool { !isFloat && self != .bool }

  /// Whether this is a signed integer type.
  public var isSignedInteger: Bool {
    self == .i64 || self == .i32 || self == .i16 || self == .i8 || self == .i4
  }

  /// The representable integer range, for integer types.
  public var integerRange: ClosedRange<Int64>? {
    switch self {
    case .i64: Int64.min...Int64.max
    case .i32: Int64(Int32.min)...Int64(Int32.max)
    case .i16: Int64(Int16.min)...Int64(Int16.max)
    case .i8: -128...127
    case .u8: 0...255
    case .i4: -8...7
    case .u4: 0...15
    default: nil
    }
  }
}

/// The element type of a tensor: a scalar type or a quantized type.
public enum ElementType: Sendable, Hashable {
  /// A plain scalar element.
  case scalar(ScalarType)
  /// A uniformly quantized element (integer storage standing for a real value).
  case quantized(QuantizedType)

  /// The type that holds the element's bits in memory.
  public var storageType: ScalarType {
    switch self {
    case .scalar(let s): s
    case .quantized(let q): q.storage
    }
  }

  /// The number of bits one element occupies in packed storage.
  public var bitWidth: Int { storageType.bitWidth }

  /// The scalar type, if this is not a quantized type.
  public var scalar: ScalarType? {
    if case .scalar(let s) = self { return s }
    return nil
  }

  /// Whether the element is a floating-point scalar.
  public var isFloat: Bool { scalar?.isFloat ?? false }

  /// Shorthand constants for the common scalar element types.
  public static let f32 = ElementType.scalar(.f32)
  /// 64-bit float.
  public static let f64 = ElementType.scalar(.f64)
  /// 16-bit IEEE float.
  public static let f16 = ElementType.scalar(.f16)
  /// bfloat16.
  public static let bf16 = ElementType.scalar(.bf16)
  /// 64-bit signed integer.
  public static let i64 = ElementType.scalar(.i64)
  /// 32-bit signed integer.
  public static let i32 = ElementType.scalar(.i32)
  /// 8-bit signed integer.
  public static let i8 = ElementType.scalar(.i8)
  /// Boolean stored in one byte.
  public static let bool = ElementType.scalar(.bool)
}

extension ElementType: CustomStringConvertible {
  /// The textual spelling used by the `.dqir` format.
  public var description: String {
    switch self {
    case .scalar(let s): s.rawValue
    case .quantized(let q): q.description
    }
  }
}
