import DQCIR

/// Round-to-nearest weight quantization of every `dq.linear` with a constant weight.
///
/// The baseline the calibrated methods are compared with: min–max scales per group of
/// `group-size` columns (0: per output channel), codes rounded to nearest. The model's head
/// stays in float unless `quantize-head=true`; `head-only=true` quantizes the head alone. `act-bits` (0 = off) makes the `dq.qlinear`
/// quantize its input per token.
public struct RoundToNearest: ModulePass {
  public static let name = "rtn"
  public static let displayName = "RoundToNearest"
  public static let summary =
    "Quantize linear weights by rounding to nearest (min-max, per group or channel)"
  public static let optionSpecs = WeightQuantizationOptions.common

  let quantizer: WeightQuantizer
  let actBits: Int?
  let head: HeadRule
  let selection: LayerSelection
  let options: PassOptions

  public init(options: PassOptions) throws(PassError) {
    let settings = try WeightQuantizationOptions.parse(options, pass: Self.name)
    quantizer = settings.quantizer
    actBits = settings.actBits
    head = settings.head
    selection = settings.selection
    self.options = options
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let candidates = QuantizedLinearRewriter.candidates(
      module, head: head, selection: selection)
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
    if WeightQuantizationOptions.recordPartial(
      &module, method: Self.name, options: options, changed: !replacements.isEmpty)
    {
      return PassOutcome(
        changed: !replacements.isEmpty, statistics: [("linears-quantized", replacements.count)])
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
