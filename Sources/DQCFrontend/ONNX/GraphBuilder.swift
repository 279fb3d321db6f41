import DQCIR

/// Builds the graph of an imported ONNX model node by node.
struct GraphBuilder {
  let file: String
  let decoder: ONNXTensorDecoder
  var weights = WeightStore()
  var graph = Graph()
  /// Initializers not yet read into the graph, by name.
  var pendingWeights: [String: TensorType] = [:]
  var types: [String: TensorType] = [:]
  var declared: [String: TensorType] = [:]
  var constants = ConstantValues()
  var taken = Set<String>()

  init(file: String, decoder: ONNXTensorDecoder) {
    self.file = file
    self.decoder = decoder
  }

  mutating func addInitializers(_ initializers: [ONNXTensorProto]) throws(FrontendError) {
    for tensor in initializers {
      let place = "initializer '\(tensor.name)'"
      guard !tensor.name.isEmpty else {
        throw FrontendError(file: file, place: "initializer", "an initializer has no name")
      }
      guard weights[tensor.name] == nil else {
        throw FrontendError(file: file, place: place, "two initializers have this name")
      }
      let type = try decoder.type(of: tensor, place: place)
      let storage = try decoder.storage(of: tensor, type: type, place: place)
      weights.insert(Weight(name: tensor.name, type: type, storage: storage))
      pendingWeights[tensor.name] = type
    }
  }

  mutating func addInputs(_ inputs: [ONNXValueInfoProto]) throws(FrontendError) {
    for input in inputs where weights[input.name] == nil {
      let place = "graph input '\(input.name)'"
      guard let type = try tensorType(input, place: place) else {
        throw FrontendError(file: file, place: place, "the input has no tensor element type")
      }
      guard types[input.name] == nil else {
        throw FrontendError(file: file, place: place, "two graph inputs have this name")
      }
      graph.arguments.append(Value(input.name, type))
      types[input.name] = type
      taken.insert(input.name)
    }
  }

  mutating func recordDeclaredTypes(_ infos: [ONNXValueInfoProto]) {
    for info in infos {
      if let type = try? tensorType(info, place: "value_info '\(info.name)'") {
        declared[info.name] = type
      }
    }
  }

  /// The dqc type of a value_info, or `nil` when it has no element type.
  func tensorType(_ info: ONNXValueInfoProto, place: String) throws(FrontendError) -> TensorType? {
    guard info.isTensor, let code = info.elementType else { return nil }
    guard let scalar = ONNXDataType.scalarType(code) else {
      throw FrontendError(
        file: file, place: place,
        "element type \(ONNXDataType.name(code)) is not supported (expected one of \(ONNXDataType.supportedNames))"
      )
    }
    guard let shape = info.shape else { return TensorType(unrankedOf: .scalar(scalar)) }
    var dims: [Dim] = []
    for d in shape {
      switch d {
      case .value(let v) where v > Int64(Int32.max):
        throw FrontendError(
          file: file, place: place,
          "dimension \(v) is out of range (expected at most \(Int32.max))")
      case .value(let v) where v >= 0: dims.append(.fixed(Int(v)))
      case .param(let name) where !name.isEmpty: dims.append(.symbol(Self.dimName(name)))
      default: dims.append(.dynamic)
      }
    }
    return TensorType(dims, .scalar(scalar))
  }

  /// A symbolic dimension name the text form can hold (`[A-Za-z_][A-Za-z0-9_.]*`).
  static func dimName(_ name: String) -> String {
    var out = String(
      name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") ? $0 : "_" })
    if let first = out.first, !(first.isLetter || first == "_") { out = "d" + out }
    return out
  }

  /// Emits `dq.weight` for an initializer the first time a node reads it.
  mutating func materialize(_ name: String) {
    guard let type = pendingWeights.removeValue(forKey: name) else { return }
    let inst = Instruction(
      .dq(.weight), operands: [], results: [Value(name, type)],
      attributes: AttributeDictionary([("name", .symbol(name))]))
    graph.instructions.append(inst)
    types[name] = type
    taken.insert(name)
    constants.record(inst, weights: weights, limit: 4096)
  }

  mutating func addNode(_ node: ONNXNodeProto, index: Int) throws(FrontendError) {
    let label = node.name.map { "'\($0)'" } ?? "#\(index)"
    let place = "node \(label) (\(node.opType))"
    guard let op = ONNXImporter.op(for: node) else {
      throw FrontendError(file: file, place: place, "unsupported op")
    }
    var operands: [String?] = []
    for input in node.inputs {
      if input.isEmpty {
        operands.append(nil)
        continue
      }
      materialize(input)
      guard types[input] != nil else {
        throw FrontendError(
          file: file, place: place,
          "input '\(input)' is not produced by an earlier node, a graph input or an initializer")
      }
      operands.append(input)
    }
    while let last = operands.last, last == nil { operands.removeLast() }
    let attributes = try ONNXAttributeMapper(file: file, decoder: decoder).map(
      node, op: op, place: place)
    var outputs = node.outputs
    while let last = outputs.last, last.isEmpty { outputs.removeLast() }
    guard !outputs.isEmpty else {
      throw FrontendError(file: file, place: place, "the node has no outputs")
    }
    let context = TypeRuleContext(
      operands: operands.map { $0.flatMap { types[$0] } }, attributes: attributes,
      resultCount: outputs.count, constants: operands.map { constants[$0] })
    let inferred: [TensorType?]
    do {
      inferred = try OpName.onnx(op).schema.typeRule(context)
    } catch {
      throw FrontendError(file: file, place: place, error.message)
    }
    var results: [Value] = []
    for (i, output) in outputs.enumerated() {
      var name = output
      if name.isEmpty {
        name = graph.freshName("\(node.name ?? "node\(index)")_out\(i)", avoiding: &taken)
      }
      guard types[name] == nil, !taken.contains(name) || output.isEmpty else {
        throw FrontendError(file: file, place: place, "output '\(name)' is produced twice")
      }
      taken.insert(name)
      let guess = i < inferred.count ? inferred[i] : nil
      let type: TensorType
      switch (declared[name], guess) {
      case (let d?, let g?):
        guard d.isCompatible(with: g) else {
          throw FrontendError(
            file: file, place: place,
            "output '\(name)' is declared \(d) in value_info, but the op produces \(g)")
        }
        type = d.refined(by: g)
      case (let d?, nil): type = d
      case (nil, let g?): type = g
      case (nil, nil):
        throw FrontendError(file: file, place: place, "cannot tell the type of output '\(name)'")
      }
      results.append(Value(name, type))
      types[name] = type
    }
    let inst = Instruction(
      .onnx(op), operands: operands, results: results, attributes: attributes, location: node.name)
    graph.instructions.append(inst)
    constants.record(inst, weights: weights)
  }

  mutating func setOutputs(_ outputs: [ONNXValueInfoProto]) throws(FrontendError) {
    for output in outputs {
      materialize(output.name)
      guard types[output.name] != nil else {
        throw FrontendError(
          file: file, place: "graph output '\(output.name)'",
          "no node, input or initializer produces it")
      }
      graph.outputs.append(output.name)
    }
    // Initializers never read by a node are not part of the computation.
    for name in pendingWeights.keys.sorted() { weights.remove(name) }
  }
}
