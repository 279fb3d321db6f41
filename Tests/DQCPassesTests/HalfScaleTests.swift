import DQCIR
import DQCPasses
import Testing

/// `half-scales`: scales rounded to f16 before codes are chosen, so the stored f16 scales
/// reproduce the quantized weights exactly.
@Suite struct HalfScaleTests {
  @Test func scalesAreHalfPrecisionAndCodesStayWithinHalfAStep() {
    var rng = SplitMix64(seed: 11)
    let (rows, columns) = (4, 256)
    let w = (0..<(rows * columns)).map { _ in (rng.nextUnit() * 2 - 1) * 0.05 }
    var quantizer = WeightQuantizer(bits: 4, groupSize: 128, symmetric: false)
    quantizer.halfScales = true
    let (codes, scales, zeros) = quantizer.quantize(w, rows: rows, columns: columns)
    #expect(scales.count == rows * 2)
    for scale in scales { #expect(Double(Float16(scale)) == scale && scale > 0) }
    for r in 0..<rows {
      for c in 0..<columns {
        let g = r * 2 + c / 128
        let code = codes[r * columns + c]
        #expect((0...15).contains(code))
        let value = scales[g] * Double(code - zeros[g])
        // Half a step, plus what rounding the scale (relative 2^-11) can move the top code.
        #expect(abs(value - w[r * columns + c]) <= scales[g] * (0.5 + 16 * 0x1p-11))
      }
    }
    var plain = quantizer
    plain.halfScales = false
    let exact = plain.quantize(w, rows: rows, columns: columns).scales
    #expect(exact.contains { Double(Float16($0)) != $0 }, "the test weights need inexact scales")
  }
}
