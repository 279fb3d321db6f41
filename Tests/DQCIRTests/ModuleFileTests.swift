import DQCIR
import DQCTestSupport
import Foundation
import Testing

@Suite struct ModuleFileTests {
  func sampleModule() -> Module {
    var weights = WeightStore()
    weights.insert(Weight(name: "small", tensor: DenseTensor(shape: [2], floats: [0.5, -1])))
    weights.insert(
      Weight(name: "packed", tensor: DenseTensor(shape: [3], element: .i4, ints: [-8, 7, 1])))
    weights.insert(
      Weight(name: "ids", tensor: DenseTensor(shape: [2, 2], element: .i64, ints: [1, 2, 3, 4])))
    let read = Instruction(
      .dq(.weight), operands: [], results: [Value("s", TensorType(shape: [2], .f32))],
      attributes: AttributeDictionary([("name", .symbol("small"))]))
    return Module(name: "m", weights: weights, graph: Graph(instructions: [read], outputs: ["s"]))
  }

  @Test func writesACompleteModuleWithASidecar() throws {
    let dir = Paths.temporaryDirectory()
    let path = dir + "/model.dqir"
    try ModuleFile.write(sampleModule(), to: path)
    let sidecar = dir + "/model.weights.safetensors"
    #expect(FileManager.default.fileExists(atPath: sidecar))
    let reread = try ModuleFile.read(path)
    for weight in sampleModule().weights {
      let back = try #require(reread.weights[weight.name])
      #expect(try back.loadBytes() == weight.loadBytes(), "weight \(weight.name)")
      #expect(back.digest != nil)
    }
    // The text names the sidecar relative to itself, never by absolute path.
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("file \"model.weights.safetensors\""))
    #expect(!text.contains(dir))
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        == ["model.dqir", "model.weights.safetensors"])
  }

  /// The sidecar is a real safetensors file: checked with Foundation's JSON parser.
  @Test func sidecarHeaderDescribesEachTensor() throws {
    let dir = Paths.temporaryDirectory()
    try ModuleFile.write(sampleModule(), to: dir + "/model.dqir")
    let bytes = [UInt8](
      try Data(contentsOf: URL(fileURLWithPath: dir + "/model.weights.safetensors")))
    let headerLength = bytes[0..<8].enumerated().reduce(0) {
      $0 | Int($1.element) << (8 * $1.offset)
    }
    #expect(headerLength % 8 == 0)
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
    let small = try #require(json["small"] as? [String: Any])
    #expect(small["dtype"] as? String == "F32")
    #expect(small["shape"] as? [Int] == [2])
    let offsets = try #require(small["data_offsets"] as? [Int])
    let start = 8 + headerLength + offsets[0]
    #expect(Array(bytes[start..<start + 8]) == [0, 0, 0, 0x3f, 0, 0, 0x80, 0xbf])
    let metadata = try #require(json["__metadata__"] as? [String: String])
    #expect(metadata["dqc.type.packed"] == "tensor<3xi4>")
    let ids = try #require(json["ids"] as? [String: Any])
    #expect(ids["dtype"] as? String == "I64")
  }

  @Test func changedWeightDataIsDetected() throws {
    let dir = Paths.temporaryDirectory()
    try ModuleFile.write(sampleModule(), to: dir + "/model.dqir")
    let sidecar = dir + "/model.weights.safetensors"
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sidecar)))
    bytes[bytes.count - 1] ^= 0xff
    try Data(bytes).write(to: URL(fileURLWithPath: sidecar))
    let module = try ModuleFile.read(dir + "/model.dqir")
    #expect(throws: WeightError.self) { try module.weights["ids"]?.loadBytes() }
  }

  @Test func truncatedWeightFileIsRefusedWithTheRange() throws {
    let dir = Paths.temporaryDirectory()
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/w.bin"))
    let text = """
      dqir version 1

      module @m {
        weight @w : tensor<2xf32> = file "w.bin" offset 0 size 8

        graph @main() -> () {
          return
        }
      }
      """
    try text.write(toFile: dir + "/m.dqir", atomically: true, encoding: .utf8)
    let module = try ModuleFile.read(dir + "/m.dqir")
    do {
      _ = try module.weights["w"]?.loadBytes()
      Issue.record("expected an error")
    } catch {
      #expect(
        error.description.contains("bytes 0..<8 of '\(dir)/w.bin' lie outside the file (3 bytes)"))
    }
  }

  @Test func failedWriteLeavesNothing() throws {
    let dir = Paths.temporaryDirectory()
    let path = dir + "/missing-subdir/model.dqir"
    #expect(throws: ModuleFileError.self) { try ModuleFile.write(sampleModule(), to: path) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
  }

  /// A weight read through a path relative to the current directory (`dqc opt model/ -o
  /// out/x.dqir` run from the repository) is written relative to the output's directory, so
  /// the `.dqir` still finds it.
  @Test func relativeWeightPathsAreRebasedOnTheOutputDirectory() {
    let cwd = FileManager.default.currentDirectoryPath
    #expect(
      IRPrinter.relativePath("models/a.safetensors", to: cwd + "/out/sub")
        == "../../models/a.safetensors")
    #expect(IRPrinter.relativePath("models/a.safetensors", to: cwd) == "models/a.safetensors")
    #expect(IRPrinter.relativePath("/data/a.safetensors", to: "/data/out") == "../a.safetensors")
    #expect(IRPrinter.relativePath("models/a.safetensors", to: nil) == "models/a.safetensors")
  }
}
