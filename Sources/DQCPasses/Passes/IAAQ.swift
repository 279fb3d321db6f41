import DQCIR
import DQCInterp

/// IA-AQ (interaction-aware activation quantization) for the attention matmuls.
///
/// Q and K are quantized per token and head, P per row with scale `1 / (2^bits − 1)`, and V per
/// key/value head with a static scale chosen on the calibration set: among `α · ŝ` with
/// `ŝ = max|V| / (2^(bits−1) − 1)`, the one minimising `Σ ‖P (Ṽ − V)‖²_F` (the error weighted by
/// how much attention each value receives). Attention layers are done in graph order, each
/// calibrated with the earlier ones already quantized. The chosen α per head is recorded on the
/// instruction as `prec.v_alpha`.
public struct IAAQ: ModulePass {
  public static let name = "ia-aq"
  public static let displayName = "IAAQ"
  public static let summary =
    "Quantize attention matmuls; choose V scales by attention-weighted error"
  public static let optionSpecs = [
    PassOptionSpec("bits", .int, default: .int(8), "Bits for Q, K, V and P (2 to 8)"),
    PassOptionSpec(
      "alphas", .string, default: .string("1.0,0.8"), "Candidate scale factors (the paper's)"),
    PassOptionSpec("grid", .bool, default: .bool(false), "Use α = 1.0, 0.95, …, 0.5 instead"),
  ]

  let bits: Int
  let alphas: [Double]

  public init(options: PassOptions) throws(PassError) {
    bits = options.int("bits")
    guard (2...8).contains(bits) else {
      throw .badOption(
        pass: Self.name, option: "bits", column: 0, message: "must be 2 to 8, is \(bits)")
    }
    if options.bool("grid") {
      alphas = (0...10).map { 1.0 - 0.05 * Double($0) }
    } else {
      alphas = options.string("alphas").split(separator: ",").compactMap { Double($0) }
    }
    guard !alphas.isEmpty, alphas.allSatisfy({ $0 > 0 }) else {
      throw .badOption(
        pass: Self.name, option: "alphas", column: 0,
        message: "expected positive numbers such as 1.0,0.8")
    }
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    guard let calibration = context.calibration, !calibration.samples.isEmpty else {
      throw .invalidModule(
        pass: Self.name,
        message: "no calibration set: run tmas, calib-random-mask or calib-clean first")
    }
    var done = 0
    let names = module.graph.instructions.filter {
      $0.op == .dq(.attention) && $0.attributes["v_bits"] == nil
    }
    .map(\.result.name)
    for name in names {
      guard let index = module.graph.instructions.firstIndex(where: { $0.result.name == name })
      else { continue }
      let (scales, chosen) = try chooseScales(module, attention: name, calibration: calibration)
      var inst = module.graph.instructions[index]
      let symbol = module.weights.freshName(name + ".v_scales")
      module.weights.insert(
        Weight(
          name: symbol, tensor: DenseTensor(shape: [scales.count], element: .f32, floats: scales)))
      let read = Instruction(
        .dq(.weight), operands: [],
        results: [Value(symbol, TensorType(shape: [scales.count], .f32))],
        attributes: AttributeDictionary([("name", .symbol(symbol))]))
      while inst.operands.count < 4 { inst.operands.append(nil) }
      inst.operands.append(symbol)
      for key in ["qk_bits", "p_bits", "v_bits"] { inst.attributes[key] = .int(Int64(bits)) }
      inst.attributes["prec.v_alpha"] = .array(chosen.map { .float($0) })
      module.graph.instructions[index] = inst
      module.graph.instructions.insert(read, at: index)
      done += 1
    }
    module.attributes["prec.attention_bits"] = .int(Int64(bits))
    module.attributes["prec.v_alphas"] = .string(alphas.map { String($0) }.joined(separator: ","))
    return PassOutcome(changed: done > 0, statistics: [("attentions-quantized", done)])
  }

  /// Per key/value head: the chosen V scale and its α.
  func chooseScales(_ module: Module, attention: String, calibration: CalibrationSet)
    throws(PassError)
    -> ([Double], [Double])
  {
    let runner = try ModelRunner(module: module, maskID: 0, pass: Self.name)
    let qmax = Double((1 << (bits - 1)) - 1)
    // Per sample: V [Hkv][S·Dv] and P [H][T·S], with the shapes.
    var captures: [(v: [Float], p: [Float], heads: Int, kvHeads: Int, t: Int, s: Int, dv: Int)] = []
    for sample in calibration.samples {
      var v: [Float] = []
      var vShape: [Int] = []
      var p: [Float] = []
      var pShape: [Int] = []
      let selected: (Instruction) -> Bool = { $0.result.name == attention }
      let observe: (TapEvent) -> Void = { event in
        switch event.point {
        case .operands where event.tensors.count >= 3:
          v = event.tensors[2].floats
          vShape = event.tensors[2].shape
        case .attentionProbabilities:
          p = event.tensors[0].floats
          pShape = event.tensors[0].shape
        default:
          break
        }
      }
      do {
        _ = try runner.interpreter.run(
          [runner.input: Tensor(shape: [1, sample.tokens.count], ints: sample.tokens)],
          tapFilter: selected, tap: observe)
      } catch {
        throw .invalidModule(pass: Self.name, message: "calibration run failed: \(error)")
      }
      guard vShape.count == 4, pShape.count == 4 else { continue }
      captures.append((v, p, pShape[1], vShape[1], pShape[2], pShape[3], vShape[3]))
    }
    guard let first = captures.first else {
      throw .invalidModule(pass: Self.name, message: "attention %\(attention) was not reached")
    }
    let kvHeads = first.kvHeads
    var scales: [Double] = []
    var chosen: [Double] = []
    for head in 0..<kvHeads {
      var amax = 0.0
      for c in captures {
        let per = c.s * c.dv
        for i in (head * per)..<((head + 1) * per) { amax = max(amax, Double(abs(c.v[i]))) }
      }
      let base = amax > 0 ? amax / qmax : 1
      var best = (error: Double.infinity, alpha: 1.0)
      for alpha in alphas {
        let scale = base * alpha
        var error = 0.0
        for c in captures {
          let group = c.heads / c.kvHeads
          let per = c.s * c.dv
          let diff = (0..<per).map { i -> Double in
            let x = Double(c.v[head * per + i])
            return min(max((x / scale).rounded(.toNearestOrEven), -qmax), qmax) * scale - x
          }
          for qh in (head * group)..<((head + 1) * group) {
            let pBase = qh * c.t * c.s
            for row in 0..<c.t {
              for col in 0..<c.dv {
                var e = 0.0
                for j in 0..<c.s { e += Double(c.p[pBase + row * c.s + j]) * diff[j * c.dv + col] }
                error += e * e
              }
            }
          }
        }
        if error < best.error { best = (error, alpha) }
      }
      scales.append(base * best.alpha)
      chosen.append(best.alpha)
    }
    return (scales, chosen)
  }
}
