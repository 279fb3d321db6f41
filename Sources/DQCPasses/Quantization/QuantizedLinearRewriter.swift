import DQCIR
import Foundation

/// Replaces a `dq.linear` over a constant weight with `dq.qlinear` over quantized codes.
struct QuantizedLinearRewriter {
  /// Adds the quantized weight, scales and (asymmetric) zero points for `weight` and returns the
  /// instructions reading them followed by the `dq.qlinear` that replaces `linear`.
  static func rewrite(
    _ linear: Instruction, weight: Weight, codes: [Int64], scales: [Double], zeros: [Int64],
    quantizer: WeightQuantizer, actBits: Int?, module: inout Module
  ) -> [Instruction] {
    guard let shape = weight.type.staticShape else { return [linear] }
    let (rows, columns) = (shape[0], shape[1])
    let qtype = quantizer.elementType(columns: columns)
    let groups = scales.count / rows
    let base = weight.name
    let qName = module.weights.freshName(base + ".q")
    module.weights.insert(
      Weight(
        name: qName,
        tensor: DenseTensor(
          type: TensorType(shape: [rows, columns], .quantized(qtype)), values: .ints(codes))))
    let sName = module.weights.freshName(base + ".scales")
    module.weights.insert(
      Weight(
        name: sName,
        tensor: DenseTensor(
          shape: [rows, groups], element: quantizer.halfScales ? .f16 : .f32, floats: scales)))
    var reads = [read(qName, module), read(sName, module)]
    var operands: [String?] = [linear.operands[0], qName, sName]
    if !quantizer.symmetric {
      let zName = module.weights.freshName(base + ".zero_points")
      module.weights.insert(
        Weight(name: zName, tensor: DenseTensor(shape: [rows, groups], element: .u8, ints: zeros)))
      reads.append(read(zName, module))
      operands.append(zName)
    }
    if linear.operands.count > 2 {
      if quantizer.symmetric { operands.append(nil) }
      operands.append(linear.operands[2])
    }
    var attributes = AttributeDictionary()
    if let actBits { attributes["act_bits"] = .int(Int64(actBits)) }
    attributes["prec.weight_bits"] = .int(Int64(quantizer.bits))
    return reads + [
      Instruction(
        .dq(.qlinear), operands: operands, results: linear.results, attributes: attributes,
        location: linear.location)
    ]
  }

  static func read(_ name: String, _ module: Module) -> Instruction {
    Instruction(
      .dq(.weight), operands: [],
      results: [Value(name, module.weights[name]?.type ?? TensorType(shape: [], .f32))],
      attributes: AttributeDictionary([("name", .symbol(name))]))
  }

  /// The `dq.linear` instructions with a constant 2-D f32 weight that `head` and `selection`
  /// admit (the model's head is a linear producing a graph output).
  static func candidates(
    _ module: Module, head: HeadRule, selection: LayerSelection = LayerSelection()
  )
    -> [(index: Int, weight: Weight)]
  {
    let outputs = Set(module.graph.outputs)
    var producers: [String: Instruction] = [:]
    var out: [(Int, Weight)] = []
    for (i, inst) in module.graph.instructions.enumerated() {
      for r in inst.results { producers[r.name] = inst }
      guard inst.op == .dq(.linear), inst.operands.count >= 2, let w = inst.operands[1],
        let symbol = producers[w]?.weightSymbol, let weight = module.weights[symbol],
        weight.type.rank == 2, weight.type.element == .f32
      else { continue }
      let isHead = outputs.contains(inst.result.name)
      switch head {
      case .exclude where isHead, .only where !isHead: continue
      default: break
      }
      guard selection.selects(weight.name) else { continue }
      out.append((i, weight))
    }
    return out
  }
}

/// Whether a quantization pass touches the model's head (the linear producing a graph output):
/// not at all (the default: it stays float), along with the other layers, or alone.
enum HeadRule: Sendable, Hashable {
  case exclude, include, only
}

/// Which linear layers a quantization pass touches, by weight name: `only` and `except` hold
/// `|`-separated glob patterns matched against the end of the name (`blocks.0.*` matches
/// `model.transformer.blocks.0.q_proj.weight`), as llama.cpp's `--tensor-type` does.
public struct LayerSelection: Sendable, Hashable {
  /// Patterns a layer must match (empty: every layer).
  public var only: [String]
  /// Patterns that exclude a layer.
  public var except: [String]

  /// Creates a selection from comma-separated pattern lists.
  public init(only: String = "", except: String = "") {
    self.only = only.split(separator: "|").map { String($0).trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
    self.except = except.split(separator: "|").map {
      String($0).trimmingCharacters(in: .whitespaces)
    }.filter { !$0.isEmpty }
  }

  /// Whether the layer with weight `name` is selected.
  public func selects(_ name: String) -> Bool {
    (only.isEmpty || only.contains { Self.matches($0, name) })
      && !except.contains { Self.matches($0, name) }
  }

  /// `pattern` (with `*` and `?`) matches `name` or a suffix of it that starts after a dot.
  static func matches(_ pattern: String, _ name: String) -> Bool {
    var starts = [name.startIndex]
    for i in name.indices where name[i] == "." { starts.append(name.index(after: i)) }
    return starts.contains { glob(Array(pattern), Array(name[$0...])) }
  }

  static func glob(_ p: [Character], _ s: [Character]) -> Bool {
    var (pi, si, star, mark) = (0, 0, -1, 0)
    while si < s.count {
      if pi < p.count, p[pi] == "?" || p[pi] == s[si] {
        pi += 1
        si += 1
      } else if pi < p.count, p[pi] == "*" {
        star = pi
        mark = si
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        si = mark
      } else {
        return false
      }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
  }
}
