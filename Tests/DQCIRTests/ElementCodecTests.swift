import DQCIR
import DQCTestSupport
import Testing

@Suite struct ElementCodecTests {
  /// Swift's own `Float16` conversion (compiler runtime) is the independent reference.
  @Test func halfRoundingMatchesFloat16() {
    var generator = SplitMix64(seed: 7)
    var values: [Float] = [
      0, -0, 1, -1, 65504, 65519.996, 65520, 1e-8, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08,
      6.1035156e-05, 6.1035152e-05, .infinity, -.infinity, 0.1, 1.0009765625, 1.00048828125,
    ]
    for _ in 0..<20000 {
      values.append(Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())))
    }
    for v in values where !v.isNaN {
      #expect(ElementCodec.halfBits(v) == Float16(v).bitPattern, "value \(v)")
    }
    #expect(Float16(bitPattern: ElementCodec.halfBits(.nan)).isNaN)
  }

  @Test func halfDecodingMatchesFloat16ForEveryBitPattern() {
    for bits in 0...UInt16.max {
      let expected = Float(Float16(bitPattern: bits))
      let actual = ElementCodec.floatFromHalf(bits)
      if expected.isNaN {
        #expect(actual.isNaN)
      } else {
        #expect(actual.bitPattern == expected.bitPattern, "bits \(bits)")
      }
    }
  }

  /// Reference: the nearer of the two bfloat16 neighbours, computed in Double, ties to even.
  @Test func bfloat16RoundsToNearestEven() {
    var generator = SplitMix64(seed: 11)
    for _ in 0..<20000 {
      let v = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
      guard v.isFinite, abs(v) < 3.38e38 else { continue }
      let down = v.bitPattern & 0xffff_0000
      let lower = Double(Float(bitPattern: down))
      let upper = Double(Float(bitPattern: down + 0x1_0000))
      let dl = abs(Double(v) - lower)
      let du = abs(Double(v) - upper)
      let pick: UInt32 =
        dl < du
        ? down : (du < dl ? down + 0x1_0000 : ((down >> 16) & 1 == 0 ? down : down + 0x1_0000))
      #expect(UInt32(ElementCodec.bfloat16Bits(v)) << 16 == pick, "value \(v)")
    }
  }

  @Test func int4PacksLowNibbleFirst() {
    // -8 = 0x8, 7 = 0x7, -1 = 0xF: byte 0 holds elements 0 (low) and 1 (high).
    let tensor = DenseTensor(shape: [3], element: .i4, ints: [-8, 7, -1])
    #expect(ElementCodec.encode(tensor) == [0x78, 0x0f])
    #expect(ElementCodec.decode([0x78, 0x0f], type: tensor.type) == tensor)
    let unsigned = DenseTensor(shape: [2], element: .u4, ints: [15, 9])
    #expect(ElementCodec.encode(unsigned) == [0x9f])
  }

  @Test(arguments: [ScalarType.i64, .i32, .i16, .i8, .u8, .i4, .u4, .bool])
  func integersRoundTrip(_ type: ScalarType) throws {
    var generator = SplitMix64(seed: UInt64(type.bitWidth))
    let range = type == .bool ? 0...1 : try #require(type.integerRange)
    let values =
      (0..<37).map { _ in
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        let offset = span == .max ? generator.next() : generator.next() % (span + 1)
        return range.lowerBound &+ Int64(bitPattern: offset)
      } + [range.lowerBound, range.upperBound]
    let tensor = DenseTensor(shape: [values.count], element: type, ints: values)
    let bytes = ElementCodec.encode(tensor)
    #expect(bytes.count == (values.count * type.bitWidth + 7) / 8)
    #expect(ElementCodec.decode(bytes, type: tensor.type) == tensor)
  }

  @Test func floatsAreLittleEndianIEEE() {
    let f32 = DenseTensor(shape: [1], element: .f32, floats: [1.0])
    #expect(ElementCodec.encode(f32) == [0x00, 0x00, 0x80, 0x3f])
    let f64 = DenseTensor(shape: [1], element: .f64, floats: [-2.0])
    #expect(ElementCodec.encode(f64) == [0, 0, 0, 0, 0, 0, 0, 0xc0])
    #expect(ElementCodec.decode([0, 0], type: TensorType(shape: [2], .f32)) == nil)
  }
}
