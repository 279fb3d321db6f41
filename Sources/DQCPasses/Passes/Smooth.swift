import DQCIR
import DQCInterp
import Foundation

/// SmoothQuant-style migration of activation outliers into the weights (`smooth`), exact in
/// float arithmetic up to rounding.
///
/// A linear input `X` whose producer can absorb a per-channel scale is divided by `s` and the
/// consuming weights' columns multiplied by it, so `(X / s)(W · s)ᵀ = X Wᵀ`, with
/// `s_j = max|X_j|^α / max_i |W_ij|^(1−α)` over the calibration set's tokens and every
/// consumer's weight rows (SmoothQuant's rule; `α` moves quantization difficulty from the
/// activations to the weights). The producers it folds into:
/// - `dq.rms_norm(x, γ)` feeding float linears (q/k/v, gate/up): `γ_j / s_j`;
/// - `dq.swiglu(gate, up)` feeding a float linear (the MLP's down projection), when `up` is a
///   float linear read only there: `silu(g) · (u / s)` needs `up`'s weight rows divided by `s`.
/// Other readers of the smoothed value must only read its shape (`onnx.Shape`); anything else
/// leaves that input alone. Channels never seen non-zero keep `s = 1`.
/// Statistics come from one run of the (float) module per calibration sequence, before any
/// change, which is valid for every fold because each leaves the module's function unchanged.
/// Each folded producer records `prec.smooth_alpha`; the module records `prec.smooth_alpha` and
/// `prec.smoothed_inputs`.
public struct Smooth: ModulePass {
  public static let name = "smooth"
  public static let displayName = "Smooth"
  public static let summary =
    "Migrate activation outliers into the weights (SmoothQuant) before quantization"
  public static let optionSpecs = [
    PassOptionSpec("alpha", .float, default: .float(0.85), "Migration strength α, 0 to 1"),
    PassOptionSpec(
      "fold-swiglu", .bool, default: .bool(true),
      "Also smooth the down projection's input through the SwiGLU's up projection"),
    PassOptionSpec(
      "quantize-head", .bool, default: .bool(false),
      "Also smooth the head's input (for a quantized head)"),
  ]

  let alpha: Double
  let foldSwiGLU: Bool
  let includeHead: Bool

  public init(options: PassOptions) throws(PassError) {
    alpha = options.float("alpha")
    guard (0...1).contains(alpha) else {
      throw .badOption(
        pass: Self.name, option: "alpha", column: 0, message: "must be between 0 and 1, is \(alpha)"
      )
    }
    foldSwiGLU = options.bool("fold-swiglu")
    includeHead = options.bool("quantize-head")
  }

  /// Where a smoothing scale goes on the producer's side.
  enum Fold {
    /// Divide the norm's weight (symbol) by `s`.
    case normWeight(String)
    /// Divide the rows of the up projection's weight (symbol) by `s`.
    case upRows(String)
  }

  /// One smoothed value: its producer's fold and the linears reading it.
  struct Site {
    var value: String
    var producer: Int
    var fold: Fold
    /// The consuming linears' weight symbols.
    var consumers: [String]
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    guard let calibration = context.calibration, !calibration.samples.isEmpty else {
      throw .invalidModule(
        pass: Self.name,
        message: "no calibration set: run tmas, calib-random-mask or calib-clean before smooth")
    }
    let sites = findSites(module)
    guard !sites.isEmpty else {
      return PassOutcome(changed: false, statistics: [("inputs-smoothed", 0)])
    }
    let maxima = try inputMaxima(module, sites: sites, calibration: calibration)
    for site in sites {
      guard let xmax = maxima[site.value] else { continue }
      var consumers: [(Weight, [Double])] = []
      for name in site.consumers {
        // Read now: an earlier site may have changed this weight.
        guard let weight = module.weights[name] else { continue }
        consumers.append((weight, try load(weight)))
      }
      let k = xmax.count
      var wmax = [Double](repeating: 0, count: k)
      for (_, values) in consumers {
        for (i, v) in values.enumerated() { wmax[i % k] = max(wmax[i % k], abs(v)) }
      }
      let scales = (0..<k).map { j in Self.scale(xmax: xmax[j], wmax: wmax[j], alpha: alpha) }
      for (weight, values) in consumers {
        let scaled = values.enumerated().map { i, v in v * scales[i % k] }
        try store(scaled, as: weight, in: &module)
      }
      switch site.fold {
      case .normWeight(let symbol):
        guard let gamma = module.weights[symbol] else { continue }
        let values = try load(gamma)
        try store(values.enumerated().map { $1 / scales[$0 % k] }, as: gamma, in: &module)
      case .upRows(let symbol):
        guard let up = module.weights[symbol] else { continue }
        let values = try load(up)
        let columns = values.count / k
        try store(
          values.enumerated().map { $1 / scales[$0 / columns] }, as: up, in: &module)
      }
      module.graph.instructions[site.producer].attributes["prec.smooth_alpha"] = .float(alpha)
    }
    module.attributes["prec.smooth_alpha"] = .float(alpha)
    module.attributes["prec.smoothed_inputs"] = .int(Int64(sites.count))
    return PassOutcome(changed: true, statistics: [("inputs-smoothed", sites.count)])
  }

  /// `max|x|^α / max|w|^(1−α)`, 1 for a channel never seen non-zero, kept within [1e-5, 1e5].
  static func scale(xmax: Double, wmax: Double, alpha: Double) -> Double {
    guard xmax > 0, wmax > 0 else { return 1 }
    let s = pow(xmax, alpha) / pow(wmax, 1 - alpha)
    return min(max(s, 1e-5), 1e5)
  }

  /// The values the pass can smooth, in graph order.
  func findSites(_ module: Module) -> [Site] {
    let instructions = module.graph.instructions
    var producer: [String: Int] = [:]
    var readers: [String: [Int]] = [:]
    for (i, inst) in instructions.enumerated() {
      for r in inst.results { producer[r.name] = i }
      for case let operand? in inst.operands { readers[operand, default: []].append(i) }
    }
    let outputs = Set(module.graph.outputs)
    let candidates = Dictionary(
      QuantizedLinearRewriter.candidates(module, head: includeHead ? .include : .exclude).map {
        ($0.index, $0.weight)
      }, uniquingKeysWith: { a, _ in a })
    var symbolReaders: [String: Int] = [:]
    for inst in instructions {
      if let symbol = inst.weightSymbol { symbolReaders[symbol, default: 0] += 1 }
    }
    /// The weight symbol behind `value` when only one instruction reads the value and one
    /// `dq.weight` reads the symbol (so changing it changes nothing else).
    func privateWeight(_ value: String?) -> String? {
      guard let value, readers[value]?.count == 1, !outputs.contains(value),
        let p = producer[value], let symbol = instructions[p].weightSymbol,
        symbolReaders[symbol] == 1, module.weights[symbol]?.type.element == .f32
      else { return nil }
      return symbol
    }
    /// The candidate linears reading `value` as their input, when every other reader reads
    /// only its shape and each linear's weight is private to it.
    func consumers(of value: String) -> [String]? {
      guard !outputs.contains(value) else { return nil }
      var weights: [String] = []
      for r in readers[value] ?? [] {
        let inst = instructions[r]
        if inst.op == .onnx(.shape) { continue }
        guard inst.operands.first == value, let weight = candidates[r],
          inst.operands.dropFirst().allSatisfy({ $0 != value }),
          privateWeight(inst.operands[1]) == weight.name
        else { return nil }
        weights.append(weight.name)
      }
      return weights.isEmpty ? nil : weights
    }

    var sites: [Site] = []
    for (i, inst) in instructions.enumerated() {
      let value = inst.result.name
      switch inst.op {
      case .dq(.rmsNorm):
        guard inst.operands.count >= 2, let gamma = privateWeight(inst.operands[1]),
          module.weights[gamma]?.type.rank == 1, let weights = consumers(of: value)
        else { continue }
        sites.append(Site(value: value, producer: i, fold: .normWeight(gamma), consumers: weights))
      case .dq(.swiglu) where foldSwiGLU:
        guard inst.operands.count == 2, let up = inst.operands[1], inst.operands[0] != up,
          readers[up]?.count == 1, let p = producer[up], instructions[p].op == .dq(.linear),
          instructions[p].operands.count == 2, let upWeight = candidates[p],
          privateWeight(instructions[p].operands[1]) == upWeight.name,
          let weights = consumers(of: value)
        else { continue }
        sites.append(
          Site(value: value, producer: i, fold: .upRows(upWeight.name), consumers: weights))
      default:
        continue
      }
    }
    return sites
  }

  /// Per smoothed value, the largest |x| of each channel over every calibration token.
  func inputMaxima(_ module: Module, sites: [Site], calibration: CalibrationSet)
    throws(PassError) -> [String: [Double]]
  {
    let runner = try ModelRunner(module: module, maskID: 0, pass: Self.name)
    let wanted = Set(sites.map(\.value))
    var maxima: [String: [Double]] = [:]
    for sample in calibration.samples {
      do {
        let selected: (Instruction) -> Bool = { inst in
          inst.results.contains { wanted.contains($0.name) }
        }
        let collect: (TapEvent) -> Void = { event in
          guard event.point == .results, let x = event.tensors.first,
            let k = x.shape.last, k > 0
          else { return }
          let name = event.instruction.result.name
          var m = maxima[name] ?? [Double](repeating: 0, count: k)
          let values = x.floats
          for (i, v) in values.enumerated() { m[i % k] = max(m[i % k], Double(abs(v))) }
          maxima[name] = m
        }
        _ = try runner.interpreter.run(
          [runner.input: Tensor(shape: [1, sample.tokens.count], ints: sample.tokens)],
          tapFilter: selected, tap: collect)
      } catch {
        throw .invalidModule(pass: Self.name, message: "calibration run failed: \(error)")
      }
    }
    return maxima
  }

  func load(_ weight: Weight) throws(PassError) -> [Double] {
    do {
      return try weight.loadTensor().doubles
    } catch {
      throw .invalidModule(pass: Self.name, message: error.description)
    }
  }

  /// Replaces `weight`'s values (same name, type and shape), rounded to f32.
  func store(_ values: [Double], as weight: Weight, in module: inout Module) throws(PassError) {
    guard let shape = weight.type.staticShape else {
      throw .invalidModule(pass: Self.name, message: "weight @\(weight.name) has no static shape")
    }
    module.weights.insert(
      Weight(
        name: weight.name,
        tensor: DenseTensor(shape: shape, element: .f32, floats: values)))
  }
}
