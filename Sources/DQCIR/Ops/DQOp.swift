/// Model-level ops (`dq.*`): the vocabulary the quantization passes reason about.
public enum DQOp: String, Sendable, Hashable, CaseIterable {
  /// Materialises a weight of the module's weight store: `{name = @symbol}`.
  case weight
  /// `y = x · Wᵀ (+ b)`: x `[..., K]`, W `[N, K]` (PyTorch layout), optional b `[N]`.
  case linear
  /// Row lookup: ids `[...]` (integer) into table `[V, D]` gives `[..., D]`.
  case embedding
  /// RMS normalisation over the last axis with a learned scale `[D]`: `{eps}`.
  case rmsNorm = "rms_norm"
  /// Rotary position embedding (rotate-half) on `[B, H, T, Dh]`: `{theta}`.
  case rope
  /// Scaled dot-product attention: q `[B, H, T, Dh]`, k and v `[B, Hkv, S, Dh]`, optional
  /// additive or boolean mask broadcastable to `[B, H, T, S]` (or `none`), optional static V
  /// scales `[Hkv]`: `{scale, causal, qk_bits, p_bits, v_bits}` (the `_bits` attributes quantize
  /// the attention matmuls' operands; see docs/quantization.md).
  case attention
  /// `silu(gate) * up`, elementwise.
  case swiglu
  /// Float to quantized: x, scale, optional zero point; the result type carries the granularity.
  case quantize
  /// Quantized to float: x, scale, optional zero point; the result has the expressed type.
  case dequantize
  /// Linear layer over a quantized weight: x, W (quantized `[N, K]`), scales, optional zero
  /// points (absent for symmetric types), optional bias; `{act_bits}` quantizes x per token,
  /// symmetric, before the integer product.
  case qlinear
}

extension DQOp {
  /// The op's schema.
  public var schema: OpSchema {
    switch self {
    case .weight:
      OpSchema(operands: 0...0, attributes: [.init("name", .symbol, required: true)]) { _ in [nil] }
    case .linear:
      OpSchema(operands: 2...3, attributes: [.init("source", .string)]) {
        ctx throws(TypeRuleError) in try DQShapes.linear(ctx, weightElement: nil)
      }
    case .qlinear:
      OpSchema(operands: 3...5, attributes: [.init("act_bits", .int)], requiredOperands: 3) {
        ctx throws(TypeRuleError) in
        try DQShapes.qlinear(ctx)
      }
    case .embedding:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in try DQShapes.embedding(ctx) }
    case .rmsNorm:
      OpSchema(operands: 2...2, attributes: [.init("eps", .float, required: true)]) {
        ctx throws(TypeRuleError) in try DQShapes.rmsNorm(ctx)
      }
    case .rope:
      OpSchema(operands: 1...2, attributes: [.init("theta", .float, required: true)]) {
        ctx throws(TypeRuleError) in try DQShapes.rope(ctx)
      }
    case .attention:
      OpSchema(
        operands: 3...5,
        attributes: [
          .init("scale", .float), .init("causal", .bool), .init("qk_bits", .int),
          .init("p_bits", .int),
          .init("v_bits", .int),
        ]
      ) { ctx throws(TypeRuleError) in try DQShapes.attention(ctx) }
    case .swiglu:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in
        let gate = try TypeRules.required(ctx, 0)
        try TypeRules.requireFloat(gate, operand: 0)
        return try TypeRules.elementwise(ctx, operands: [0, 1])
      }
    case .quantize:
      OpSchema(operands: 2...3) { ctx throws(TypeRuleError) in try DQShapes.quantize(ctx) }
    case .dequantize:
      OpSchema(operands: 2...3) { ctx throws(TypeRuleError) in try DQShapes.dequantize(ctx) }
    }
  }
}
