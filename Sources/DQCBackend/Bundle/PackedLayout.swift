import DQCIR
import DQCRuntime

/// How a bundled tensor's bytes are laid out.
///
/// Either the IR's row-major encoding, or a packing of weights for the runtime's kernels
/// (docs/bundle-format.md, "Packed layouts"). The packing code is the runtime's own
/// (`dqc_pack_codes`), so compiler and kernels cannot disagree.
public enum PackedLayout: UInt16, Sendable, Hashable {
  /// Layout 0.
  case rowMajor = 0
  /// Layout 1: 4-bit codes in panels of 16 output channels × 8 columns.
  case q4N16K8 = 1
  /// Layout 2: 8-bit codes in panels of 16 output channels × 4 columns.
  case q8N16K4 = 2
  /// Layout 3: f32 linear-layer weights in panels of 16 output channels.
  case f32N16 = 3

  /// The layout each weight of a lowered module is bundled in: the codes of every `k.qlinear`
  /// and the weight of every `k.linear` are packed for their kernels; everything else is
  /// row-major.
  static func assignments(_ plan: Module) -> [String: PackedLayout] {
    var symbols: [String: String] = [:]
    for inst in plan.graph.instructions {
      if let symbol = inst.weightSymbol { symbols[inst.result.name] = symbol }
    }
    var layouts: [String: PackedLayout] = [:]
    for inst in plan.graph.instructions where inst.op == .k(.qlinear) {
      guard inst.operands.count > 3, let codes = inst.operands[3], let symbol = symbols[codes],
        let weight = plan.weights[symbol]
      else { continue }
      layouts[symbol] = weight.type.element.bitWidth == 4 ? .q4N16K8 : .q8N16K4
    }
    for inst in plan.graph.instructions where inst.op == .k(.linear) {
      guard inst.operands.count > 1, let w = inst.operands[1], let symbol = symbols[w] else {
        continue
      }
      layouts[symbol] = .f32N16
    }
    return layouts
  }

  /// Bytes of a packed `[N, K]` tensor.
  func packedSize(shape: [Int]) -> Int {
    guard shape.count == 2 else { return 0 }
    return dqc_packed_size(Int32(rawValue), Int64(shape[0]), Int64(shape[1]))
  }

  /// Packs row-major codes (or f32 values for layout 3).
  func pack(_ bytes: [UInt8], shape: [Int], element: ScalarType) throws(BundleError) -> [UInt8] {
    try convert(
      bytes, shape: shape, element: element, into: packedSize(shape: shape), dqc_pack_codes)
  }

  /// Row-major codes (or values) of a packed tensor.
  func unpack(_ bytes: [UInt8], shape: [Int], element: ScalarType) throws(BundleError) -> [UInt8] {
    let count = (shape.reduce(1, *) * element.bitWidth + 7) / 8
    return try convert(bytes, shape: shape, element: element, into: count, dqc_unpack_codes)
  }

  /// Runs one of the runtime's two conversions (`dqc_pack_codes`, `dqc_unpack_codes`).
  private func convert(
    _ bytes: [UInt8], shape: [Int], element: ScalarType, into count: Int,
    _ function: (Int32, Int32, UnsafePointer<UInt8>?, Int64, Int64, UnsafeMutablePointer<UInt8>?)
      -> dqc_status
  ) throws(BundleError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    let status = bytes.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { target in
        function(
          Int32(rawValue), element.isSignedInteger ? 1 : 0, source.baseAddress,
          Int64(shape[0]), Int64(shape[1]), target.baseAddress)
      }
    }
    guard status == DQC_OK else {
      throw BundleError(file: "", place: "", String(cString: dqc_last_error()))
    }
    return out
  }
}
