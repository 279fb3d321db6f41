import DQCFrontend
import DQCIR
import Foundation
import FuzzSupport

/// Imports one input as a serialized ONNX model, in memory.
///
/// bytes -> `ONNXImporter(data:path:externalDataDirectory:)` (no model file), then
/// `Verifier.verify` on the imported module. External data is confined to the process's scratch
/// folder, which holds one fixed data file, `FuzzScratch.externalDataName`, for it to name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  let importer = ONNXImporter(
    data: bytes, path: "\(FuzzScratch.directory)/model.onnx",
    externalDataDirectory: FuzzScratch.externalDataDirectory)
  guard let module = try? importer.importModule() else { return 0 }
  _ = try? Verifier.verify(module)
  return 0
}
