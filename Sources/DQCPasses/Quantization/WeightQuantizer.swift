import DQCIR

/// Min–max uniform quantization of weight rows, with GPTQ's conventions.
///
/// For each group of a row: `lo = min(0, min w)`, `hi = max(0, max w)` (both ±1 when equal);
/// symmetric types use `hi = max(|lo|, hi)` and, when `lo < 0`, `lo = −hi`. Then `scale = (hi − lo) / maxq` with
/// `maxq = 2^bits − 1`, `zero = round(−lo / scale)` (symmetric: `(maxq + 1) / 2`), and
/// `q = clamp(round(w / scale) + zero, 0, maxq)`, rounding half to even as PyTorch does.
/// Symmetric weights are stored signed, `q − zero`, without zero points. With `halfScales` the
/// scale is rounded to f16 (at least f16's smallest normal) before the zero point and codes.
public struct WeightQuantizer: Sendable, Hashable {
  /// Bits per weight (2 to 8).
  public var bits: Int
  /// Columns per group; 0 quantizes each output channel (row) as one group.
  public var groupSize: Int
  /// Symmetric (no zero points) or asymmetric.
  public var symmetric: Bool
  /// Round every scale to f16 before codes are chosen (scales are then stored as f16).
  public var halfScales = false

  /// Creates a quantizer.
  public init(bits: Int, groupSize: Int, symmetric: Bool) {
    self.bits = bits
    self.groupSize = groupSize
    self.symmetric = symmetric
  }

  /// `2^bits − 1`.
  public var maxq: Double { Double((1 << bits) - 1) }

  /// The scale and zero point for a group of values.
  public func parameters(_ values: some Collection<Double>) -> (scale: Double, zero: Double) {
    var lo = min(0, values.min() ?? 0)
    var hi = max(0, values.max() ?? 0)
    if symmetric {
      // As GPTQ's quant.py: the range is mirrored only when the group has a negative value.
      hi = max(abs(lo), hi)
      if lo < 0 { lo = -hi }
    }
    if lo == hi {
      lo = -1
      hi = 1
    }
    var scale = (hi - lo) / maxq
    if halfScales {
      scale = Swift.max(Double(Float16(scale)), Double(Float16.leastNormalMagnitude))
    }
    let zero = symmetric ? (maxq + 1) / 2 : (-lo / scale).rounded(.toNearestOrEven)
    return (scale, zero)
  }

  /// The integer code of one value.
  public func quantize(_ w: Double, scale: Double, zero: Double) -> Double {
    min(max((w / scale).rounded(.toNearestOrEven) + zero, 0), maxq)
  }

  /// The element type of the quantized weight `[N, K]`.
  public func elementType(columns: Int) -> QuantizedType {
    let storage: ScalarType = symmetric ? (bits <= 4 ? .i4 : .i8) : (bits <= 4 ? .u4 : .u8)
    let granularity: QuantizedType.Granularity =
      groupSize > 0 && groupSize < columns
      ? .perGroup(axis: 1, size: groupSize) : .perChannel(axis: 0)
    return QuantizedType(
      storage: storage, expressed: .f32, granularity: granularity, isSymmetric: symmetric)
  }

  /// Quantizes a row-major `[rows, columns]` weight: codes (signed when symmetric), scales and
  /// zero points `[rows, groups]`.
  public func quantize(_ w: [Double], rows: Int, columns: Int) -> (
    codes: [Int64], scales: [Double], zeros: [Int64]
  ) {
    let size = groupSize > 0 && groupSize < columns ? groupSize : columns
    let groups = columns / size
    var codes = [Int64](repeating: 0, count: rows * columns)
    var scales = [Double](repeating: 0, count: rows * groups)
    var zeros = [Int64](repeating: 0, count: rows * groups)
    for r in 0..<rows {
      for g in 0..<groups {
        let start = r * columns + g * size
        let (scale, zero) = parameters(w[start..<(start + size)])
        scales[r * groups + g] = scale
        zeros[r * groups + g] = Int64(zero)
        for c in 0..<size {
          let q = quantize(w[start + c], scale: scale, zero: zero)
          codes[start + c] = Int64(q) - (symmetric ? Int64(zero) : 0)
        }
      }
    }
    return (codes, scales, zeros)
  }
}
