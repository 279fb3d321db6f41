import DQCIR

/// What `dqc inspect` prints about a model: inputs, outputs, op histogram, and parameters by
/// element type.
public struct ModelSummary: Sendable {
  /// The module summarised.
  public let module: Module

  /// Creates a summary.
  public init(_ module: Module) { self.module = module }

  /// Op spellings with their instruction counts, most frequent first (ties by name).
  public var opHistogram: [(op: String, count: Int)] {
    var counts: [String: Int] = [:]
    for inst in module.graph.instructions { counts[inst.op.description, default: 0] += 1 }
    return counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
      .map { ($0.key, $0.value) }
  }

  /// Parameter count and bytes per element type, in type-name order.
  public var parametersByType: [(type: String, count: Int, bytes: Int)] {
    var table: [String: (Int, Int)] = [:]
    for w in module.weights {
      let key = w.type.element.description
      let (c, b) = table[key] ?? (0, 0)
      table[key] = (c + (w.type.elementCount ?? 0), b + (w.type.byteCount ?? 0))
    }
    return table.sorted { $0.key < $1.key }.map { ($0.key, $0.value.0, $0.value.1) }
  }

  /// The report as text.
  public var text: String {
    var out = "module @\(module.name)\n"
    for (name, value) in module.attributes { out += "  \(name) = \(IRPrinter.attribute(value))\n" }
    out += "inputs:\n"
    for a in module.graph.arguments { out += "  %\(a.name): \(a.type)\n" }
    out += "outputs:\n"
    for (name, type) in zip(module.graph.outputs, module.graph.outputTypes()) {
      out += "  %\(name): \(type?.description ?? "?")\n"
    }
    out += "ops (\(module.graph.instructions.count) instructions):\n"
    for (op, count) in opHistogram { out += "  \(pad(String(count), 7)) \(op)\n" }
    let params = parametersByType
    let totalCount = params.reduce(0) { $0 + $1.count }
    let totalBytes = params.reduce(0) { $0 + $1.bytes }
    out += "parameters: \(totalCount) in \(module.weights.count) weights, \(totalBytes) bytes\n"
    for p in params {
      out +=
        "  \(pad(p.type, 6)) \(pad(String(p.count), 12)) parameters \(pad(String(p.bytes), 12)) bytes\n"
    }
    return out
  }

  func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
  }
}
