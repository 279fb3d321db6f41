import DQCIR

/// A runtime tensor of the reference interpreter: a static shape, an element type, and values.
///
/// Float types (f32, f16, bf16) are held as `Float`, rounded to their type after every op; f64 as
/// `Double`; integers, booleans and quantized values as `Int64`, wrapped to their type's width.
public struct Tensor: Sendable, Hashable {
  /// Values by representation.
  public enum Storage: Sendable, Hashable {
    /// f32, f16, bf16 values.
    case float([Float])
    /// f64 values.
    case double([Double])
    /// Integer, boolean (0/1) and quantized values.
    case int([Int64])
  }

  /// The shape.
  public var shape: [Int]
  /// The element type.
  public var element: ElementType
  /// The values in row-major order.
  public var storage: Storage

  /// Creates a tensor; `storage` must hold `shape.reduce(1, *)` values of `element`'s kind.
  public init(shape: [Int], element: ElementType, storage: Storage) {
    self.shape = shape
    self.element = element
    self.storage = storage
  }

  /// An f32 tensor.
  public init(shape: [Int], floats: [Float]) {
    self.init(shape: shape, element: .f32, storage: .float(floats))
  }

  /// An integer tensor (i64 unless given).
  public init(shape: [Int], ints: [Int64], element: ElementType = .i64) {
    self.init(shape: shape, element: element, storage: .int(ints))
  }

  /// The number of elements.
  public var count: Int { shape.reduce(1, *) }

  /// The tensor type.
  public var type: TensorType { TensorType(shape: shape, element) }

  /// The f32/f16/bf16 values.
  public var floats: [Float] {
    switch storage {
    case .float(let v): v
    case .double(let v): v.map { Float($0) }
    case .int(let v): v.map { Float($0) }
    }
  }

  /// Every value as a `Double`.
  public var doubles: [Double] {
    switch storage {
    case .float(let v): v.map(Double.init)
    case .double(let v): v
    case .int(let v): v.map(Double.init)
    }
  }

  /// The integer values (integers, booleans, quantized).
  public var ints: [Int64] {
    switch storage {
    case .int(let v): v
    case .float(let v): v.map { Rounding.int64(Double($0)) }
    case .double(let v): v.map(Rounding.int64)
    }
  }

  /// The tensor of a constant.
  public init(_ dense: DenseTensor) {
    let shape = dense.type.staticShape ?? []
    let storage: Storage
    switch (dense.type.element.storageType, dense.values) {
    case (.f64, _): storage = .double(dense.doubles)
    case (let s, .floats(let v)) where s.isFloat: storage = .float(v.map { Float($0) })
    default: storage = .int(dense.int64s ?? dense.doubles.map(Rounding.int64))
    }
    self.init(shape: shape, element: dense.type.element, storage: storage)
  }

  /// The constant holding this tensor's values.
  public var dense: DenseTensor {
    switch storage {
    case .int(let v): DenseTensor(type: type, values: .ints(v))
    default: DenseTensor(type: type, values: .floats(doubles))
    }
  }
}
