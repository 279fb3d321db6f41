/// Converts tensor values to and from their packed little-endian byte encoding.
///
/// Floats: IEEE-754 binary64/32/16 and bfloat16 (the top half of a binary32, rounded to nearest
/// even). Integers: two's complement little-endian. `bool`: one byte, 0 or 1. `i4`/`u4`: two
/// elements per byte, element 2k in the low nibble. Quantized types use their storage type.
public enum ElementCodec {
  /// Encodes `tensor`'s values as bytes of its element type.
  public static func encode(_ tensor: DenseTensor) -> [UInt8] {
    let storage = tensor.type.element.storageType
    var out: [UInt8] = []
    switch storage {
    case .f64:
      for v in tensor.doubles { appendLE(&out, v.bitPattern, bytes: 8) }
    case .f32:
      for v in tensor.doubles { appendLE(&out, UInt64(Float(v).bitPattern), bytes: 4) }
    case .f16:
      for v in tensor.doubles { appendLE(&out, UInt64(halfBits(Float(v))), bytes: 2) }
    case .bf16:
      for v in tensor.doubles { appendLE(&out, UInt64(bfloat16Bits(Float(v))), bytes: 2) }
    case .i64, .i32, .i16, .i8, .u8, .bool:
      let width = storage.bitWidth / 8
      for v in integers(tensor) { appendLE(&out, UInt64(bitPattern: v), bytes: width) }
    case .i4, .u4:
      let values = integers(tensor)
      out.reserveCapacity((values.count + 1) / 2)
      var i = 0
      while i < values.count {
        let lo = UInt8(truncatingIfNeeded: values[i]) & 0x0f
        let hi = i + 1 < values.count ? UInt8(truncatingIfNeeded: values[i + 1]) & 0x0f : 0
        out.append(lo | (hi << 4))
        i += 2
      }
    }
    return out
  }

  /// Decodes bytes of `type` (static shape) into values; `nil` if the byte count is wrong.
  public static func decode(_ bytes: [UInt8], type: TensorType) -> DenseTensor? {
    guard let count = type.elementCount, bytes.count == type.byteCount else { return nil }
    let storage = type.element.storageType
    switch storage {
    case .f64:
      return DenseTensor(
        type: type,
        values: .floats(
          (0..<count).map {
            Double(bitPattern: readLE(bytes, at: $0 * 8, bytes: 8))
          }))
    case .f32:
      return DenseTensor(
        type: type,
        values: .floats(
          (0..<count).map {
            Double(Float(bitPattern: UInt32(readLE(bytes, at: $0 * 4, bytes: 4))))
          }))
    case .f16:
      return DenseTensor(
        type: type,
        values: .floats(
          (0..<count).map {
            Double(floatFromHalf(UInt16(readLE(bytes, at: $0 * 2, bytes: 2))))
          }))
    case .bf16:
      return DenseTensor(
        type: type,
        values: .floats(
          (0..<count).map {
            Double(Float(bitPattern: UInt32(readLE(bytes, at: $0 * 2, bytes: 2)) << 16))
          }))
    case .i64, .i32, .i16, .i8:
      let width = storage.bitWidth / 8
      let shift = UInt64(64 - storage.bitWidth)
      return DenseTensor(
        type: type,
        values: .ints(
          (0..<count).map {
            Int64(bitPattern: readLE(bytes, at: $0 * width, bytes: width) << shift) >> shift
          }))
    case .u8, .bool:
      return DenseTensor(type: type, values: .ints(bytes.map { Int64($0) }))
    case .i4, .u4:
      return DenseTensor(
        type: type,
        values: .ints(
          (0..<count).map { i in
            let nibble = (bytes[i / 2] >> (i % 2 == 0 ? 0 : 4)) & 0x0f
            return storage == .i4 ? Int64(Int8(bitPattern: nibble << 4) >> 4) : Int64(nibble)
          }))
    }
  }

  private static func integers(_ tensor: DenseTensor) -> [Int64] {
    switch tensor.values {
    case .ints(let v): v
    case .floats(let v): v.map { Int64($0) }
    }
  }

  private static func appendLE(_ out: inout [UInt8], _ value: UInt64, bytes: Int) {
    for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
  }

  private static func readLE(_ bytes: [UInt8], at offset: Int, bytes width: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<width { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return v
  }

  /// The bfloat16 bits of `value`, rounded to nearest even (NaN stays NaN).
  public static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = 0x7fff + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }

  /// The IEEE binary16 bits of `value`, rounded to nearest even.
  public static func halfBits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xff)
    var mantissa = bits & 0x007f_ffff
    if exponent == 0xff {
      return sign | 0x7c00 | (mantissa != 0 ? 0x0200 : 0)
    }
    let e = exponent - 127 + 15
    if e >= 0x1f { return sign | 0x7c00 }
    if e <= 0 {
      if e < -10 { return sign }
      mantissa |= 0x0080_0000
      let shift = UInt32(14 - e)
      var half = mantissa >> shift
      let remainder = mantissa & ((1 << shift) - 1)
      let halfway = UInt32(1) << (shift - 1)
      if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
      return sign | UInt16(half)
    }
    var half = UInt32(e) << 10 | (mantissa >> 13)
    let remainder = mantissa & 0x1fff
    if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) { half += 1 }
    return sign | UInt16(half)
  }

  /// The float value of IEEE binary16 bits.
  public static func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1f)
    let mantissa = UInt32(h & 0x03ff)
    if exponent == 0 {
      let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
      return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 0x1f {
      return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
  }
}
