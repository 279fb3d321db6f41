import DQCIR
import Foundation

/// Imports an ONNX model file into an `onnx.*` module.
///
/// Initializers become weights (inline data in memory, external data as lazily read file
/// slices confined to the model's folder), read into the graph by `dq.weight` just before
/// their first use. Nodes become `onnx.*` instructions in the file's order, keeping node names as
/// locations; result types come from `value_info` and the graph outputs where given, refined by
/// the op type rules. Every unsupported op kind is reported once, with its node names, before
/// anything else is done.
public struct ONNXImporter {
  /// The model file (for an importer of bytes in memory, the name used in errors and `source`).
  public let path: String
  let bytes: Data?
  let decoder: ONNXTensorDecoder

  /// Creates an importer for the ONNX file at `path`; external data resolves inside its folder.
  public init(path: String) {
    self.path = path
    bytes = nil
    decoder = ONNXTensorDecoder(
      file: path,
      modelDirectory: URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
        .path)
  }

  /// Creates an importer for a serialized ONNX model held in memory: `path` names it in errors
  /// and in the module's `source`; external data resolves inside `externalDataDirectory` (and is
  /// confined to it as it is to a model file's folder).
  public init(data: Data, path: String, externalDataDirectory: String) {
    self.path = path
    bytes = data
    decoder = ONNXTensorDecoder(file: path, modelDirectory: externalDataDirectory)
  }

  /// Reads and imports the model.
  public func importModule() throws(FrontendError) -> Module {
    let data: Data
    if let bytes {
      data = bytes
    } else {
      do {
        data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
      } catch {
        throw FrontendError(file: path, "cannot read the file")
      }
    }
    let model = try ONNXProtoReader.readModel(data, file: path)
    return try importModel(model)
  }

  func importModel(_ model: ONNXModelProto) throws(FrontendError) -> Module {
    guard let graph = model.graph else {
      throw FrontendError(file: path, "the model has no graph")
    }
    let opsets = try opsetVersions(model)
    try checkSupportedOps(graph)
    guard graph.sparseInitializerCount == 0 else {
      throw FrontendError(file: path, place: "graph", "sparse initializers are not supported")
    }
    var builder = GraphBuilder(file: path, decoder: decoder)
    try builder.addInitializers(graph.initializers)
    try builder.addInputs(graph.inputs)
    builder.recordDeclaredTypes(graph.valueInfo + graph.outputs)
    for (index, node) in graph.nodes.enumerated() { try builder.addNode(node, index: index) }
    try builder.setOutputs(graph.outputs)

    var attributes = AttributeDictionary()
    attributes["source"] = .string(URL(fileURLWithPath: path).lastPathComponent)
    if !model.producerName.isEmpty { attributes["producer"] = .string(model.producerName) }
    if !model.producerVersion.isEmpty {
      attributes["producer_version"] = .string(model.producerVersion)
    }
    if let ir = model.irVersion { attributes["onnx.ir_version"] = .int(ir) }
    for (domain, version) in opsets { attributes["opset.\(domain)"] = .int(version) }
    let name =
      graph.name.isEmpty
      ? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent : graph.name
    let module = Module(
      name: name, attributes: attributes, weights: builder.weights, graph: builder.graph)
    do {
      try Verifier.verify(module)
    } catch {
      throw FrontendError(file: path, "the imported graph is invalid: \(error.message)")
    }
    return module
  }

  /// Opset versions by domain (`default` for the ONNX domain), sorted by domain.
  func opsetVersions(_ model: ONNXModelProto) throws(FrontendError) -> [(String, Int64)] {
    var result: [String: Int64] = [:]
    for (domain, version) in model.opsetImports {
      let key = (domain.isEmpty || domain == "ai.onnx") ? "default" : domain
      guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }) else {
        throw FrontendError(
          file: path, place: "opset_import", "domain '\(domain)' is not a valid name")
      }
      result[key] = version
    }
    guard result["default"] != nil else {
      throw FrontendError(
        file: path, place: "opset_import", "the model imports no ONNX (default domain) opset")
    }
    return result.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// Reports every unsupported op kind once, with the names of its nodes.
  func checkSupportedOps(_ graph: ONNXGraphProto) throws(FrontendError) {
    var missing: [String: [String]] = [:]
    var order: [String] = []
    for (i, node) in graph.nodes.enumerated() where Self.op(for: node) == nil {
      let kind =
        node.domain.isEmpty || node.domain == "ai.onnx"
        ? node.opType : "\(node.domain).\(node.opType)"
      if missing[kind] == nil { order.append(kind) }
      missing[kind, default: []].append(node.name ?? "#\(i)")
    }
    guard !order.isEmpty else { return }
    let lines = order.map { kind -> String in
      let nodes = missing[kind] ?? []
      let shown = nodes.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
      return
        "\(kind) (\(nodes.count) node\(nodes.count == 1 ? "" : "s"): \(shown)\(nodes.count > 5 ? ", ..." : ""))"
    }
    throw FrontendError(
      file: path, place: "graph",
      "unsupported op\(order.count == 1 ? "" : "s"): " + lines.joined(separator: "; "))
  }

  static func op(for node: ONNXNodeProto) -> ONNXOp? {
    guard node.domain.isEmpty || node.domain == "ai.onnx" else { return nil }
    return ONNXOp(rawValue: node.opType)
  }
}
