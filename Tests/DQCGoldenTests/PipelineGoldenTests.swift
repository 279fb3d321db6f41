import DQCBackend
import DQCDriver
import DQCTestSupport
import Foundation
import Testing

/// `dqc compile`'s W4A8 DLLMQuant pipeline on the trained fixture: the IR after every pass
/// (weights elided to their digests, attributes shown) and the bundle's CUDA launch code
/// (`launch.cu`, the model's part) against `Golden/pipelines/fixture-w4a8/`; nvcc compiles the
/// launch code for every architecture of `NVCC.architectures`.
@Suite struct PipelineGoldenTests {
  static let fixture = Paths.packageRoot + "/Tests/Fixtures/llada-tiny"
  static let expected = Paths.golden + "/pipelines/fixture-w4a8"

  @Test func fixtureW4A8DumpsAfterEveryPass() throws {
    let dir = Paths.temporaryDirectory()
    var recipe = NamedPipeline(precision: .w4a8, method: .dllmquant)
    recipe.calibration = Self.fixture + "/calib/train_slice.jsonl"
    recipe.samples = 16
    var job = CompileJob(
      model: Self.fixture + "/model.onnx", recipe: recipe, output: dir + "/m.dqb")
    job.instrumentation.dumpDirectory = dir + "/ir"
    try job.run(diagnostics: { _ in })
    let dumps = try FileManager.default.contentsOfDirectory(atPath: dir + "/ir").sorted()
    #expect(dumps.count == 12, "\(dumps)")
    if Golden.isUpdating {
      try? FileManager.default.createDirectory(
        atPath: Self.expected, withIntermediateDirectories: true)
    } else {
      let goldens = try FileManager.default.contentsOfDirectory(atPath: Self.expected).sorted()
      #expect(goldens.filter { $0.hasSuffix(".dqir") } == dumps.filter { $0.hasSuffix(".dqir") })
    }
    for dump in dumps where dump.hasSuffix(".dqir") {
      let text = try String(contentsOfFile: dir + "/ir/" + dump, encoding: .utf8)
      #expect(!text.contains(Paths.packageRoot), "\(dump) names a machine-specific path")
      Golden.assertMatches(text, expectedPath: Self.expected + "/" + dump)
    }
    let source = try #require(try BundleFile(path: dir + "/m.dqb").bytes(of: .cudaSource))
    let code = try #require(
      CUDALaunchCode(translationUnit: String(decoding: source, as: UTF8.self)))
    #expect(!code.model.contains(Paths.packageRoot))
    Golden.assertMatches(code.model, expectedPath: Self.expected + "/launch.cu")
    if let log = try NVCC.compile(code.translationUnit, name: "fixture-w4a8") {
      Issue.record("nvcc rejects the fixture's launch code:\n\(log)")
    }
  }
}
