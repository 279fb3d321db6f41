import DQCBackend
import DQCIR
import Foundation

/// What `dqc inspect model.dqb` prints: the sections, the tensors, bits per weight of the
/// quantized linear layers and of the whole file, the recipe and the provenance.
public struct BundleSummary: Sendable {
  /// The opened bundle.
  public let bundle: BundleFile
  /// Its module.
  public let module: Module

  /// Opens and verifies `path`.
  public init(path: String) throws(DriverError) {
    do {
      bundle = try BundleFile(path: path)
      module = try bundle.module()
    } catch {
      throw .bundle(error)
    }
  }

  /// Bits per weight of the `dq.qlinear` layers whose codes are `codeBits` wide (all layers
  /// when nil): (codes + scales + zero points) bits over codes, and the layers' code count; nil
  /// when there are none.
  public func quantizedBitsPerWeight(codeBits: Int? = nil) -> (bits: Double, weights: Int)? {
    var bits = 0
    var weights = 0
    var seen = Set<String>()
    for symbols in quantizedLayerWeights {
      guard let codes = symbols.first, let type = module.weights[codes]?.type,
        let count = type.elementCount, !seen.contains(codes),
        codeBits == nil || type.element.bitWidth == codeBits
      else { continue }
      seen.insert(codes)
      weights += count
      for symbol in symbols { bits += 8 * (module.weights[symbol]?.type.byteCount ?? 0) }
    }
    return weights > 0 ? (Double(bits) / Double(weights), weights) : nil
  }

  /// The code widths of the `dq.qlinear` layers, ascending (4 and 8 for a W4 body and W8 head).
  public var quantizedCodeWidths: [Int] {
    let widths = quantizedLayerWeights.compactMap { $0.first.flatMap { module.weights[$0] } }
      .map(\.type.element.bitWidth)
    return Set(widths).sorted()
  }

  /// The model's parameters: every weight's elements, except the scales and zero points of
  /// quantized layers.
  public var parameterCount: Int {
    let auxiliary = Set(quantizedLayerWeights.flatMap { $0.dropFirst() })
    return module.weights.filter { !auxiliary.contains($0.name) }
      .reduce(0) { $0 + ($1.type.elementCount ?? 0) }
  }

  /// Device memory the CUDA back end takes for the weights, and the host-kept table's size.
  ///
  /// Every tensor, each rounded up to 256 bytes, except the embedding table, which stays in host
  /// memory when only the embedding reads it (the emitter's rule, `CUDAEmitter.hostEmbedding`);
  /// nil without launch code.
  public var cudaWeightBytes: (device: Int, hostTable: Int)? {
    guard bundle.bytes(of: .cudaSource) != nil else { return nil }
    let reads = module.graph.useCounts()
    var symbolReads: [String: Int] = [:]
    var producers: [String: String] = [:]
    for inst in module.graph.instructions {
      guard let symbol = inst.weightSymbol else { continue }
      symbolReads[symbol, default: 0] += 1
      producers[inst.result.name] = symbol
    }
    let embeddings = module.graph.instructions.filter {
      $0.op == .dq(.embedding) || $0.op == .k(.embedding)
    }
    var hostTable: String?
    if embeddings.count == 1, let table = embeddings[0].operands.dropFirst().first ?? nil,
      let symbol = producers[table], reads[table] == 1, symbolReads[symbol] == 1
    {
      hostTable = symbol
    }
    var device = 0
    var host = 0
    for tensor in bundle.tensors {
      if tensor.name == hostTable {
        host = tensor.size
      } else {
        device += (tensor.size + 255) / 256 * 256
      }
    }
    return (device, host)
  }

  /// For each `dq.qlinear`, the weight symbols of its codes, scales and (asymmetric) zero points.
  var quantizedLayerWeights: [[String]] {
    var producers: [String: String] = [:]
    for inst in module.graph.instructions {
      if let symbol = inst.weightSymbol { producers[inst.result.name] = symbol }
    }
    return module.graph.instructions.filter { $0.op == .dq(.qlinear) }.map { inst in
      inst.operands.dropFirst().prefix(3).compactMap { $0.flatMap { producers[$0] } }
    }
  }

  /// The summary text.
  public var text: String {
    var out = "bundle \(bundle.path): format \(bundle.version.major).\(bundle.version.minor), "
    out += "\(bundle.fileSize) bytes, checksums ok\n\nsections:\n"
    for section in bundle.sections {
      let name = section.name.padding(toLength: 14, withPad: " ", startingAt: 0)
      out += "  \(name) offset \(section.offset)  size \(section.size)\n"
    }
    var byElement: [String: (count: Int, bytes: Int)] = [:]
    for tensor in bundle.tensors {
      let count = tensor.shape.reduce(1, *)
      let entry = byElement[tensor.element.rawValue, default: (0, 0)]
      byElement[tensor.element.rawValue] = (entry.count + count, entry.bytes + tensor.size)
    }
    out += "\ntensors: \(bundle.tensors.count)\n"
    for (element, entry) in byElement.sorted(by: { $0.key < $1.key }) {
      out += "  \(element): \(entry.count) elements, \(entry.bytes) bytes\n"
    }
    out += "\n"
    if let (bits, weights) = quantizedBitsPerWeight() {
      out += String(
        format: "quantized linear weights: %d, %.4f bits per weight (codes, scales, zero points)\n",
        weights, bits)
      let widths = quantizedCodeWidths
      for width in widths where widths.count > 1 {
        guard let (bits, weights) = quantizedBitsPerWeight(codeBits: width) else { continue }
        out += String(
          format: "  %d-bit codes: %d weights, %.4f bits per weight\n", width, weights, bits)
      }
    } else {
      out += "quantized linear weights: none\n"
    }
    let parameters = parameterCount
    if parameters > 0 {
      out += String(
        format: "whole file: %d parameters, %.4f bits per parameter\n", parameters,
        Double(bundle.fileSize * 8) / Double(parameters))
    }
    if let cuda = cudaWeightBytes {
      let fp16 = Double(parameters * 2)
      let host =
        cuda.hostTable > 0
        ? String(
          format: " (the embedding table, %.1f MiB, stays in host memory)",
          Double(cuda.hostTable) / 1_048_576) : ""
      out += String(
        format:
          "CUDA weights on the device: %.1f MiB%@; all parameters as FP16: %.1f MiB, %.2fx more\n",
        Double(cuda.device) / 1_048_576, host, fp16 / 1_048_576, fp16 / Double(max(cuda.device, 1)))
    }
    if let plan = bundle.bytes(of: .plan).flatMap(PlanHeader.init) {
      out += String(
        format: "plan: %d kernels, sequences up to %d tokens, activation arena %d bytes\n",
        plan.kernels, plan.sequenceLength, plan.arenaBytes)
    } else {
      out += "plan: none (runs on the interpreter only)\n"
    }
    out += "\nrecipe: " + (bundle.text(of: .recipe) ?? "none") + "\n"
    out += "provenance: " + (bundle.text(of: .provenance) ?? "none") + "\n\n"
    out += ModelSummary(module).text
    return out
  }
}
