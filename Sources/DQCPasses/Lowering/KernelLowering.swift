import DQCIR
import DQCInterp
import Foundation

/// Translates a shape-specialised `dq.*` transformer graph into `k.*` kernels.
///
/// Every activation becomes a token-major matrix `[T, F]`. The reshapes and transposes that
/// split and merge attention heads (`[B, S, F] → [B, S, H, Dh] → [B, H, S, Dh]` and back) become
/// views of the same matrix, so they cost nothing; rotate-half RoPE (as `dq.rope` or as the ONNX
/// exporters spell it) becomes `k.rope` with constant tables; each quantized linear layer becomes
/// `k.quantize` (shared by layers reading the same input) and `k.qlinear`. Anything else is
/// refused with the op and value named.
struct KernelLowering {
  /// How a value of the source graph is laid out in its kernel matrix.
  enum Layout: Equatable {
    /// `[B, S, F]` (or `[T, F]`): rows are tokens.
    case tokens(width: Int)
    /// `[B, S, H, Dh]`: the heads of a `[T, H·Dh]` matrix, not yet transposed.
    case splitHeads(heads: Int, dim: Int)
    /// `[B, H, S, Dh]`: the same matrix seen head by head.
    case heads(heads: Int, dim: Int)

    var width: Int {
      switch self {
      case .tokens(let w): w
      case .splitHeads(let h, let d), .heads(let h, let d): h * d
      }
    }
  }

  struct Lowered {
    var name: String
    var layout: Layout
  }

  let source: Module
  let rows: Int
  let sequence: Int
  let passName: String

  private var producers: [String: Instruction] = [:]
  private var constants = ConstantValues()
  private var uses: [String: Int]
  private var lowered: [String: Lowered] = [:]
  private var weightOf: [String: String] = [:]
  private var absorbed = Set<String>()
  /// Weights read by embeddings; a linear layer reading one (tied embeddings) gets its own copy,
  /// since the two kernels want the weight in different layouts.
  private var embeddingTables = Set<String>()
  private var ropeAt: [String: RopeMatch] = [:]
  private var quantized: [String: [String]] = [:]
  private var emittedWeights: [String: String] = [:]
  /// New constant weights by content, so equal tables (every layer's RoPE tables) are stored once.
  private var constantsByContent: [[Float]: String] = [:]
  private var taken = Set<String>()
  private(set) var output = Graph()
  private(set) var weights = WeightStore()

  init(source: Module, rows: Int, sequence: Int, passName: String) {
    self.source = source
    self.rows = rows
    self.sequence = sequence
    self.passName = passName
    uses = source.graph.useCounts()
    output.name = source.graph.name
    output.arguments = source.graph.arguments
  }

  mutating func run() throws(PassError) {
    let graph = source.graph
    for inst in graph.instructions {
      for r in inst.results { producers[r.name] = inst }
      constants.record(inst, weights: source.weights, limit: 64)
    }
    for inst in graph.instructions where inst.op == .dq(.embedding) {
      if let table = inst.operands[1], let symbol = producers[table]?.weightSymbol {
        embeddingTables.insert(symbol)
      }
    }
    findRopePatterns()
    for arg in graph.arguments {
      guard arg.type.element.scalar?.isInteger == true else {
        throw fail("graph input %\(arg.name) must be token ids (integer), is \(arg.type)")
      }
    }
    for inst in graph.instructions {
      if inst.results.allSatisfy({ absorbed.contains($0.name) }) { continue }
      try lower(inst)
    }
    var outputs: [String] = []
    for name in graph.outputs {
      guard let value = lowered[name], case .tokens = value.layout else {
        throw fail("graph output %\(name) is not a token-major activation")
      }
      outputs.append(value.name)
    }
    output.outputs = outputs
  }

  // MARK: - Patterns

  private mutating func findRopePatterns() {
    // Head dims are only known once the views are lowered; RoPE inputs are transposed head
    // views, so the transposed type's last dimension serves.
    let types = source.graph.valueTypes()
    for inst in source.graph.instructions where inst.op == .onnx(.add) {
      let match = RopePattern.match(
        inst, producers: producers, constants: constants, uses: uses,
        headDim: { name in
          guard let shape = types[name]?.staticShape, shape.count == 4 else { return nil }
          return shape[3]
        })
      guard let match else { continue }
      ropeAt[inst.result.name] = match
      absorbed.formUnion(match.absorbed)
    }
  }

  // MARK: - Translation

  private mutating func lower(_ inst: Instruction) throws(PassError) {
    let name = inst.result.name
    switch inst.op {
    case .dq(.weight):
      guard let symbol = inst.weightSymbol else { throw fail("dq.weight without a symbol") }
      weightOf[name] = symbol
    case .dq(.embedding):
      guard let ids = inst.operands[0], source.graph.arguments.contains(where: { $0.name == ids })
      else { throw unsupported(inst, "the ids must be the graph input") }
      let table = try weightValue(inst, 1, float: true)
      guard let d = table.type.dims?.last?.value else { throw unsupported(inst, "table shape") }
      try emit(inst, .embedding, [ids, table.name], width: d)
    case .dq(.rmsNorm):
      let x = try tokens(inst, 0)
      let scale = try weightValue(inst, 1, float: true)
      try emit(
        inst, .rmsNorm, [x.name, scale.name], width: x.layout.width,
        attributes: ["eps": inst.attributes["eps"] ?? .float(1e-5)])
    case .dq(.qlinear):
      try lowerQuantizedLinear(inst)
    case .dq(.linear):
      let x = try tokens(inst, 0)
      let w = try weightValue(inst, 1, float: true, ownCopyOf: embeddingTables)
      let bias =
        try inst.operands.count > 2 && inst.operands[2] != nil
        ? weightValue(inst, 2, float: true).name : nil
      guard let n = w.type.dims?.first?.value, w.type.dims?.last?.value == x.layout.width else {
        throw unsupported(inst, "weight \(w.type) does not fit input width \(x.layout.width)")
      }
      try emit(inst, .linear, [x.name, w.name, bias], width: n)
    case .dq(.swiglu):
      let (a, b) = (try tokens(inst, 0), try tokens(inst, 1))
      guard a.layout == b.layout else { throw unsupported(inst, "operands differ in width") }
      try emit(inst, .swiglu, [a.name, b.name], width: a.layout.width)
    case .onnx(.add) where ropeAt[name] != nil:
      try lowerRope(inst, ropeAt[name]!)
    case .onnx(.add):
      let (a, b) = (try tokens(inst, 0), try tokens(inst, 1))
      guard a.layout == b.layout, inst.result.type.staticShape?.last == a.layout.width else {
        throw unsupported(inst, "only residual sums of equal token-major shapes are lowered")
      }
      try emit(inst, .add, [a.name, b.name], width: a.layout.width)
    case .onnx(.reshape):
      try lowerReshape(inst)
    case .onnx(.transpose):
      try lowerTranspose(inst)
    case .dq(.rope):
      try lowerDQRope(inst)
    case .dq(.attention):
      try lowerAttention(inst)
    default:
      throw unsupported(inst, "no kernel implements it")
    }
  }

  private mutating func lowerQuantizedLinear(_ inst: Instruction) throws(PassError) {
    let x = try tokens(inst, 0)
    guard let codesName = inst.operands[1], let codesSymbol = weightOf[codesName],
      let codes = source.weights[codesSymbol], case .quantized(let qtype) = codes.type.element,
      let shape = codes.type.staticShape, shape.count == 2
    else { throw unsupported(inst, "the weight must be a quantized [N, K] weight") }
    let (n, k) = (shape[0], shape[1])
    guard k == x.layout.width else {
      throw unsupported(inst, "weight K \(k) does not fit input width \(x.layout.width)")
    }
    let bias =
      inst.operands.count > 4 && inst.operands[4] != nil
      ? try weightValue(inst, 4, float: true).name : nil
    guard let actBits = inst.attributes["act_bits"]?.intValue.map(Int.init) else {
      // Weight-only quantization: the weight is dequantized once here and runs as a float
      // linear layer, which is what `dq.qlinear` without act_bits computes.
      let w = try dequantizedWeight(inst, codes: codes, qtype: qtype)
      try emit(inst, .linear, [x.name, w, bias], width: n)
      return
    }
    // With act_bits the layer must run on the integer kernels (k.quantize, k.qlinear): a float
    // layer would drop the activation quantization and compute another model.
    let integer = "act_bits = \(actBits) needs the integer kernel (k.quantize, k.qlinear), which"
    let bits = qtype.storage.bitWidth
    guard bits == 4 || bits == 8 else {
      throw unsupported(inst, "\(integer) takes 4- or 8-bit weight codes, not \(qtype.storage)")
    }
    let group: Int
    switch qtype.granularity {
    case .perGroup(let axis, let size) where axis == 1 && size > 0 && k % size == 0: group = size
    case .perChannel(let axis) where axis == 0: group = k
    default:
      throw unsupported(
        inst, "\(integer) takes per-channel scales or groups along K, not \(qtype.granularity)")
    }
    // The kernel's weight layouts hold K in blocks of 8 columns and its scale groups are whole
    // blocks. One group spanning K (per channel) of another width runs exactly on codes padded
    // with zero columns to the next multiple of 8: the padded activation codes are 0 (k.quantize
    // pads its rows with zeros), so the extra products are 0 and the group's integer sum, its
    // code sum and the f32 epilogue are those of the unpadded layer.
    let blockK = 8
    var kernelK = k
    var kernelGroup = group
    if group == k && k % blockK != 0 {
      kernelK = (k + blockK - 1) / blockK * blockK
      kernelGroup = kernelK
    } else if group % blockK != 0 {
      throw unsupported(
        inst,
        "\(integer) needs scale groups of a multiple of \(blockK) columns; weight @\(codesSymbol) "
          + "[\(n), \(k)] has K = \(k) in groups of \(group) (quantize it per channel or with a "
          + "group size that is a multiple of \(blockK))")
    }
    let key = "\(x.name)/\(actBits)/\(group)"
    let q: [String]
    if let existing = quantized[key] {
      q = existing
    } else {
      let base = fresh(x.name + ".q")
      q = [base, fresh(base + ".scales"), fresh(base + ".sums")]
      let padded = (k + 63) / 64 * 64
      var attrs = AttributeDictionary()
      attrs["bits"] = .int(Int64(actBits))
      attrs["group"] = .int(Int64(group))
      output.instructions.append(
        Instruction(
          .k(.quantize), operands: [x.name],
          results: [
            Value(q[0], TensorType(shape: [rows, padded], .i8)),
            Value(q[1], TensorType(shape: [rows], .f32)),
            Value(q[2], TensorType(shape: [rows, k / group], .i32)),
          ], attributes: attrs, location: inst.location))
      quantized[key] = q
    }
    let scales = try weightValue(inst, 2, float: false).name
    let zeros =
      inst.operands.count > 3 && inst.operands[3] != nil
      ? try weightValue(inst, 3, float: false).name : nil
    let codesValue =
      kernelK == k
      ? try weightValue(inst, 1, float: false).name
      : try paddedCodes(inst, codes: codes, qtype: qtype, columns: kernelK)
    try emit(
      inst, .qlinear, [q[0], q[1], q[2], codesValue, scales, zeros, bias], width: n,
      attributes: ["group": .int(Int64(kernelGroup))])
  }

  /// The codes of a per-channel quantized weight `[N, K]` with zero columns appended up to
  /// `columns`, as a per-channel weight of the same storage.
  private mutating func paddedCodes(
    _ inst: Instruction, codes: Weight, qtype: QuantizedType, columns: Int
  ) throws(PassError) -> String {
    guard let shape = codes.type.staticShape else { throw unsupported(inst, "codes shape") }
    let (n, k) = (shape[0], shape[1])
    let tensor: DenseTensor
    do {
      tensor = try codes.loadTensor()
    } catch {
      throw fail("cannot read the weights of %\(inst.result.name): \(error)")
    }
    guard let values = tensor.int64s, values.count == n * k else {
      throw unsupported(inst, "weight @\(codes.name) does not hold [\(n), \(k)] integer codes")
    }
    var padded = [Int64](repeating: 0, count: n * columns)
    for row in 0..<n {
      for col in 0..<k { padded[row * columns + col] = values[row * k + col] }
    }
    var type = qtype
    type.granularity = .perChannel(axis: 0)
    let symbol = source.weights.freshName(codes.name + ".padded")
    return emitWeight(
      Weight(
        name: symbol,
        tensor: DenseTensor(
          type: TensorType(shape: [n, columns], .quantized(type)), values: .ints(padded)))
    ).name
  }

  private mutating func lowerReshape(_ inst: Instruction) throws(PassError) {
    guard let input = inst.operands[0], let x = lowered[input],
      let shape = inst.result.type.staticShape
    else { throw unsupported(inst, "needs a lowered input and a static result shape") }
    let tokenDims = shape.count >= 2 && shape[0] * shape[1] == rows
    switch (x.layout, shape.count) {
    case (.tokens(let w), 4) where tokenDims && shape[2] * shape[3] == w:
      alias(inst, x, .splitHeads(heads: shape[2], dim: shape[3]))
    case (.splitHeads(let h, let d), 3) where tokenDims && shape[2] == h * d:
      alias(inst, x, .tokens(width: h * d))
    case (.tokens(let w), 3) where tokenDims && shape[2] == w:
      alias(inst, x, .tokens(width: w))
    case (.tokens(let w), 2) where shape == [rows, w]:
      alias(inst, x, .tokens(width: w))
    default:
      throw unsupported(inst, "reshape of \(x.layout) to \(shape)")
    }
  }

  private mutating func lowerTranspose(_ inst: Instruction) throws(PassError) {
    guard let input = inst.operands[0], let x = lowered[input],
      inst.attributes["perm"]?.intArray == [0, 2, 1, 3]
    else { throw unsupported(inst, "only the head transposes (perm [0, 2, 1, 3]) are lowered") }
    switch x.layout {
    case .splitHeads(let h, let d): alias(inst, x, .heads(heads: h, dim: d))
    case .heads(let h, let d): alias(inst, x, .splitHeads(heads: h, dim: d))
    case .tokens: throw unsupported(inst, "transpose of a token-major matrix")
    }
  }

  private mutating func lowerRope(_ inst: Instruction, _ match: RopeMatch) throws(PassError) {
    guard let x = lowered[match.input], case .heads(let h, let d) = x.layout else {
      throw unsupported(inst, "RoPE input is not a head view")
    }
    try emitRope(inst, x, heads: h, dim: d, cos: match.cos, sin: match.sin)
  }

  private mutating func lowerDQRope(_ inst: Instruction) throws(PassError) {
    guard inst.operands.count < 2 || inst.operands[1] == nil else {
      throw unsupported(inst, "explicit positions are not lowered")
    }
    guard let input = inst.operands[0], let x = lowered[input], case .heads(let h, let d) = x.layout
    else { throw unsupported(inst, "RoPE input is not a head view") }
    // The interpreter's tables: inv_freq = 1 / theta^(2i/Dh) and angles in f32, duplicated
    // into both halves for the rotate-half form.
    let theta = Float(inst.attributes["theta"]?.floatValue ?? 10000)
    let half = d / 2
    var cos = [Float](repeating: 0, count: sequence * d)
    var sin = cos
    for i in 0..<half {
      let invFreq = Float(1) / powf(theta, Float(2 * i) / Float(d))
      for p in 0..<sequence {
        let angle = Float(p) * invFreq
        for j in [i, i + half] {
          cos[p * d + j] = cosf(angle)
          sin[p * d + j] = sinf(angle)
        }
      }
    }
    try emitRope(inst, x, heads: h, dim: d, cos: cos, sin: sin)
  }

  private mutating func emitRope(
    _ inst: Instruction, _ x: Lowered, heads: Int, dim: Int, cos: [Float], sin: [Float]
  ) throws(PassError) {
    guard cos.count >= sequence * dim, cos.count % dim == 0 else {
      throw unsupported(inst, "RoPE tables cover \(cos.count / max(dim, 1)) positions")
    }
    let base = inst.result.name
    let cosName = newWeight(base + ".rope_cos", rows: cos.count / dim, cols: dim, cos)
    let sinName = newWeight(base + ".rope_sin", rows: sin.count / dim, cols: dim, sin)
    try emit(
      inst, .rope, [x.name, cosName, sinName], layout: .heads(heads: heads, dim: dim),
      attributes: ["heads": .int(Int64(heads)), "head_dim": .int(Int64(dim))])
  }

  private mutating func lowerAttention(_ inst: Instruction) throws(PassError) {
    guard inst.attributes["causal"]?.boolValue != true else {
      throw unsupported(inst, "causal attention is not lowered (diffusion models attend both ways)")
    }
    guard inst.operands.count < 4 || inst.operands[3] == nil else {
      throw unsupported(inst, "attention masks are not lowered")
    }
    var views: [(heads: Int, dim: Int, name: String)] = []
    for i in 0..<3 {
      guard let operand = inst.operands[i], let v = lowered[operand],
        case .heads(let h, let d) = v.layout
      else { throw unsupported(inst, "operand \(i) is not a [B, H, S, Dh] head view") }
      views.append((h, d, v.name))
    }
    let (q, k, v) = (views[0], views[1], views[2])
    guard k.heads == v.heads, q.heads % k.heads == 0, q.dim == k.dim, v.dim == q.dim else {
      throw unsupported(inst, "head counts or dims do not fit")
    }
    var attrs: [String: Attribute] = [
      "heads": .int(Int64(q.heads)), "kv_heads": .int(Int64(k.heads)),
      "head_dim": .int(Int64(q.dim)),
      "scale": .float(inst.attributes["scale"]?.floatValue ?? 1 / Double(q.dim).squareRoot()),
    ]
    for key in ["qk_bits", "p_bits", "v_bits"] {
      if let bits = inst.attributes[key] { attrs[key] = bits }
    }
    let scales =
      inst.operands.count > 4 && inst.operands[4] != nil
      ? try weightValue(inst, 4, float: true).name : nil
    try emit(
      inst, .attention, [q.name, k.name, v.name, scales],
      layout: .heads(heads: q.heads, dim: q.dim),
      attributes: attrs)
  }

  // MARK: - Helpers

  private mutating func emit(
    _ inst: Instruction, _ op: KernelOp, _ operands: [String?], width: Int,
    attributes: [String: Attribute] = [:]
  ) throws(PassError) {
    try emit(inst, op, operands, layout: .tokens(width: width), attributes: attributes)
  }

  private mutating func emit(
    _ inst: Instruction, _ op: KernelOp, _ operands: [String?], layout: Layout,
    attributes: [String: Attribute]
  ) throws(PassError) {
    var trimmed = operands
    while let last = trimmed.last, last == nil { trimmed.removeLast() }
    let name = fresh(inst.result.name)
    var attrs = AttributeDictionary()
    for key in attributes.keys.sorted() { attrs[key] = attributes[key] }
    output.instructions.append(
      Instruction(
        .k(op), operands: trimmed,
        results: [Value(name, TensorType(shape: [rows, layout.width], .f32))],
        attributes: attrs, location: inst.location))
    lowered[inst.result.name] = Lowered(name: name, layout: layout)
  }

  private mutating func alias(_ inst: Instruction, _ x: Lowered, _ layout: Layout) {
    lowered[inst.result.name] = Lowered(name: x.name, layout: layout)
  }

  private func tokens(_ inst: Instruction, _ index: Int) throws(PassError) -> Lowered {
    guard index < inst.operands.count, let operand = inst.operands[index],
      let x = lowered[operand], case .tokens = x.layout
    else { throw unsupported(inst, "operand \(index) is not a token-major activation") }
    return x
  }

  /// The weight read by operand `index`, as a value of the kernel graph (as f32 when `float`;
  /// under a new name when its symbol is in `ownCopyOf`).
  private mutating func weightValue(
    _ inst: Instruction, _ index: Int, float: Bool, ownCopyOf shared: Set<String> = []
  ) throws(PassError) -> Value {
    guard index < inst.operands.count, let operand = inst.operands[index],
      let symbol = weightOf[operand], let weight = source.weights[symbol]
    else { throw unsupported(inst, "operand \(index) must be a weight") }
    var target = weight
    if float, weight.type.element != .f32 {
      guard weight.type.element.isFloat, let shape = weight.type.staticShape else {
        throw unsupported(inst, "weight @\(symbol) is \(weight.type), not a float")
      }
      let tensor: DenseTensor
      do {
        tensor = try weight.loadTensor()
      } catch {
        throw fail("cannot read weight @\(symbol): \(error)")
      }
      target = Weight(
        name: symbol + ".f32",
        tensor: DenseTensor(shape: shape, element: .f32, floats: tensor.doubles))
    } else if shared.contains(symbol) {
      target.name = source.weights.freshName(symbol + ".linear")
    }
    return emitWeight(target)
  }

  private mutating func emitWeight(_ weight: Weight) -> Value {
    if let existing = emittedWeights[weight.name] { return Value(existing, weight.type) }
    let name = fresh(weight.name)
    var attrs = AttributeDictionary()
    attrs["name"] = .symbol(weight.name)
    output.instructions.append(
      Instruction(
        .dq(.weight), operands: [], results: [Value(name, weight.type)], attributes: attrs))
    weights.insert(weight)
    emittedWeights[weight.name] = name
    return Value(name, weight.type)
  }

  private mutating func newWeight(_ base: String, rows: Int, cols: Int, _ values: [Float]) -> String
  {
    if let symbol = constantsByContent[values], let weight = weights[symbol],
      weight.type.staticShape == [rows, cols]
    {
      return emitWeight(weight).name
    }
    let symbol = source.weights.freshName(base)
    constantsByContent[values] = symbol
    return emitWeight(
      Weight(
        name: symbol,
        tensor: DenseTensor(shape: [rows, cols], element: .f32, floats: values.map(Double.init)))
    ).name
  }

  private mutating func dequantizedWeight(
    _ inst: Instruction, codes: Weight, qtype: QuantizedType
  ) throws(PassError) -> String {
    guard let shape = codes.type.staticShape, let scalesName = inst.operands[2],
      let scalesSymbol = weightOf[scalesName], let scales = source.weights[scalesSymbol]
    else { throw unsupported(inst, "scales must be a weight") }
    let zerosWeight =
      inst.operands.count > 3
      ? inst.operands[3].flatMap { weightOf[$0] }.flatMap {
        source.weights[$0]
      } : nil
    let values: [Float]
    do {
      // The interpreter's own dequantization, so the lowered layer computes what `dq.qlinear`
      // without act_bits does.
      values = QuantizedOps.dequantize(
        Tensor(try codes.loadTensor()), qtype, scales: Tensor(try scales.loadTensor()),
        zeros: try zerosWeight.map { Tensor(try $0.loadTensor()) })
    } catch {
      throw fail("cannot read the weights of %\(inst.result.name): \(error)")
    }
    let (n, k) = (shape[0], shape[1])
    return newWeight(codes.name + ".dequantized", rows: n, cols: k, values)
  }

  private mutating func fresh(_ base: String) -> String {
    output.freshName(base, avoiding: &taken)
  }

  private func unsupported(_ inst: Instruction, _ why: String) -> PassError {
    fail(
      "cannot lower '\(inst.op)' defining %\(inst.result.name)"
        + (inst.location.map { " (loc \"\($0)\")" } ?? "") + ": \(why)")
  }

  private func fail(_ message: String) -> PassError {
    .invalidModule(pass: passName, message: message)
  }
}
