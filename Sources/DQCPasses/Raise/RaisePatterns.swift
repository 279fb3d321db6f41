import DQCIR

/// The subgraph patterns `raise` recognises.
///
/// Each takes the anchor (the last instruction of the subgraph) and returns the instructions
/// replacing it, or nil when the anchor does not match.
/// Intermediate values keep their other users; whatever becomes unused is erased afterwards.
enum RaisePatterns {
  /// `Gather(table, ids, axis = 0)` on a constant 2-D table → `dq.embedding(ids, table)`.
  static func embedding(_ inst: Instruction, _ ctx: PatternContext) -> Replacement? {
    guard inst.op == .onnx(.gather), (inst.attributes["axis"]?.intValue ?? 0) == 0,
      let table = inst.operands.first ?? nil, let ids = inst.operands[1],
      let weight = ctx.weight(table), weight.type.rank == 2,
      ctx.types[ids]?.element.scalar?.isInteger == true
    else { return nil }
    return Replacement(instructions: [
      Instruction(
        .dq(.embedding), operands: [ids, table], results: inst.results, location: inst.location)
    ])
  }

  /// `MatMul(x, W)` with a constant 2-D `W` `[K, N]` → `dq.linear(x, Wᵀ)`; a `Transpose` of a
  /// constant `[N, K]` weight is used as it is.
  static func linear(_ inst: Instruction, _ ctx: PatternContext) -> Replacement? {
    guard inst.op == .onnx(.matMul), let x = inst.operands[0], let w = inst.operands[1],
      let xType = ctx.types[x], let xRank = xType.rank, xRank >= 2, xType.element == .f32
    else { return nil }
    if let transpose = ctx.producer(w, .onnx(.transpose)), let source = transpose.operands[0],
      let weight = ctx.weight(source), weight.type.rank == 2,
      transpose.attributes["perm"]?.intArray ?? [1, 0] == [1, 0]
    {
      return Replacement(instructions: [
        Instruction(
          .dq(.linear), operands: [x, source], results: inst.results, location: inst.location)
      ])
    }
    guard let weight = ctx.weight(w), weight.type.rank == 2, weight.type.element == .f32,
      let bytes = try? weight.loadBytes(), let shape = weight.type.staticShape
    else { return nil }
    let (k, n) = (shape[0], shape[1])
    // Transposed as 4-byte words: the f32 bit patterns move unchanged.
    var transposed = [UInt8](repeating: 0, count: bytes.count)
    bytes.withUnsafeBytes { source in
      transposed.withUnsafeMutableBytes { target in
        let from = source.bindMemory(to: UInt32.self)
        let to = target.bindMemory(to: UInt32.self)
        for i in 0..<k { for j in 0..<n { to[j * k + i] = from[i * n + j] } }
      }
    }
    let name = ctx.weights.freshName(weightName(location: inst.location, fallback: weight.name))
    let newWeight = Weight(
      name: name, type: TensorType(shape: [n, k], .f32), storage: .bytes(transposed))
    let read = Instruction(
      .dq(.weight), operands: [], results: [Value(name, newWeight.type)],
      attributes: AttributeDictionary([("name", .symbol(name))]))
    return Replacement(
      instructions: [
        read,
        Instruction(
          .dq(.linear), operands: [x, name], results: inst.results, location: inst.location),
      ], newWeights: [newWeight])
  }

  /// `/model/blocks.0/q_proj/MatMul` → `model.blocks.0.q_proj.weight`.
  static func weightName(location: String?, fallback: String) -> String {
    guard var path = location, path.hasPrefix("/") else { return fallback + ".transposed" }
    path.removeFirst()
    var parts = path.split(separator: "/").map(String.init)
    if let last = parts.last, last.hasPrefix("MatMul") { parts.removeLast() }
    return parts.isEmpty ? fallback + ".transposed" : parts.joined(separator: ".") + ".weight"
  }

  /// `Add(dq.linear(x, W), b)` with a constant 1-D `b` `[N]` and a linear used only here →
  /// `dq.linear(x, W, b)`.
  static func linearBias(_ inst: Instruction, _ ctx: PatternContext) -> Replacement? {
    guard inst.op == .onnx(.add),
      let (product, bias) = PatternContext.split(inst, { ctx.producer($0, .dq(.linear)) != nil }),
      let linear = ctx.producer(product, .dq(.linear)), linear.operands.count == 2,
      ctx.uses[product] == 1, let b = ctx.weight(bias), b.type.rank == 1,
      let n = ctx.types[linear.operands[1] ?? ""]?.staticShape?.first, b.type.staticShape == [n],
      ctx.types[product] == inst.result.type
    else { return nil }
    return Replacement(instructions: [
      Instruction(
        .dq(.linear), operands: linear.operands + [bias], results: inst.results,
        location: linear.location)
    ])
  }

  /// `w * (x * 1/sqrt(mean(x^2, -1) + eps))` (or `Reciprocal`, or `x / sqrt(...)`) with a
  /// constant 1-D `w` → `dq.rms_norm(x, w) {eps}`.
  static func rmsNorm(_ inst: Instruction, _ ctx: PatternContext) -> Replacement? {
    guard inst.op == .onnx(.mul),
      let (scale, normed) = PatternContext.split(inst, { ctx.weight($0)?.type.rank == 1 }),
      let (x, eps) = normalized(normed, ctx), ctx.types[normed] == inst.result.type
    else { return nil }
    return Replacement(instructions: [
      Instruction(
        .dq(.rmsNorm), operands: [x, scale], results: inst.results,
        attributes: AttributeDictionary([("eps", .float(eps))]), location: inst.location)
    ])
  }

  /// Matches `x * r` / `x / s` where `r = 1/s` and `s = sqrt(mean(x^2 over the last axis) + eps)`.
  static func normalized(_ name: String, _ ctx: PatternContext) -> (String, Double)? {
    guard let inst = ctx.producers[name], inst.operands.count == 2 else { return nil }
    let candidates: [(String, String)]
    switch inst.op {
    case .onnx(.mul):
      guard let a = inst.operands[0], let b = inst.operands[1] else { return nil }
      candidates = [(a, b), (b, a)]
    case .onnx(.div):
      guard let a = inst.operands[0], let b = inst.operands[1] else { return nil }
      if let eps = rootMeanSquare(b, of: a, ctx) { return (a, eps) }
      return nil
    default:
      return nil
    }
    for (x, r) in candidates {
      guard let rInst = ctx.producers[r] else { continue }
      var root: String?
      if rInst.op == .onnx(.reciprocal) { root = rInst.operands[0] }
      if rInst.op == .onnx(.div), ctx.scalar(rInst.operands[0]) == 1 { root = rInst.operands[1] }
      if let root, let eps = rootMeanSquare(root, of: x, ctx) { return (x, eps) }
    }
    return nil
  }

  /// The epsilon of `s = sqrt(mean(x^2, last axis, keepdims) + eps)`.
  static func rootMeanSquare(_ s: String?, of x: String, _ ctx: PatternContext) -> Double? {
    guard let sqrt = ctx.producer(s, .onnx(.sqrt)),
      let add = ctx.producer(sqrt.operands[0], .onnx(.add)),
      let (mean, eps) = PatternContext.split(add, { ctx.producer($0, .onnx(.reduceMean)) != nil }),
      let epsilon = ctx.scalar(eps), let reduce = ctx.producer(mean, .onnx(.reduceMean)),
      (reduce.attributes["keepdims"]?.intValue ?? 1) == 1, let rank = ctx.types[x]?.rank
    else { return nil }
    let axes =
      reduce.operands.count > 1
      ? ctx.constants[reduce.operands[1]]?.int64s : reduce.attributes["axes"]?.intArray
    guard let axes, axes.count == 1, axes[0] == -1 || axes[0] == Int64(rank - 1) else { return nil }
    guard let square = ctx.producers[reduce.operands[0] ?? ""] else { return nil }
    switch square.op {
    case .onnx(.pow):
      guard square.operands[0] == x, ctx.scalar(square.operands[1]) == 2 else { return nil }
    case .onnx(.mul):
      guard square.operands[0] == x, square.operands[1] == x else { return nil }
    default:
      return nil
    }
    return epsilon
  }

  /// `(g * sigmoid(g)) * up` → `dq.swiglu(g, up)`.
  static func swiglu(_ inst: Instruction, _ ctx: PatternContext) -> Replacement? {
    guard inst.op == .onnx(.mul) else { return nil }
    func silu(_ name: String) -> String? {
      guard let mul = ctx.producer(name, .onnx(.mul)),
        let (gate, sig) = PatternContext.split(mul, { ctx.producer($0, .onnx(.sigmoid)) == nil }),
        let sigmoid = ctx.producer(sig, .onnx(.sigmoid)), sigmoid.operands[0] == gate
      else { return nil }
      return gate
    }
    guard let (activated, up) = PatternContext.split(inst, { silu($0) != nil }),
      let gate = silu(activated),
      ctx.types[gate] == inst.result.type, ctx.types[up] == inst.result.type
    else { return nil }
    return Replacement(instructions: [
      Instruction(
        .dq(.swiglu), operands: [gate, up], results: inst.results, location: inst.location)
    ])
  }

  /// Attention: `MatMul(Softmax(scale · MatMul(q, kᵀ) [+ mask], axis = -1), v)`.
  ///
  /// On 4-D operands this becomes `dq.attention(q, k, v [, mask]) {scale, causal = false}`. Scalar factors on q and kᵀ and
  /// on the scores multiply into `scale`; a `Transpose(k, [0, 1, 3, 2])` gives k directly,
  /// otherwise k is the transpose of whatever computed kᵀ.
  static func attention(_ inst: Instruction, _ ctx: PatternContext) -> Replacement? {
    guard inst.op == .onnx(.matMul), let probabilities = inst.operands[0], let v = inst.operands[1],
      let softmax = ctx.producer(probabilities, .onnx(.softmax)), ctx.types[v]?.rank == 4,
      let rank = ctx.types[probabilities]?.rank, rank == 4
    else { return nil }
    let axis = softmax.attributes["axis"]?.intValue ?? -1
    guard axis == -1 || axis == 3 else { return nil }
    var scale = 1.0
    var scores = softmax.operands[0] ?? ""
    var mask: String?
    if let add = ctx.producer(scores, .onnx(.add)), ctx.uses[scores] == 1,
      let (s, m) = PatternContext.split(
        add, { ctx.producer($0, .onnx(.matMul)) != nil || scaled($0, ctx) != nil })
    {
      scores = s
      mask = m
    }
    if let (inner, factor) = scaled(scores, ctx) {
      scores = inner
      scale *= factor
    }
    guard let product = ctx.producer(scores, .onnx(.matMul)), var q = product.operands[0],
      var keysT = product.operands[1]
    else { return nil }
    if let (inner, factor) = scaled(q, ctx) {
      q = inner
      scale *= factor
    }
    if let (inner, factor) = scaled(keysT, ctx) {
      keysT = inner
      scale *= factor
    }
    guard ctx.types[q]?.rank == 4, ctx.types[keysT]?.rank == 4 else { return nil }
    var instructions: [Instruction] = []
    var k: String
    if let t = ctx.producer(keysT, .onnx(.transpose)),
      t.attributes["perm"]?.intArray == [0, 1, 3, 2],
      let source = t.operands[0]
    {
      k = source
    } else {
      guard let kt = ctx.types[keysT], let dims = kt.dims else { return nil }
      k = inst.result.name + ".keys"
      instructions.append(
        Instruction(
          .onnx(.transpose), operands: [keysT],
          results: [Value(k, TensorType([dims[0], dims[1], dims[3], dims[2]], kt.element))],
          attributes: AttributeDictionary([("perm", .array([0, 1, 3, 2].map { .int($0) }))])))
    }
    instructions.append(
      Instruction(
        .dq(.attention), operands: [q, k, v] + (mask.map { [$0] } ?? []), results: inst.results,
        attributes: AttributeDictionary([("scale", .float(scale)), ("causal", .bool(false))]),
        location: inst.location))
    return Replacement(instructions: instructions)
  }

  /// `x * c`, `c * x` or `x / c` with a scalar constant `c`: (x, factor).
  static func scaled(_ name: String, _ ctx: PatternContext) -> (String, Double)? {
    guard let inst = ctx.producers[name], inst.operands.count == 2 else { return nil }
    switch inst.op {
    case .onnx(.mul):
      guard let (c, x) = PatternContext.split(inst, { ctx.scalar($0) != nil }),
        let f = ctx.scalar(c)
      else { return nil }
      return (x, f)
    case .onnx(.div):
      guard let x = inst.operands[0], let d = ctx.scalar(inst.operands[1]), d != 0 else {
        return nil
      }
      return (x, 1 / d)
    default:
      return nil
    }
  }
}
