import DQCIR

/// Rounding of computed values to their element type.
enum Rounding {
  /// `values` rounded to `element` (f16 and bf16 round to nearest even; f32 is exact).
  static func round(_ values: [Float], to element: ElementType) -> [Float] {
    switch element.storageType {
    case .f16: values.map { ElementCodec.floatFromHalf(ElementCodec.halfBits($0)) }
    case .bf16: values.map { Float(bitPattern: UInt32(ElementCodec.bfloat16Bits($0)) << 16) }
    default: values
    }
  }

  /// `value` truncated toward zero and clamped to `Int64` (NaN becomes 0), never trapping.
  static func int64(_ value: Double) -> Int64 {
    if value.isNaN { return 0 }
    if value >= 9.223_372_036_854_775e18 { return .max }
    if value <= -9.223_372_036_854_775e18 { return .min }
    return Int64(value)
  }

  /// `value` wrapped to the integer type's width (two's complement), or 0/1 for bool.
  static func wrap(_ value: Int64, to type: ScalarType) -> Int64 {
    if type == .bool { return value != 0 ? 1 : 0 }
    let bits = Int64(type.bitWidth)
    guard bits < 64 else { return value }
    let mask: Int64 = (1 << bits) - 1
    let low = value & mask
    if type.isSignedInteger, low >= (1 << (bits - 1)) { return low - (1 << bits) }
    return low
  }

  /// A tensor of `element` built from computed floats (rounded), doubles or integers (wrapped).
  static func make(_ shape: [Int], _ element: ElementType, floats: [Float]) -> Tensor {
    Tensor(shape: shape, element: element, storage: .float(round(floats, to: element)))
  }

  static func make(_ shape: [Int], _ element: ElementType, ints: [Int64]) -> Tensor {
    let type = element.storageType
    return Tensor(
      shape: shape, element: element,
      storage: .int(type == .i64 ? ints : ints.map { wrap($0, to: type) }))
  }
}
