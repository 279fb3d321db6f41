import DQCIR

/// Round-to-nearest weight quantization of every `dq.linear` with a constant weight.
///
/// The baseline the calibrated methods are compared with: min–max scales per group of
/// `group-size` columns (0: per output channel), codes rounded to nearest. The model's head
/// stays in float unless `quantize-head=true`. `act-bits` (0 = off) makes the `dq.qlinear`
/// quantize its input per token.
public struct RoundToNearest: ModulePass {
  public static let name = "rtn"
  public static let displayName = "RoundToNearest"
  public static let summary =
    "Quantize linear weights by rounding to nearest (min-max, per group or channel)"
  public static let optionSpecs = [
    PassOptionSpec("bits", .int, default: .int(4), "Bits per weight (2 to 8)"),
    PassOptionSpec("group-size", .int, default: .int(128), "Columns per group; 0 for per-channel"),
    PassOptionSpec(
      "symmetric", .bool, default: .bool(false), "Symmetric codes without zero points"),
    PassOptionSpec(
      "act-bits", .int, default: .int(0),
      "Quantize linear inputs per token to this many bits (0: off)"),
    PassOptionSpec("quantize-head", .bool, default: .bool(false), "Also quantize the output head"),
    PassOptionSpec(
      "only", .string, default: .string(""),
      "Quantize only layers matching these globs (separated by |)"),
    PassOptionSpec("except", .string, default: .string(""), "Skip layers matching these globs"),
  ]

  let quantizer: WeightQuantizer
  let actBits: Int?
  let includeHead: Bool
  let selection: LayerSelection

  public init(options: PassOptions) throws(PassError) {
    selection = LayerSelection(only: options.string("only"), except: options.string("except"))
    let bits = options.int("bits")
    let group = options.int("group-size")
    let act = options.int("act-bits")
    guard (2...8).contains(bits) else {
      throw .badOption(
        pass: Self.name, option: "bits", column: 0, message: "must be 2 to 8, is \(bits)")
    }
    guard group >= 0 else {
      throw .badOption(
        pass: Self.name, option: "group-size", column: 0, message: "must not be negative")
    }
    guard act == 0 || (2...8).contains(act) else {
      throw .badOption(
        pass: Self.name, option: "act-bits", column: 0, message: "must be 0 or 2 to 8, is \(act)")
    }
    quantizer = WeightQuantizer(bits: bits, groupSize: group, symmetric: options.bool("symmetric"))
    actBits = act == 0 ? nil : act
    includeHead = options.bool("quantize-head")
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let candidates = QuantizedLinearRewriter.candidates(
      module, includeHead: includeHead, selection: selection)
    var replacements: [Int: [Instruction]] = [:]
    for (index, weight) in candidates {
      guard let shape = weight.type.staticShape else { continue }
      if quantizer.groupSize > 0, quantizer.groupSize < shape[1],
        shape[1] % quantizer.groupSize != 0
      {
        throw .invalidModule(
          pass: Self.name,
          message:
            "weight @\(weight.name) has \(shape[1]) columns, not a multiple of group size \(quantizer.groupSize)"
        )
      }
      let values: [Double]
      do {
        values = try weight.loadTensor().doubles
      } catch {
        throw .invalidModule(pass: Self.name, message: error.description)
      }
      let (codes, scales, zeros) = quantizer.quantize(values, rows: shape[0], columns: shape[1])
      replacements[index] = QuantizedLinearRewriter.rewrite(
        module.graph.instructions[index], weight: weight, codes: codes, scales: scales,
        zeros: zeros,
        quantizer: quantizer, actBits: actBits, module: &module)
    }
    var out: [Instruction] = []
    for (i, inst) in module.graph.instructions.enumerated() { out += replacements[i] ?? [inst] }
    module.graph.instructions = out
    module.graph.eraseDeadInstructions()
    let referenced = Set(module.graph.instructions.compactMap(\.weightSymbol))
    for name in module.weights.names where !referenced.contains(name) {
      module.weights.remove(name)
    }
    module.attributes["quant.method"] = .string("rtn")
    module.attributes["quant.weight_bits"] = .int(Int64(quantizer.bits))
    module.attributes["quant.group_size"] = .int(Int64(quantizer.groupSize))
    module.attributes["quant.symmetric"] = .bool(quantizer.symmetric)
    if let actBits { module.attributes["quant.act_bits"] = .int(Int64(actBits)) }
    return PassOutcome(
      changed: !replacements.isEmpty, statistics: [("linears-quantized", replacements.count)])
  }
}
