import DQCIR
import Foundation

/// Reads a serialized ONNX `TensorProto` file, such as the inputs and outputs of ONNX's backend
/// test data (`test_data_set_0/input_0.pb`).
public enum ONNXTensorFile {
  /// The tensor in the file, with its name (empty when unnamed).
  public static func read(_ path: String) throws(FrontendError) -> (
    name: String, value: DenseTensor
  ) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw FrontendError(file: path, "cannot read the file")
    }
    let proto = try ONNXProtoReader.readTensor(data, file: path)
    let decoder = ONNXTensorDecoder(
      file: path, modelDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    return (proto.name, try decoder.dense(proto, place: "tensor '\(proto.name)'"))
  }
}
