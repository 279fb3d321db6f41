/// Kernel-level ops (`k.*`): what the `lower` pass produces and back ends execute.
///
/// Activations are token-major matrices `[T, F]` (T = batch × sequence rows, F features, f32
/// unless stated); multi-head tensors keep that layout, head `h` in columns `h·Dh ..< (h+1)·Dh`.
/// Shapes are static, sized for the plan's maximum sequence length; back ends may run fewer rows.
/// Each instruction's `arena` attribute gives the byte offset of each result in the activation
/// arena (see docs/runtime.md).
public enum KernelOp: String, Sendable, Hashable, CaseIterable {
  /// Rows of `table [V, D]` picked by `ids [B, S]` (i64): `[T, D]`.
  case embedding
  /// RMS normalisation of each row with scale `[D]`: `{eps}`.
  case rmsNorm = "rms_norm"
  /// Per-row symmetric activation quantization `{bits, group}`: codes `[T, Kp]` (i8, Kp = K
  /// rounded up to 64), scales `[T]` (f32) and code sums per group `[T, K / group]` (i32).
  case quantize
  /// Integer linear layer: codes, scales, sums from `k.quantize`, then the weight's codes
  /// `[N, K]`, scales `[N, G]`, optional zero points `[N, G]` and bias `[N]`: `{group}`.
  case qlinear
  /// Float linear layer `x · Wᵀ (+ b)`, W `[N, K]`.
  case linear
  /// Rotate-half RoPE with tables `cos`, `sin` `[S, Dh]`: `{heads, head_dim}`.
  case rope
  /// Bidirectional attention over q `[T, H·Dh]`, k and v `[T, Hkv·Dh]`, optional static V
  /// scales `[Hkv]`: `{heads, kv_heads, head_dim, scale, qk_bits, p_bits, v_bits}`.
  case attention
  /// `silu(gate) · up`.
  case swiglu
  /// Elementwise sum (residual connections).
  case add

  /// The schema of a kernel op.
  public var schema: OpSchema {
    let arena = OpSchema.AttributeSpec("arena", .array)
    switch self {
    case .embedding:
      return OpSchema(operands: 2...2, attributes: [arena]) { ctx throws(TypeRuleError) in
        let ids = try TypeRules.required(ctx, 0)
        let table = try TypeRules.required(ctx, 1)
        try TypeRules.requireInteger(ids, operand: 0)
        guard let rows = ids.elementCount, let d = table.dims?.last?.value else { return [nil] }
        return [TensorType(shape: [rows, d], table.element)]
      }
    case .rmsNorm:
      return OpSchema(
        operands: 2...2, attributes: [.init("eps", .float, required: true), arena]
      ) { ctx throws(TypeRuleError) in [try TypeRules.required(ctx, 0)] }
    case .quantize:
      return OpSchema(
        operands: 1...1, results: 3...3,
        attributes: [
          .init("bits", .int, required: true), .init("group", .int, required: true), arena,
        ]
      ) { ctx throws(TypeRuleError) in
        let x = try TypeRules.required(ctx, 0)
        guard let shape = x.staticShape, shape.count == 2,
          let group = ctx.attributes["group"]?.intValue, group > 0, shape[1] % Int(group) == 0
        else { return [nil, nil, nil] }
        let padded = (shape[1] + 63) / 64 * 64
        return [
          TensorType(shape: [shape[0], padded], .i8), TensorType(shape: [shape[0]], .f32),
          TensorType(shape: [shape[0], shape[1] / Int(group)], .i32),
        ]
      }
    case .qlinear:
      return OpSchema(
        operands: 5...7, attributes: [.init("group", .int, required: true), arena],
        requiredOperands: 5
      ) { ctx throws(TypeRuleError) in
        guard let rows = ctx.operand(0)?.dims?.first?.value,
          let n = ctx.operand(3)?.dims?.first?.value
        else { return [nil] }
        return [TensorType(shape: [rows, n], .f32)]
      }
    case .linear:
      return OpSchema(operands: 2...3, attributes: [arena]) { ctx throws(TypeRuleError) in
        let x = try TypeRules.required(ctx, 0)
        guard let rows = x.dims?.first?.value, let n = ctx.operand(1)?.dims?.first?.value else {
          return [nil]
        }
        return [TensorType(shape: [rows, n], x.element)]
      }
    case .rope:
      return OpSchema(
        operands: 3...3,
        attributes: [
          .init("heads", .int, required: true), .init("head_dim", .int, required: true), arena,
        ]
      ) { ctx throws(TypeRuleError) in [try TypeRules.required(ctx, 0)] }
    case .attention:
      return OpSchema(
        operands: 3...4,
        attributes: [
          .init("heads", .int, required: true), .init("kv_heads", .int, required: true),
          .init("head_dim", .int, required: true), .init("scale", .float, required: true),
          .init("qk_bits", .int), .init("p_bits", .int), .init("v_bits", .int), arena,
        ], requiredOperands: 3
      ) { ctx throws(TypeRuleError) in [try TypeRules.required(ctx, 0)] }
    case .swiglu, .add:
      return OpSchema(operands: 2...2, attributes: [arena]) { ctx throws(TypeRuleError) in
        try TypeRules.elementwise(ctx, operands: [0, 1])
      }
    }
  }
}
