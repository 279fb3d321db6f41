/// One dimension of a tensor shape.
public enum Dim: Sendable, Hashable {
  /// A size known at compile time.
  case fixed(Int)
  /// An unknown size (`?`).
  case dynamic
  /// An unknown size with a name shared by every dimension that has the same size (`{seq}`).
  case symbol(String)

  /// The static size, if known.
  public var value: Int? {
    if case .fixed(let n) = self { return n }
    return nil
  }
}

extension Dim: CustomStringConvertible {
  /// The textual spelling used inside `tensor<...>`.
  public var description: String {
    switch self {
    case .fixed(let n): String(n)
    case .dynamic: "?"
    case .symbol(let name): "{\(name)}"
    }
  }
}

/// The type of every SSA value: a tensor with an element type and a shape.
///
/// The shape is `nil` for a tensor of unknown rank (`tensor<*xf32>`).
public struct TensorType: Sendable, Hashable {
  /// The dimensions, or `nil` when the rank is unknown.
  public var dims: [Dim]?
  /// The element type.
  public var element: ElementType

  /// Creates a ranked tensor type.
  public init(_ dims: [Dim], _ element: ElementType) {
    self.dims = dims
    self.element = element
  }

  /// Creates a ranked tensor type with static dimensions.
  public init(shape: [Int], _ element: ElementType) {
    self.dims = shape.map { .fixed($0) }
    self.element = element
  }

  /// Creates a tensor type of unknown rank.
  public init(unrankedOf element: ElementType) {
    self.dims = nil
    self.element = element
  }

  /// The rank, if known.
  public var rank: Int? { dims?.count }

  /// The static shape, if every dimension is known.
  public var staticShape: [Int]? {
    guard let dims else { return nil }
    var shape: [Int] = []
    shape.reserveCapacity(dims.count)
    for d in dims {
      guard let n = d.value else { return nil }
      shape.append(n)
    }
    return shape
  }

  /// The number of elements, if the shape is static and the count fits in an `Int` (types come
  /// from files, so a product of dimensions that overflows is nil, not a trap).
  public var elementCount: Int? {
    guard let shape = staticShape else { return nil }
    if shape.contains(0) { return 0 }
    return TypeRules.product(shape)
  }

  /// The number of bytes of packed storage (sub-byte elements packed two per byte, rounded up),
  /// if the shape is static and the count of bits fits in an `Int`.
  public var byteCount: Int? {
    guard let count = elementCount else { return nil }
    let (bits, overflow) = count.multipliedReportingOverflow(by: element.bitWidth)
    guard !overflow, bits <= Int.max - 7 else { return nil }
    return (bits + 7) / 8
  }

  /// The same shape with another element type.
  public func with(element: ElementType) -> TensorType {
    var copy = self
    copy.element = element
    return copy
  }
}

extension TensorType: CustomStringConvertible {
  /// The textual spelling, such as `tensor<?x{seq}x4096xf16>`.
  public var description: String {
    guard let dims else { return "tensor<*x\(element)>" }
    if dims.isEmpty { return "tensor<\(element)>" }
    return "tensor<" + dims.map(\.description).joined(separator: "x") + "x\(element)>"
  }
}
