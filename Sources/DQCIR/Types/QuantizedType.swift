/// A uniformly quantized element type, after MLIR's `quant.uniform`.
///
/// The real value of a stored integer `q` is `scale * (q - zeroPoint)`. Scale and zero-point
/// *values* live in tensors (weights or SSA operands); the type records how they are laid out.
/// Text form: `!quant.uniform<i4:f32, per_group(axis = 1, size = 128), asymmetric>`.
public struct QuantizedType: Sendable, Hashable {
  /// How many scale/zero-point pairs a tensor of this type carries.
  public enum Granularity: Sendable, Hashable {
    /// One scale for the whole tensor.
    case perTensor
    /// One scale per index along `axis`.
    case perChannel(axis: Int)
    /// One scale per `size` consecutive elements along `axis`, for every other index.
    case perGroup(axis: Int, size: Int)
  }

  /// The integer type that holds the stored values (i8, u8, i4, u4, i16, i32).
  public var storage: ScalarType
  /// The floating-point type the values stand for.
  public var expressed: ScalarType
  /// Scale layout.
  public var granularity: Granularity
  /// `true` when every zero point is 0 (symmetric quantization).
  public var isSymmetric: Bool

  /// Creates a quantized type.
  public init(
    storage: ScalarType, expressed: ScalarType, granularity: Granularity, isSymmetric: Bool
  ) {
    self.storage = storage
    self.expressed = expressed
    self.granularity = granularity
    self.isSymmetric = isSymmetric
  }
}

extension QuantizedType: CustomStringConvertible {
  /// The textual spelling used by the `.dqir` format.
  public var description: String {
    let gran: String
    switch granularity {
    case .perTensor: gran = "per_tensor"
    case .perChannel(let axis): gran = "per_channel(axis = \(axis))"
    case .perGroup(let axis, let size): gran = "per_group(axis = \(axis), size = \(size))"
    }
    let sym = isSymmetric ? "symmetric" : "asymmetric"
    return "!quant.uniform<\(storage.rawValue):\(expressed.rawValue), \(gran), \(sym)>"
  }
}
