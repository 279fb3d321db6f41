import DQCIR

/// Raises the subgraphs PyTorch's exporters emit for LLaMA/LLaDA/Dream blocks to `dq.*` ops.
///
/// It produces `dq.embedding`, `dq.linear` (constant weight, optional bias), `dq.rms_norm`,
/// `dq.swiglu` and `dq.attention`. Anything not recognised stays as it is; instructions left
/// without users are erased.
///
/// Weights of `MatMul` are stored `[in, out]` by the exporters; `dq.linear` takes PyTorch's
/// `[out, in]`, so the pass writes a transposed copy (named after the node, such as
/// `model.blocks.0.q_proj.weight`) unless the graph already transposes a `[out, in]` weight.
public struct Raise: ModulePass {
  public static let name = "raise"
  public static let displayName = "Raise"
  public static let summary = "Raise exported ONNX subgraphs to dq.* model ops"

  public init(options: PassOptions) throws(PassError) {}

  typealias Pattern = @Sendable (Instruction, PatternContext) -> Replacement?

  static let patterns: [(String, Pattern)] = [
    ("embedding", RaisePatterns.embedding),
    ("linear", RaisePatterns.linear),
    ("linear-bias", RaisePatterns.linearBias),
    ("rms-norm", RaisePatterns.rmsNorm),
    ("swiglu", RaisePatterns.swiglu),
    ("attention", RaisePatterns.attention),
  ]

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    var ctx = PatternContext(module: module)
    var counts = Array(repeating: 0, count: Self.patterns.count)
    var out: [Instruction] = []
    for inst in module.graph.instructions {
      var replaced = false
      for (i, (_, pattern)) in Self.patterns.enumerated() {
        guard let replacement = pattern(inst, ctx) else { continue }
        for w in replacement.newWeights {
          module.weights.insert(w)
          ctx.weights.insert(w)
        }
        for r in replacement.instructions {
          out.append(r)
          ctx.record(r)
        }
        counts[i] += 1
        replaced = true
        break
      }
      if !replaced {
        out.append(inst)
        ctx.record(inst)
      }
    }
    module.graph.instructions = out
    let erased = module.graph.eraseDeadInstructions()
    let referenced = Set(module.graph.instructions.compactMap(\.weightSymbol))
    var dropped = 0
    for name in module.weights.names where !referenced.contains(name) {
      module.weights.remove(name)
      dropped += 1
    }
    let stats = zip(Self.patterns, counts).map { ("\($0.0)-raised", $1) }
    return PassOutcome(
      changed: counts.reduce(0, +) > 0,
      statistics: stats + [("instructions-erased", erased), ("weights-dropped", dropped)])
  }
}
