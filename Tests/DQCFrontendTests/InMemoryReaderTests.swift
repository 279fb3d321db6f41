import DQCFrontend
import DQCIR
import DQCTestSupport
import Foundation
import Testing

/// The in-memory entry points (`SafetensorsFile(data:path:)`,
/// `ONNXImporter(data:path:externalDataDirectory:)`) give what the file-based ones give.
@Suite struct InMemoryReaderTests {
  @Test(arguments: ["llada", "dream", "llama"])
  func safetensorsFromBytesMatchesTheFile(_ arch: String) throws {
    let path = Paths.golden + "/import/hf/\(arch)/model.safetensors"
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let fromFile = try SafetensorsFile(path: path)
    let fromBytes = try SafetensorsFile(data: data, path: path)
    #expect(fromBytes.entries == fromFile.entries)
    #expect(fromBytes.metadata.map(\.key) == fromFile.metadata.map(\.key))
    #expect(fromBytes.metadata.map(\.value) == fromFile.metadata.map(\.value))
  }

  @Test func safetensorsFromBytesGivesTheFilesErrors() throws {
    let path =
      Paths.packageRoot + "/Tests/Fixtures/import-bad/hf/offsets-outside-data/model.safetensors"
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let fileError = #expect(throws: FrontendError.self) { try SafetensorsFile(path: path) }
    let bytesError = #expect(throws: FrontendError.self) {
      try SafetensorsFile(data: data, path: path)
    }
    #expect(fileError == bytesError)
    // A slice of a larger buffer (non-zero start index) reads the same header.
    let padded = (Data([0xAA, 0xBB]) + data).dropFirst(2)
    let slicedError = #expect(throws: FrontendError.self) {
      try SafetensorsFile(data: padded, path: path)
    }
    #expect(slicedError == fileError)
  }

  @Test(arguments: ["external-data", "add-inline", "typed-fields", "value-info"])
  func onnxFromBytesMatchesTheFile(_ name: String) throws {
    let path = Paths.golden + "/import/onnx/\(name).onnx"
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let fromFile = try ONNXImporter(path: path).importModule()
    let fromBytes = try ONNXImporter(
      data: data, path: path, externalDataDirectory: Paths.golden + "/import/onnx"
    ).importModule()
    #expect(IRPrinter.print(fromBytes) == IRPrinter.print(fromFile))
  }

  @Test func onnxFromBytesConfinesExternalDataToItsDirectory() throws {
    // external-data.onnx names `external-data.weights`, which is not in an empty folder.
    let path = Paths.golden + "/import/onnx/external-data.onnx"
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let error = #expect(throws: FrontendError.self) {
      try ONNXImporter(
        data: data, path: "memory/model.onnx", externalDataDirectory: Paths.temporaryDirectory()
      ).importModule()
    }
    #expect(error?.file == "memory/model.onnx")
    #expect(error?.message.contains("does not exist next to the model") == true)
  }
}
