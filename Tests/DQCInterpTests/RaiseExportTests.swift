import DQCFrontend
import DQCIR
import DQCInterp
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// `raise` on real PyTorch exports: no `MatMul` with a constant weight remains, every block has
/// exactly one `dq.attention`, and the raised model computes what the original did.
@Suite(.serialized) struct RaiseExportTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/exports"
  static let exports = [
    "llada/model.legacy.onnx", "llada/model.dynamo.onnx", "dream/model.legacy.onnx",
    "dream/model.dynamo.onnx",
  ]

  @Test(arguments: exports)
  func raisedExportKeepsItsLogits(_ export: String) throws {
    let original = try ModelImporter.importModel(at: Self.root + "/" + export)
    var raised = original
    var context = PassContext()
    try PassManager(pipeline: "canonicalize,cse,raise,canonicalize,dce{aggressive=true}")
      .run(&raised, context: &context, output: { _ in })

    let constantWeights = Set(
      raised.graph.instructions.filter { $0.op == .dq(.weight) }.map(\.result.name))
    let constantMatMuls = raised.graph.instructions.filter {
      $0.op == .onnx(.matMul)
        && ($0.operands.dropFirst().contains { constantWeights.contains($0 ?? "") })
    }
    #expect(
      constantMatMuls.isEmpty,
      "MatMul with a constant weight remains: \(constantMatMuls.map(\.result.name))")
    let folder = Self.root + "/" + String(export.split(separator: "/")[0])
    let layers = Int(
      try ModelImporter.importModel(at: folder).attributes["model.layers"]?.intValue ?? 0)
    let attentions = raised.graph.instructions.filter { $0.op == .dq(.attention) }
    #expect(attentions.count == layers)
    #expect(raised.graph.instructions.filter { $0.op == .dq(.linear) }.count == 7 * layers + 1)

    let ids = try NPYFile.read(folder + "/reference/input_ids.npy")
    let before = try Interpreter(module: original).run(["input_ids": ids])[0]
    let after = try Interpreter(module: raised).run(["input_ids": ids])[0]
    let error = ExportDifferentialTests.relativeError(after, before)
    #expect(error <= 1e-5, "raised model differs by \(error)")
  }
}
