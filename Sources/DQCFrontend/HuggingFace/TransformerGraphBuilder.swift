import DQCIR
import Foundation

/// Builds the `dq.*` graph of a LLaMA-style transformer from a checkpoint.
///
/// Computation (per block): `h += attn_out(attention(rope(q), rope(k), v))` on the RMS-normed
/// input, then `h += down(swiglu(gate(n), up(n)))` on the RMS-normed result; a final RMS norm and
/// the head give logits `[batch, seq, vocab rows]`. Heads are split and merged with
/// `onnx.Reshape` (`[0, 0, H, Dh]`) and `onnx.Transpose` (`[0, 2, 1, 3]`). Weights stay in the
/// checkpoint's files; non-f32 weights are read through `onnx.Cast` to f32.
struct TransformerGraphBuilder {
  let spec: TransformerSpec
  let checkpoint: HFCheckpoint
  var module: Module
  var valueTypes: [String: TensorType] = [:]
  var weightValues: [String: String] = [:]

  init(spec: TransformerSpec, checkpoint: HFCheckpoint) {
    self.spec = spec
    self.checkpoint = checkpoint
    var attributes = AttributeDictionary()
    attributes["source"] = .string(URL(fileURLWithPath: checkpoint.directory).lastPathComponent)
    attributes["model.architecture"] = .string(spec.architecture)
    attributes["model.layers"] = .int(Int64(spec.layers))
    attributes["model.vocab_size"] = .int(Int64(spec.vocab))
    if let mask = spec.maskTokenID { attributes["model.mask_token_id"] = .int(Int64(mask)) }
    module = Module(name: spec.architecture, attributes: attributes)
  }

  static func build(spec: TransformerSpec, checkpoint: HFCheckpoint) throws(FrontendError) -> Module
  {
    guard spec.dModel % spec.heads == 0, spec.heads % spec.kvHeads == 0, spec.headDim % 2 == 0
    else {
      throw FrontendError(
        file: checkpoint.config.path,
        "hidden size \(spec.dModel), \(spec.heads) heads and \(spec.kvHeads) key/value heads do not give an even head size shared by every key/value group"
      )
    }
    var builder = TransformerGraphBuilder(spec: spec, checkpoint: checkpoint)
    try builder.emitGraph()
    do {
      try Verifier.verify(builder.module)
    } catch {
      throw FrontendError(
        file: checkpoint.directory, "the built graph is invalid: \(error.message)")
    }
    return builder.module
  }

  mutating func emit(
    _ op: OpName, _ operands: [String], _ result: String, _ type: TensorType,
    _ attributes: [(String, Attribute)] = []
  ) -> String {
    module.graph.instructions.append(
      Instruction(
        op, operands: operands, results: [Value(result, type)],
        attributes: AttributeDictionary(attributes)))
    valueTypes[result] = type
    return result
  }

  /// Reads a checkpoint tensor of the expected shape as an f32 value.
  mutating func weight(_ name: String, shape: [Int]) throws(FrontendError) -> String {
    if let value = weightValues[name] { return value }
    guard let entry = checkpoint.tensors[name] else {
      throw FrontendError(
        file: checkpoint.directory, place: "tensor '\(name)'", "missing from the checkpoint")
    }
    guard entry.type.staticShape == shape else {
      throw FrontendError(
        file: entry.slice.path, place: "tensor '\(name)'",
        "has shape \(entry.type.staticShape ?? []), the config implies \(shape)")
    }
    guard entry.type.element.isFloat else {
      throw FrontendError(
        file: entry.slice.path, place: "tensor '\(name)'",
        "expected a float tensor, found \(entry.type.element)")
    }
    module.weights.insert(Weight(name: name, type: entry.type, storage: .file(entry.slice)))
    var value = emit(.dq(.weight), [], name, entry.type, [("name", .symbol(name))])
    if entry.type.element != .f32 {
      value = emit(
        .onnx(.cast), [value], name + ".f32", entry.type.with(element: .f32),
        [("to", .elementType(.f32))])
    }
    weightValues[name] = value
    return value
  }

  /// An in-memory i64 shape constant shared by every block.
  mutating func shapeConstant(_ name: String, _ values: [Int64]) -> String {
    if let value = weightValues[name] { return value }
    module.weights.insert(
      Weight(name: name, tensor: DenseTensor(shape: [values.count], ints: values)))
    let value = emit(
      .dq(.weight), [], name, TensorType(shape: [values.count], .i64), [("name", .symbol(name))])
    weightValues[name] = value
    return value
  }

  func activation(_ last: Int) -> TensorType {
    TensorType([.symbol("batch"), .symbol("seq"), .fixed(last)], .f32)
  }

  func heads(_ h: Int) -> TensorType {
    TensorType([.symbol("batch"), .fixed(h), .symbol("seq"), .fixed(spec.headDim)], .f32)
  }

  mutating func emitGraph() throws(FrontendError) {
    let d = spec.dModel
    let ids = Value("input_ids", TensorType([.symbol("batch"), .symbol("seq")], .i64))
    module.graph.arguments = [ids]
    let table = try weight(spec.embedding, shape: [spec.embeddingRows, d])
    var h = emit(.dq(.embedding), [ids.name, table], "embeddings", activation(d))
    for layer in 0..<spec.layers { h = try emitBlock(layer, input: h) }
    let norm = try weight(spec.finalNorm, shape: [d])
    let final = emit(
      .dq(.rmsNorm), [h, norm], "final_norm", activation(d), [("eps", .float(spec.normEps))])
    let headName =
      spec.tiedHead && checkpoint.tensors[spec.head] == nil ? spec.embedding : spec.head
    let head = try weight(headName, shape: [spec.embeddingRows, d])
    let logits = emit(.dq(.linear), [final, head], "logits", activation(spec.embeddingRows))
    module.graph.outputs = [logits]
  }

  mutating func emitBlock(_ i: Int, input: String) throws(FrontendError) -> String {
    let d = spec.dModel
    let dh = spec.headDim
    let p = "blocks.\(i)."
    let layerTensor = spec.layerTensor
    let t = { (part: TransformerSpec.LayerPart) in layerTensor(i, part) }
    let attnNorm = try weight(t(.attnNorm), shape: [d])
    let x = emit(
      .dq(.rmsNorm), [input, attnNorm], p + "attn_in", activation(d),
      [("eps", .float(spec.normEps))])
    func projection(
      _ part: TransformerSpec.LayerPart, _ bias: TransformerSpec.LayerPart, heads: Int,
      _ name: String, builder: inout TransformerGraphBuilder
    ) throws(FrontendError) -> String {
      var operands = [x, try builder.weight(t(part), shape: [heads * dh, d])]
      if builder.spec.qkvBias { operands.append(try builder.weight(t(bias), shape: [heads * dh])) }
      let flat = builder.emit(.dq(.linear), operands, p + name, builder.activation(heads * dh))
      let shape = builder.shapeConstant(
        "shape.split_\(heads)_heads", [0, 0, Int64(heads), Int64(dh)])
      let split = builder.emit(
        .onnx(.reshape), [flat, shape], p + name + "_heads",
        TensorType([.symbol("batch"), .symbol("seq"), .fixed(heads), .fixed(dh)], .f32))
      return builder.emit(
        .onnx(.transpose), [split], p + name + "_t", builder.heads(heads),
        [("perm", .array([0, 2, 1, 3].map { .int($0) }))])
    }
    let q = try projection(.q, .qBias, heads: spec.heads, "q", builder: &self)
    let k = try projection(.k, .kBias, heads: spec.kvHeads, "k", builder: &self)
    let v = try projection(.v, .vBias, heads: spec.kvHeads, "v", builder: &self)
    let theta: [(String, Attribute)] = [("theta", .float(spec.ropeTheta))]
    let qr = emit(.dq(.rope), [q], p + "q_rope", heads(spec.heads), theta)
    let kr = emit(.dq(.rope), [k], p + "k_rope", heads(spec.kvHeads), theta)
    let attention = emit(
      .dq(.attention), [qr, kr, v], p + "attention", heads(spec.heads),
      [("scale", .float(1 / Double(dh).squareRoot())), ("causal", .bool(!spec.bidirectional))])
    let back = emit(
      .onnx(.transpose), [attention], p + "attention_t",
      TensorType([.symbol("batch"), .symbol("seq"), .fixed(spec.heads), .fixed(dh)], .f32),
      [("perm", .array([0, 2, 1, 3].map { .int($0) }))])
    let merge = shapeConstant("shape.merge_heads", [0, 0, Int64(spec.heads * dh)])
    let merged = emit(
      .onnx(.reshape), [back, merge], p + "attention_merged", activation(spec.heads * dh))
    let wo = try weight(t(.attnOut), shape: [d, spec.heads * dh])
    let out = emit(.dq(.linear), [merged, wo], p + "attention_out", activation(d))
    let h = emit(.onnx(.add), [input, out], p + "residual_attention", activation(d))
    let ffNorm = try weight(t(.ffNorm), shape: [d])
    let n = emit(
      .dq(.rmsNorm), [h, ffNorm], p + "ff_in", activation(d), [("eps", .float(spec.normEps))])
    let gate = emit(
      .dq(.linear), [n, try weight(t(.gate), shape: [spec.mlpHidden, d])], p + "gate",
      activation(spec.mlpHidden))
    let up = emit(
      .dq(.linear), [n, try weight(t(.up), shape: [spec.mlpHidden, d])], p + "up",
      activation(spec.mlpHidden))
    let act = emit(.dq(.swiglu), [gate, up], p + "swiglu", activation(spec.mlpHidden))
    let down = emit(
      .dq(.linear), [act, try weight(t(.down), shape: [d, spec.mlpHidden])], p + "down",
      activation(d))
    return emit(.onnx(.add), [h, down], p + "output", activation(d))
  }
}
