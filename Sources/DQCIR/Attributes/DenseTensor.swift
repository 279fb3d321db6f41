/// A small constant tensor with its values held in Swift arrays.
///
/// Floating-point values are kept as `Double` (exact for f16, bf16, f32 and f64); integer and
/// boolean values as `Int64`. Used for inline weight data and tensor-valued attributes, and by
/// constant folding.
public struct DenseTensor: Sendable, Hashable {
  /// The values, flattened in row-major order.
  public enum Values: Sendable, Hashable {
    /// Values of a floating-point tensor.
    case floats([Double])
    /// Values of an integer, quantized or boolean tensor (booleans are 0 or 1).
    case ints([Int64])
  }

  /// The tensor type; its shape is static.
  public var type: TensorType
  /// The values.
  public var values: Values

  /// Creates a dense tensor; the caller guarantees `values` match `type`'s element count.
  public init(type: TensorType, values: Values) {
    self.type = type
    self.values = values
  }

  /// Creates a float tensor of the given shape and element type.
  public init(shape: [Int], element: ScalarType = .f32, floats: [Double]) {
    self.type = TensorType(shape: shape, .scalar(element))
    self.values = .floats(floats)
  }

  /// Creates an integer tensor of the given shape and element type.
  public init(shape: [Int], element: ScalarType = .i64, ints: [Int64]) {
    self.type = TensorType(shape: shape, .scalar(element))
    self.values = .ints(ints)
  }

  /// The number of values held.
  public var count: Int {
    switch values {
    case .floats(let v): v.count
    case .ints(let v): v.count
    }
  }

  /// The values as doubles.
  public var doubles: [Double] {
    switch values {
    case .floats(let v): v
    case .ints(let v): v.map(Double.init)
    }
  }

  /// The values as integers, if they are integers.
  public var int64s: [Int64]? {
    if case .ints(let v) = values { return v }
    return nil
  }
}
