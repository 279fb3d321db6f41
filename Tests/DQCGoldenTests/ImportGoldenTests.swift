import DQCFrontend
import DQCIR
import DQCTestSupport
import Foundation
import Testing

/// Import cases: `Golden/import/onnx/<case>.onnx` and `Golden/import/hf/<case>/` (a checkpoint
/// folder), each with `<case>.expected.dqir` beside it.
@Suite("Golden import cases")
struct ImportGoldenTests {
  static let onnxCases: [String] = Paths.files(
    under: Paths.golden + "/import/onnx", suffix: ".onnx"
  )
  .filter { !$0.contains("unsupported") }
  .map(Golden.relative)

  static let checkpointCases: [String] = {
    let root = Paths.golden + "/import/hf"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return names.sorted().filter { name in
      var isDirectory: ObjCBool = false
      return FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory)
        && isDirectory.boolValue
    }.map { "Golden/import/hf/" + $0 }
  }()

  func check(_ relative: String, expected: String) throws {
    let path = Paths.packageRoot + "/" + relative
    let module = try ModelImporter.importModel(at: path)
    let directory = URL(fileURLWithPath: expected).deletingLastPathComponent().path
    let text = IRPrinter.print(
      module, options: PrintOptions(printWeights: true, baseDirectory: directory))
    Golden.assertMatches(text, expectedPath: expected)
  }

  @Test("ONNX files import as expected", arguments: onnxCases)
  func onnx(_ file: String) throws {
    let path = Paths.packageRoot + "/" + file
    try check(file, expected: String(path.dropLast(".onnx".count)) + ".expected.dqir")
  }

  @Test("checkpoints build as expected", arguments: checkpointCases)
  func checkpoint(_ folder: String) throws {
    try check(folder, expected: Paths.packageRoot + "/" + folder + ".expected.dqir")
  }

  @Test func thereAreCasesOfEachKind() {
    #expect(Self.onnxCases.count >= 8)
    #expect(Self.checkpointCases.count >= 4)
  }
}
