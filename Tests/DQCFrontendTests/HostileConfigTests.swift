import DQCFrontend
import DQCTestSupport
import Foundation
import Testing

/// Sizes in `config.json` that would divide by zero or overflow (zero or negative heads, a huge
/// MLP ratio) are refused with the file and the key named.
@Suite struct HostileConfigTests {
  /// The llada golden checkpoint copied to a fresh folder with `edit` applied to its config.
  static func importError(_ edit: (inout [String: Any]) -> Void) throws -> FrontendError? {
    let source = Paths.golden + "/import/hf/llada"
    let dir = Paths.temporaryDirectory() + "/ckpt"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: source + "/model.safetensors", toPath: dir + "/model.safetensors")
    let data = try Data(contentsOf: URL(fileURLWithPath: source + "/config.json"))
    var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    edit(&config)
    try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
      .write(to: URL(fileURLWithPath: dir + "/config.json"))
    do {
      _ = try ModelImporter.importModel(at: dir)
      return nil
    } catch {
      #expect(error.file == dir + "/config.json")
      return error
    }
  }

  @Test(arguments: [
    ("n_kv_heads", 0), ("n_kv_heads", -4), ("embedding_size", 0), ("n_heads", 1 << 40),
  ])
  func badSizesAreRefused(_ key: String, _ value: Int) throws {
    let error = try #require(try Self.importError { $0[key] = value })
    #expect(error.place == "key '\(key)'")
    #expect(
      error.message == "expected a positive integer no larger than 2147483647, found \(value)")
  }

  @Test func aHugeMLPRatioIsRefusedWithoutOverflow() throws {
    let error = try #require(
      try Self.importError {
        $0["mlp_hidden_size"] = NSNull()
        $0["mlp_ratio"] = 1 << 62
      })
    #expect(error.place == "key 'mlp_ratio'")
  }

  @Test func theUneditedCopyImports() throws {
    #expect(try Self.importError { _ in } == nil)
  }
}
