import CBLAS
import DQCIR
import DQCInterp

/// The shared machinery of `gptq` and `cgq`: layer by layer, in graph order, collect the
/// Hessian `H = Σ_t w_t² x_t x_tᵀ` of each linear's inputs over the calibration set (running the
/// model with the layers before it already quantized), quantize the weight with GPTQ, and
/// replace the layer with `dq.qlinear`.
struct HessianQuantization {
  /// Per-token Hessian weights.
  enum Weighting: Sendable {
    /// Every token counts once (standard GPTQ).
    case uniform
    /// CGQ: `w_t = m_t + sqrt(confidence_t)`, `m_t = masked` for a masked token, `decoded` otherwise.
    case certainty(masked: Double, decoded: Double)

    func weight(masked: Bool, confidence: Double) -> Double {
      switch self {
      case .uniform: 1
      case .certainty(let m, let d): (masked ? m : d) + confidence.squareRoot()
      }
    }
  }

  let pass: String
  let gptq: GPTQ
  let weighting: Weighting
  let actBits: Int?
  let head: HeadRule
  let selection: LayerSelection

  func run(on module: inout Module, context: PassContext) throws(PassError) -> PassOutcome {
    guard let calibration = context.calibration, !calibration.samples.isEmpty else {
      throw .invalidModule(
        pass: pass,
        message: "no calibration set: run tmas, calib-random-mask or calib-clean before \(pass)")
    }
    var quantized = 0
    // Linears sharing an input (q/k/v, gate/up) share one Hessian.
    while let group = nextGroup(module) {
      let (input, members) = group
      let k = members[0].1.type.staticShape?[1] ?? 0
      let hessian = try collectHessian(module, input: input, columns: k, calibration: calibration)
      var replacements: [String: [Instruction]] = [:]
      for (inst, weight) in members {
        guard let shape = weight.type.staticShape else { continue }
        let values: [Double]
        do {
          values = try weight.loadTensor().doubles
        } catch {
          throw .invalidModule(pass: pass, message: error.description)
        }
        let result: GPTQ.Result
        do throws(GPTQ.Failure) {
          result = try gptq.quantize(values, rows: shape[0], columns: shape[1], hessian: hessian)
        } catch {
          throw .invalidModule(pass: pass, message: "weight @\(weight.name): \(error.description)")
        }
        let shift: Int64 = gptq.quantizer.symmetric ? Int64((gptq.quantizer.maxq + 1) / 2) : 0
        replacements[inst.result.name] = QuantizedLinearRewriter.rewrite(
          inst, weight: weight, codes: result.codes.map { $0 - shift }, scales: result.scales,
          zeros: result.zeros.map { Int64($0) }, quantizer: gptq.quantizer, actBits: actBits,
          module: &module)
        quantized += 1
      }
      module.graph.instructions = module.graph.instructions.flatMap {
        replacements[$0.result.name] ?? [$0]
      }
    }
    module.graph.eraseDeadInstructions()
    let referenced = Set(module.graph.instructions.compactMap(\.weightSymbol))
    for name in module.weights.names where !referenced.contains(name) {
      module.weights.remove(name)
    }
    return PassOutcome(changed: quantized > 0, statistics: [("linears-quantized", quantized)])
  }

  /// The first input value (in graph order) read by float linears still to quantize, with them.
  func nextGroup(_ module: Module) -> (String, [(Instruction, Weight)])? {
    let candidates = QuantizedLinearRewriter.candidates(
      module, head: head, selection: selection)
    guard let first = candidates.first,
      let input = module.graph.instructions[first.index].operands[0]
    else {
      return nil
    }
    let members = candidates.filter { module.graph.instructions[$0.index].operands[0] == input }
      .map { (module.graph.instructions[$0.index], $0.weight) }
    return (input, members)
  }

  /// `Σ_t w_t² x_t x_tᵀ` over every calibration token, summed as `HessianAccumulator` does.
  func collectHessian(_ module: Module, input: String, columns k: Int, calibration: CalibrationSet)
    throws(PassError) -> [Double]
  {
    let runner = try ModelRunner(module: module, maskID: 0, pass: pass)
    var accumulator = HessianAccumulator(columns: k)
    for sample in calibration.samples {
      var rows: [Float]? = nil
      do {
        let selected: (Instruction) -> Bool = {
          $0.operands.first == input && ($0.op == .dq(.linear) || $0.op == .dq(.qlinear))
        }
        let collect: (TapEvent) -> Void = { event in
          guard event.point == .operands, rows == nil, let x = event.tensors.first else { return }
          rows = x.floats
        }
        _ = try runner.interpreter.run(
          [runner.input: Tensor(shape: [1, sample.tokens.count], ints: sample.tokens)],
          tapFilter: selected, tap: collect)
      } catch {
        throw .invalidModule(pass: pass, message: "calibration run failed: \(error)")
      }
      guard let rows else { continue }
      let weights = (0..<(rows.count / k)).map { t in
        weighting.weight(
          masked: sample.masked[t % sample.masked.count],
          confidence: sample.confidence[t % sample.confidence.count])
      }
      // H += Σ_t w_t² x_t x_tᵀ
      accumulator.add(rows, weights: weights)
    }
    return accumulator.finish()
  }
}

/// Options every weight-quantization pass (`rtn`, `gptq`, `cgq`) takes, and their checks.
enum WeightQuantizationOptions {
  static let common = [
    PassOptionSpec("bits", .int, default: .int(4), "Bits per weight (2 to 8)"),
    PassOptionSpec("group-size", .int, default: .int(128), "Columns per group; 0 for per-channel"),
    PassOptionSpec(
      "symmetric", .bool, default: .bool(false), "Symmetric codes without zero points"),
    PassOptionSpec(
      "act-bits", .int, default: .int(0),
      "Quantize linear inputs per token to this many bits (0: off)"),
    PassOptionSpec("quantize-head", .bool, default: .bool(false), "Also quantize the output head"),
    PassOptionSpec(
      "head-only", .bool, default: .bool(false),
      "Quantize only the output head (for a head precision of its own)"),
    PassOptionSpec(
      "half-scales", .bool, default: .bool(false),
      "Store scales as f16, rounded before the codes are chosen"),
    PassOptionSpec(
      "only", .string, default: .string(""),
      "Quantize only layers matching these globs (separated by |)"),
    PassOptionSpec("except", .string, default: .string(""), "Skip layers matching these globs"),
  ]

  /// The checked settings.
  struct Settings {
    var quantizer: WeightQuantizer
    var actBits: Int?
    var head: HeadRule
    var selection: LayerSelection
  }

  /// For a pass over some layers only (`only`, `head-only`), which leaves the module-wide
  /// `quant.*` attributes to the main pass: records the head's own precision
  /// (`quant.head_method`, `quant.head_bits`, `quant.head_group_size`, `quant.head_act_bits`)
  /// for `head-only` when it quantized the head (`changed`; a model whose output is not a float
  /// linear layer keeps its head), nothing for `only` (the bundle's recipe lists the overrides),
  /// and returns true; returns false for a pass over every layer.
  static func recordPartial(
    _ module: inout Module, method: String, options: PassOptions, changed: Bool
  ) -> Bool {
    if options.bool("head-only") {
      guard changed else { return true }
      module.attributes["quant.head_method"] = .string(method)
      module.attributes["quant.head_bits"] = .int(Int64(options.int("bits")))
      module.attributes["quant.head_group_size"] = .int(Int64(options.int("group-size")))
      module.attributes["quant.head_act_bits"] = .int(Int64(options.int("act-bits")))
      return true
    }
    return !options.string("only").isEmpty
  }

  static func parse(_ options: PassOptions, pass: String) throws(PassError) -> Settings {
    let bits = options.int("bits")
    let group = options.int("group-size")
    let act = options.int("act-bits")
    guard (2...8).contains(bits) else {
      throw .badOption(pass: pass, option: "bits", column: 0, message: "must be 2 to 8, is \(bits)")
    }
    guard group >= 0 else {
      throw .badOption(pass: pass, option: "group-size", column: 0, message: "must not be negative")
    }
    guard act == 0 || (2...8).contains(act) else {
      throw .badOption(
        pass: pass, option: "act-bits", column: 0, message: "must be 0 or 2 to 8, is \(act)")
    }
    guard !(options.bool("head-only") && !options.string("only").isEmpty) else {
      throw .badOption(
        pass: pass, option: "head-only", column: 0, message: "cannot be combined with only")
    }
    guard !(options.bool("head-only") && options.bool("quantize-head")) else {
      throw .badOption(
        pass: pass, option: "head-only", column: 0,
        message: "quantizes the head alone; quantize-head=true quantizes it with the other layers")
    }
    var quantizer = WeightQuantizer(
      bits: bits, groupSize: group, symmetric: options.bool("symmetric"))
    quantizer.halfScales = options.bool("half-scales")
    return Settings(
      quantizer: quantizer,
      actBits: act == 0 ? nil : act,
      head: options.bool("head-only") ? .only : options.bool("quantize-head") ? .include : .exclude,
      selection: LayerSelection(only: options.string("only"), except: options.string("except")))
  }
}

/// Options shared by `gptq` and `cgq`.
enum HessianQuantizationOptions {
  static let common =
    WeightQuantizationOptions.common + [
      PassOptionSpec(
        "damp", .float, default: .float(0.01), "Damping as a fraction of the mean Hessian diagonal"),
      PassOptionSpec("block-size", .int, default: .int(128), "Columns per lazy-update block"),
      PassOptionSpec(
        "act-order", .bool, default: .bool(false), "Quantize columns by decreasing Hessian diagonal"
      ),
    ]

  static func make(_ options: PassOptions, pass: String, weighting: HessianQuantization.Weighting)
    throws(PassError)
    -> HessianQuantization
  {
    let settings = try WeightQuantizationOptions.parse(options, pass: pass)
    guard !(options.bool("act-order") && options.int("group-size") > 0) else {
      throw .badOption(
        pass: pass, option: "act-order", column: 0,
        message:
          "act-order permutes groups, which dq.qlinear's contiguous groups cannot hold; use group-size=0 with it"
      )
    }
    guard options.int("block-size") > 0 else {
      throw .badOption(pass: pass, option: "block-size", column: 0, message: "must be positive")
    }
    return HessianQuantization(
      pass: pass,
      gptq: GPTQ(
        quantizer: settings.quantizer, damp: options.float("damp"),
        blockSize: options.int("block-size"),
        actOrder: options.bool("act-order")),
      weighting: weighting, actBits: settings.actBits, head: settings.head,
      selection: settings.selection)
  }

  /// Records the pass's settings as the module's `quant.*` attributes and returns true, or for a
  /// pass over some layers only, what `WeightQuantizationOptions.recordPartial` records, and
  /// returns false.
  @discardableResult
  static func record(_ module: inout Module, method: String, options: PassOptions, changed: Bool)
    -> Bool
  {
    if WeightQuantizationOptions.recordPartial(
      &module, method: method, options: options, changed: changed)
    {
      return false
    }
    module.attributes["quant.method"] = .string(method)
    for spec in common where !["only", "except", "head-only"].contains(spec.name) {
      if let value = options[spec.name] {
        let key = "quant." + spec.name.replacingOccurrences(of: "-", with: "_")
        switch value {
        case .int(let v): module.attributes[key] = .int(Int64(v))
        case .float(let v): module.attributes[key] = .float(v)
        case .bool(let v): module.attributes[key] = .bool(v)
        case .string(let v): module.attributes[key] = .string(v)
        }
      }
    }
    return true
  }
}
