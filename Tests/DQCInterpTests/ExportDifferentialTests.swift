import DQCFrontend
import DQCIR
import DQCInterp
import DQCTestSupport
import Foundation
import Testing

/// The interpreter against ONNX Runtime on the committed PyTorch exports: reference logits
/// were computed by `Scripts/export_models.py` and saved as `.npy` by
/// `Scripts/export_references_npy.py`.
@Suite(.serialized) struct ExportDifferentialTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/exports"

  /// (model path relative to the exports folder, reference logits, input ids).
  static let cases: [(String, String, String)] = [
    ("llada/model.legacy.onnx", "logits_ort_legacy", "input_ids"),
    ("llada/model.dynamo.onnx", "logits_ort_dynamo", "input_ids"),
    ("llada/model.legacy.external.onnx", "logits_ort_legacy_external_b", "input_ids_b"),
    ("llada", "logits_ort_legacy_b", "input_ids_b"),
    ("dream/model.legacy.onnx", "logits_ort_legacy", "input_ids"),
    ("dream/model.dynamo.onnx", "logits_ort_dynamo_b", "input_ids_b"),
    ("dream", "logits_ort_legacy", "input_ids"),
  ]

  /// max |a - b| / max |b|.
  static func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.doubles
    let y = b.doubles
    let scale = y.map(abs).max() ?? 1
    return zip(x, y).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
  }

  @Test(arguments: cases)
  func logitsMatchONNXRuntime(_ model: String, _ reference: String, _ input: String) throws {
    let folder = Self.root + "/" + String(model.split(separator: "/")[0]) + "/reference/"
    let ids = try NPYFile.read(folder + input + ".npy")
    let expected = try NPYFile.read(folder + reference + ".npy")
    let module = try ModelImporter.importModel(at: Self.root + "/" + model)
    let logits = try Interpreter(module: module).run(["input_ids": ids])[0]
    #expect(logits.shape == expected.shape)
    let error = Self.relativeError(logits, expected)
    #expect(error <= 1e-4, "relative error \(error)")
  }

  @Test func resultsDoNotDependOnThreadCount() throws {
    let module = try ModelImporter.importModel(at: Self.root + "/llada/model.legacy.onnx")
    let ids = try NPYFile.read(Self.root + "/llada/reference/input_ids.npy")
    let interpreter = try Interpreter(module: module)
    Interpreter.setThreads(1)
    let one = try interpreter.run(["input_ids": ids])[0]
    Interpreter.setThreads(2)
    let two = try interpreter.run(["input_ids": ids])[0]
    let identical = one.floats.map(\.bitPattern) == two.floats.map(\.bitPattern)
    #expect(identical, "1 and 2 threads give different logits")
  }

  @Test func tapsSeeLinearInputsAndAttentionProbabilities() throws {
    let module = try ModelImporter.importModel(at: Self.root + "/llada")
    let ids = try NPYFile.read(Self.root + "/llada/reference/input_ids.npy")
    var linearInputs = 0
    var probabilityRows: [Double] = []
    let selected: (Instruction) -> Bool = { $0.op == .dq(.linear) || $0.op == .dq(.attention) }
    let observe: (TapEvent) -> Void = { event in
      switch (event.instruction.op, event.point) {
      case (.dq(.linear), .operands):
        linearInputs += 1
        #expect(event.tensors[0].shape.last == event.tensors[1].shape[1])
      case (.dq(.attention), .attentionProbabilities):
        let p = event.tensors[0]
        let s = p.shape[3]
        let v = p.doubles
        for row in stride(from: 0, to: v.count, by: s) {
          probabilityRows.append(v[row..<(row + s)].reduce(0, +))
        }
      default:
        break
      }
    }
    _ = try Interpreter(module: module).run(["input_ids": ids], tapFilter: selected, tap: observe)
    let layers = Int(module.attributes["model.layers"]?.intValue ?? 0)
    #expect(linearInputs == 7 * layers + 1)
    #expect(!probabilityRows.isEmpty)
    #expect(probabilityRows.allSatisfy { abs($0 - 1) < 1e-5 })
  }
}
