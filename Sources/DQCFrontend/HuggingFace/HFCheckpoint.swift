import DQCIR
import Foundation

/// A Hugging Face checkpoint folder: `config.json` plus one or many `*.safetensors` files
/// (sharded through `model.safetensors.index.json`).
public struct HFCheckpoint: Sendable {
  /// The folder.
  public let directory: String
  /// The parsed `config.json`.
  public let config: ModelConfig
  /// Every tensor by name.
  public let tensors: [String: SafetensorsFile.Entry]

  /// Reads the folder's config and tensor headers (no tensor data).
  public init(directory path: String) throws(FrontendError) {
    var directory = path
    while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
    self.directory = directory
    let configPath = directory + "/config.json"
    config = try ModelConfig(path: configPath)
    let indexPath = directory + "/model.safetensors.index.json"
    var files: [String]
    if FileManager.default.fileExists(atPath: indexPath) {
      files = try Self.shards(indexPath: indexPath, directory: directory)
    } else {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
      files = names.filter { $0.hasSuffix(".safetensors") }.sorted().map { directory + "/" + $0 }
    }
    guard !files.isEmpty else {
      throw FrontendError(file: directory, "no *.safetensors files in the checkpoint folder")
    }
    var tensors: [String: SafetensorsFile.Entry] = [:]
    for file in files {
      for entry in try SafetensorsFile(path: file).entries {
        guard tensors[entry.name] == nil else {
          throw FrontendError(
            file: file, place: "tensor '\(entry.name)'", "the tensor also appears in another shard")
        }
        tensors[entry.name] = entry
      }
    }
    self.tensors = tensors
  }

  /// The shard files named by an index, each once, in name order.
  static func shards(indexPath: String, directory: String) throws(FrontendError) -> [String] {
    guard let data = FileManager.default.contents(atPath: indexPath),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let map = json["weight_map"] as? [String: Any]
    else {
      throw FrontendError(
        file: indexPath, place: "weight_map", "expected a JSON object with a 'weight_map' object")
    }
    var names = Set<String>()
    for (tensor, value) in map {
      guard let file = value as? String, !file.contains("/"),
        !file.hasPrefix(".") || file.count > 2 && !file.hasPrefix("..")
      else {
        throw FrontendError(
          file: indexPath, place: "weight_map['\(tensor)']",
          "expected a shard file name in the checkpoint folder")
      }
      names.insert(file)
    }
    var paths: [String] = []
    for name in names.sorted() {
      let path = directory + "/" + name
      guard FileManager.default.fileExists(atPath: path) else {
        throw FrontendError(
          file: indexPath, place: "weight_map",
          "shard '\(name)' does not exist in the checkpoint folder")
      }
      paths.append(path)
    }
    return paths
  }
}
