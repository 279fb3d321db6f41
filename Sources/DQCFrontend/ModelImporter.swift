import DQCIR
import Foundation

/// Imports whatever model a user points dqc at: an ONNX file or a Hugging Face checkpoint folder.
public enum ModelImporter {
  /// Imports the model at `path`: a folder is read as a Hugging Face checkpoint
  /// (`config.json` + safetensors), anything else as an ONNX file.
  public static func importModel(at path: String) throws(FrontendError) -> Module {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw FrontendError(file: path, "no such file or folder")
    }
    if isDirectory.boolValue {
      let checkpoint = try HFCheckpoint(directory: path)
      let spec = try ArchitectureLayouts.spec(for: checkpoint.config)
      return try TransformerGraphBuilder.build(spec: spec, checkpoint: checkpoint)
    }
    if path.hasSuffix(".safetensors") {
      throw FrontendError(
        file: path,
        "a lone .safetensors file has no architecture; pass the checkpoint folder holding config.json"
      )
    }
    return try ONNXImporter(path: path).importModule()
  }
}
