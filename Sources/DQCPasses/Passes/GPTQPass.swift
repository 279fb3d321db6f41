import DQCIR

/// Standard GPTQ on the calibration set: every calibration token weighs the same.
public struct GPTQPass: ModulePass {
  public static let name = "gptq"
  public static let displayName = "GPTQ"
  public static let summary =
    "Quantize linear weights with GPTQ (unweighted Hessian) on the calibration set"
  public static let optionSpecs = HessianQuantizationOptions.common
  let options: PassOptions
  let implementation: HessianQuantization

  public init(options: PassOptions) throws(PassError) {
    self.options = options
    implementation = try HessianQuantizationOptions.make(
      options, pass: Self.name, weighting: .uniform)
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let outcome = try implementation.run(on: &module, context: context)
    HessianQuantizationOptions.record(
      &module, method: Self.name, options: options, changed: outcome.changed)
    return outcome
  }
}

/// CGQ (certainty-guided quantization): GPTQ with the Hessian reweighted per token,
/// `H = Σ_t w_t² x_t x_tᵀ`, `w_t = m_t + sqrt(confidence_t)` with `m_t` = `masked-weight` for a
/// masked token and `decoded-weight` for a decoded one (DLLMQuant; defaults 1.0 and 0.7).
public struct CGQ: ModulePass {
  public static let name = "cgq"
  public static let displayName = "CGQ"
  public static let summary = "GPTQ with the certainty-weighted Hessian of DLLMQuant"
  public static let optionSpecs =
    HessianQuantizationOptions.common + [
      PassOptionSpec("masked-weight", .float, default: .float(1.0), "m for masked tokens"),
      PassOptionSpec("decoded-weight", .float, default: .float(0.7), "m for decoded tokens"),
    ]
  let options: PassOptions
  let implementation: HessianQuantization

  public init(options: PassOptions) throws(PassError) {
    self.options = options
    implementation = try HessianQuantizationOptions.make(
      options, pass: Self.name,
      weighting: .certainty(
        masked: options.float("masked-weight"), decoded: options.float("decoded-weight")))
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let outcome = try implementation.run(on: &module, context: context)
    guard
      HessianQuantizationOptions.record(
        &module, method: Self.name, options: options, changed: outcome.changed)
    else { return outcome }
    module.attributes["quant.masked_weight"] = .float(options.float("masked-weight"))
    module.attributes["quant.decoded_weight"] = .float(options.float("decoded-weight"))
    return outcome
  }
}
