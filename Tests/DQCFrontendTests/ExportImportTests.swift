import DQCFrontend
import DQCIR
import DQCTestSupport
import Foundation
import Testing

/// Real PyTorch exports (both exporters, inline and external data) of the LLaDA- and
/// Dream-architecture fixtures import, and hold the same parameters as their safetensors twins.
@Suite struct ExportImportTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/exports"

  static let exports: [String] = [
    "llada/model.legacy.onnx", "llada/model.dynamo.onnx", "llada/model.legacy.external.onnx",
    "dream/model.legacy.onnx", "dream/model.dynamo.onnx",
  ]

  /// The multiset of sizes of the weights that hold at least 16 elements (the model's real
  /// parameters; exporters add small shape constants of their own).
  func parameterSizes(_ module: Module) -> [Int] {
    module.weights.compactMap { $0.type.elementCount }.filter { $0 >= 16 }.sorted()
  }

  @Test(arguments: exports)
  func importsWithTheCheckpointsParameters(_ export: String) throws {
    let onnx = try ModelImporter.importModel(at: Self.root + "/" + export)
    try Verifier.verify(onnx)
    #expect(onnx.graph.arguments.map(\.name) == ["input_ids"])
    #expect(onnx.graph.outputs == ["logits"])
    let folder = Self.root + "/" + String(export.split(separator: "/")[0])
    let checkpoint = try ModelImporter.importModel(at: folder)
    #expect(parameterSizes(onnx) == parameterSizes(checkpoint))
    // Every weight's bytes are readable (inline, or external within the model's folder).
    for weight in onnx.weights { _ = try weight.loadBytes() }
  }

  @Test func checkpointBuildsOneAttentionPerBlock() throws {
    for arch in ["llada", "dream"] {
      let module = try ModelImporter.importModel(at: Self.root + "/" + arch)
      let layers = Int(module.attributes["model.layers"]?.intValue ?? 0)
      let attention = module.graph.instructions.filter { $0.op == .dq(.attention) }
      #expect(layers == 2 && attention.count == layers)
      #expect(attention.allSatisfy { $0.attributes["causal"] == .bool(false) })
      let linears = module.graph.instructions.filter { $0.op == .dq(.linear) }
      #expect(linears.count == 7 * layers + 1)
    }
  }
}
