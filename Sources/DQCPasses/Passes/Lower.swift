import DQCIR

/// Lowers a `dq.*` model to `k.*` kernels with static shapes and an activation arena.
///
/// 1. Specialises the token-id input to `[batch, seq-len]` and folds what that makes constant
///    (shape arithmetic, position tables) with `infer-shapes` and `canonicalize`.
/// 2. Translates the graph kernel by kernel (`KernelLowering`): head reshapes and transposes
///    become views, RoPE and quantized linear layers become their kernels.
/// 3. Places every activation in one arena (`ArenaPlanner`); each kernel's `arena` attribute
///    holds its results' byte offsets, the module's `plan.*` attributes the arena size and the
///    shapes it was planned for.
///
/// The module it lowered (after step 1's input, before any change) is kept in the pass context
/// as `loweredFrom`, so a bundle can carry both the interpretable model and its plan.
public struct Lower: ModulePass {
  public static let name = "lower"
  public static let displayName = "Lower"
  public static let summary =
    "Lower dq.* ops to k.* kernels with static shapes and a planned activation arena"
  public static let optionSpecs = [
    PassOptionSpec("seq-len", .int, default: .int(256), "Maximum sequence length the plan serves"),
    PassOptionSpec("batch", .int, default: .int(1), "Batch size (1 today)"),
  ]

  let sequence: Int
  let batch: Int

  public init(options: PassOptions) throws(PassError) {
    sequence = options.int("seq-len")
    batch = options.int("batch")
    guard (1...65536).contains(sequence) else {
      throw .badOption(pass: Self.name, option: "seq-len", column: 0, message: "must be 1 to 65536")
    }
    guard batch == 1 else {
      throw .badOption(
        pass: Self.name, option: "batch", column: 0, message: "only batch 1 is lowered today")
    }
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    context.loweredFrom = module
    var specialised = module
    guard specialised.graph.arguments.count == 1,
      specialised.graph.arguments[0].type.element.scalar?.isInteger == true,
      specialised.graph.arguments[0].type.rank == 2
    else {
      throw .invalidModule(
        pass: Self.name, message: "the graph must take one input, token ids [batch, seq]")
    }
    specialised.graph.arguments[0].type = TensorType(shape: [batch, sequence], .i64)
    var scratch = PassContext()
    let folding = try Pipeline(
      parsing: "infer-shapes,canonicalize{fold-limit=16777216},infer-shapes"
    ).instantiate()
    for pass in folding { _ = try pass.run(on: &specialised, context: &scratch) }

    var lowering = KernelLowering(
      source: specialised, rows: batch * sequence, sequence: sequence, passName: Self.name)
    try lowering.run()
    var graph = lowering.output
    let (offsets, arenaBytes) = planArena(graph)
    for i in graph.instructions.indices where graph.instructions[i].op.dialect == .k {
      let slots = graph.instructions[i].results.map { Attribute.int(Int64(offsets[$0.name] ?? 0)) }
      graph.instructions[i].attributes["arena"] = .array(slots)
    }
    let kernels = graph.instructions.filter { $0.op.dialect == .k }.count
    var attributes = module.attributes
    attributes["plan.seq_len"] = .int(Int64(sequence))
    attributes["plan.batch"] = .int(Int64(batch))
    attributes["plan.arena_bytes"] = .int(Int64(arenaBytes))
    module = Module(
      name: module.name, attributes: attributes, weights: lowering.weights, graph: graph)
    return PassOutcome(
      changed: true, statistics: [("kernels", kernels), ("arena-bytes", arenaBytes)])
  }

  /// Arena offsets for every kernel result.
  func planArena(_ graph: Graph) -> (offsets: [String: Int], size: Int) {
    var lastUse: [String: Int] = [:]
    for (i, inst) in graph.instructions.enumerated() {
      for name in inst.presentOperands { lastUse[name] = i }
    }
    for name in graph.outputs { lastUse[name] = Int.max }
    var requests: [ArenaPlanner.Request] = []
    for (i, inst) in graph.instructions.enumerated() where inst.op.dialect == .k {
      for r in inst.results {
        let bytes = (r.type.elementCount ?? 0) * max(r.type.element.bitWidth / 8, 1)
        requests.append(
          .init(name: r.name, bytes: bytes, defined: i, lastUse: lastUse[r.name] ?? i))
      }
    }
    return ArenaPlanner.plan(requests)
  }
}
