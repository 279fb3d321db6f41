import DQCIR

/// Simplifies the graph to a canonical form.
///
/// It repeats these rewrites until nothing changes:
///
/// - constants: `onnx.Constant` and every instruction whose operands are all constant (or that
///   only needs a static operand shape, like `Shape`) become `dq.weight` reads of new weights;
/// - no-ops: `Identity`, inference `Dropout`, `Cast` to the same type, identity `Transpose`,
///   `Reshape`/`Expand` to the operand's own shape, single-operand `Concat`, and `x + 0`,
///   `x - 0`, `x * 1`, `x / 1` that do not broadcast;
/// - chains: `Transpose(Transpose(x))` composes its permutations and `Reshape(Reshape(x))`
///   reshapes `x` directly;
/// - instructions left without users are erased, and so are the weights this run created that
///   nothing reads any more (other weights stay; `dce{aggressive=true}` drops them).
public struct Canonicalize: ModulePass {
  public static let name = "canonicalize"
  public static let displayName = "Canonicalize"
  public static let summary = "Fold constants, remove no-ops, simplify reshape/transpose chains"
  public static let optionSpecs = [
    PassOptionSpec(
      "fold-limit", .int, default: .int(65536),
      "Largest result (in elements) folded into a new weight"),
    PassOptionSpec(
      "max-iterations", .int, default: .int(10), "Rounds of rewriting before giving up"),
  ]

  let foldLimit: Int
  let maxIterations: Int

  public init(options: PassOptions) throws(PassError) {
    foldLimit = options.int("fold-limit")
    maxIterations = options.int("max-iterations")
    guard foldLimit >= 0 else {
      throw .badOption(
        pass: Self.name, option: "fold-limit", column: 0, message: "must not be negative")
    }
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    var stats = Statistics()
    var created = Set<String>()
    var round = 0
    while round < max(maxIterations, 1) {
      round += 1
      var rewriter = Rewriter(module: module, folder: ConstantFolder(elementLimit: foldLimit))
      rewriter.rewriteAll()
      let erased = rewriter.eraseDeadInstructions()
      stats.add(rewriter.stats)
      created.formUnion(rewriter.createdWeights)
      stats.erased += erased
      let changed = rewriter.changed || erased > 0
      module = rewriter.module
      if !changed { break }
    }
    let referenced = Set(module.graph.instructions.compactMap(\.weightSymbol))
    for name in created.sorted() where !referenced.contains(name) { module.weights.remove(name) }
    return PassOutcome(
      changed: stats.total > 0,
      statistics: [
        ("constants-folded", stats.folded), ("no-ops-removed", stats.forwarded),
        ("chains-simplified", stats.chains), ("instructions-erased", stats.erased),
      ])
  }

  struct Statistics {
    var folded = 0
    var forwarded = 0
    var chains = 0
    var erased = 0
    var total: Int { folded + forwarded + chains + erased }

    mutating func add(_ other: Statistics) {
      folded += other.folded
      forwarded += other.forwarded
      chains += other.chains
    }
  }
}

/// One round of canonicalization over a module.
struct Rewriter {
  var module: Module
  let folder: ConstantFolder
  var stats = Canonicalize.Statistics()
  var changed = false
  var constants = ConstantValues()
  var types: [String: TensorType] = [:]
  var replacements: [String: String] = [:]
  var definitions: [String: Instruction] = [:]
  var createdWeights: [String] = []

  init(module: Module, folder: ConstantFolder) {
    self.module = module
    self.folder = folder
  }

  mutating func rewriteAll() {
    let uses = module.graph.useCounts()
    for arg in module.graph.arguments { types[arg.name] = arg.type }
    var out: [Instruction] = []
    for var inst in module.graph.instructions {
      inst.operands = inst.operands.map { $0.map(resolve) }
      refineTypes(&inst)
      if let forwarded = noOpOperand(inst) {
        replacements[inst.result.name] = forwarded
        stats.forwarded += 1
        changed = true
        continue
      }
      if simplifyChain(&inst) {
        stats.chains += 1
        changed = true
        refineTypes(&inst)
      }
      let used = inst.results.contains { uses[$0.name, default: 0] > 0 }
      if used, inst.op != .dq(.weight), let folded = fold(inst) {
        inst = folded
        stats.folded += 1
        changed = true
      }
      for r in inst.results {
        types[r.name] = r.type
        definitions[r.name] = inst
      }
      constants.record(inst, weights: module.weights, limit: 4096)
      out.append(inst)
    }
    module.graph.instructions = out
    module.graph.replaceUses(replacements)
  }

  func resolve(_ name: String) -> String {
    var current = name
    while let next = replacements[current] { current = next }
    return current
  }

  /// Refines result types with what the type rule infers now that more is constant.
  mutating func refineTypes(_ inst: inout Instruction) {
    let ctx = TypeRuleContext(
      operands: inst.operands.map { $0.flatMap { types[$0] } }, attributes: inst.attributes,
      resultCount: inst.results.count, constants: inst.operands.map { constants[$0] })
    guard let inferred = try? inst.op.schema.typeRule(ctx) else { return }
    for (i, t) in inferred.enumerated() where i < inst.results.count {
      if let t, inst.results[i].type.isCompatible(with: t) {
        inst.results[i].type = inst.results[i].type.refined(by: t)
      }
    }
  }

  /// The operand an instruction passes through unchanged, if it is a no-op.
  func noOpOperand(_ inst: Instruction) -> String? {
    guard case .onnx(let op) = inst.op, let x = inst.operands.first ?? nil,
      let xType = types[x]
    else { return nil }
    let sameType = xType == inst.result.type && xType.staticShape != nil
    switch op {
    case .identity:
      return x
    case .dropout where inst.results.count == 1:
      return x
    case .cast, .castLike:
      return xType.element == inst.result.type.element && xType.dims == inst.result.type.dims
        ? x : nil
    case .transpose:
      guard let rank = xType.rank, let perm = inst.attributes["perm"]?.intArray else {
        return xType.rank == 1 ? x : nil
      }
      return perm == (0..<Int64(rank)).map({ $0 }) ? x : nil
    case .reshape, .expand:
      return sameType ? x : nil
    case .concat:
      return inst.operands.count == 1 ? x : nil
    case .add, .sub, .mul, .div:
      guard inst.operands.count == 2, let rhs = inst.operands[1] else { return nil }
      let neutral: Double = (op == .add || op == .sub) ? 0 : 1
      if isSplat(rhs, neutral), types[x] == inst.result.type { return x }
      if op == .add || op == .mul, isSplat(x, neutral), types[rhs] == inst.result.type {
        return rhs
      }
      return nil
    default:
      return nil
    }
  }

  func isSplat(_ name: String, _ value: Double) -> Bool {
    guard let c = constants[name], c.count > 0 else { return false }
    return c.doubles.allSatisfy { $0 == value }
  }

  /// Rewrites `Transpose(Transpose(x))` and `Reshape(Reshape(x))` to read `x` directly.
  mutating func simplifyChain(_ inst: inout Instruction) -> Bool {
    guard let producerName = inst.operands.first ?? nil, let producer = definitions[producerName],
      producer.op == inst.op, let inner = producer.operands.first ?? nil
    else { return false }
    switch inst.op {
    case .onnx(.transpose):
      guard let rank = types[inner]?.rank else { return false }
      let identity = (0..<Int64(rank)).map { $0 }
      let first = producer.attributes["perm"]?.intArray ?? identity.reversed()
      let second = inst.attributes["perm"]?.intArray ?? identity.reversed()
      guard first.count == rank, second.count == rank else { return false }
      inst.attributes["perm"] = .array(second.map { .int(first[Int($0)]) })
      inst.operands[0] = inner
      return true
    case .onnx(.reshape):
      let allowZero = (inst.attributes["allowzero"]?.intValue ?? 0) != 0
      guard let shape = constants[inst.operands[1]]?.int64s, allowZero || !shape.contains(0)
      else { return false }
      inst.operands[0] = inner
      return true
    default:
      return false
    }
  }

  /// The `dq.weight` instruction replacing `inst` when all it needs is constant.
  mutating func fold(_ inst: Instruction) -> Instruction? {
    let operandValues = inst.operands.map { constants[$0] }
    let operandTypes = inst.operands.map { $0.flatMap { types[$0] } }
    guard let results = folder.fold(inst, operands: operandValues, operandTypes: operandTypes),
      results.count == 1, let folded = results.first
    else { return nil }
    guard inst.result.type.isCompatible(with: folded.type) else { return nil }
    let symbol = module.weights.freshName(inst.result.name)
    module.weights.insert(Weight(name: symbol, tensor: folded))
    createdWeights.append(symbol)
    return Instruction(
      .dq(.weight), operands: [], results: [Value(inst.result.name, folded.type)],
      attributes: AttributeDictionary([("name", .symbol(symbol))]), location: inst.location,
      sourcePosition: inst.sourcePosition)
  }

  /// Erases pure instructions whose results nobody uses; returns how many.
  mutating func eraseDeadInstructions() -> Int { module.graph.eraseDeadInstructions() }
}
