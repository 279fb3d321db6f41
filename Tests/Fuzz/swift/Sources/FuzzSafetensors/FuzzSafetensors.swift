import DQCFrontend
import DQCIR
import FuzzSupport

/// bytes -> scratch `model.safetensors` -> `SafetensorsFile(path:)`, then every tensor's bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard let path = FuzzScratch.write(data, size, as: "model.safetensors"),
    let file = try? SafetensorsFile(path: path)
  else { return 0 }
  for entry in file.entries {
    if let bytes = try? entry.slice.read(weight: entry.name) {
      precondition(bytes.count == entry.slice.length, "slice read returned a wrong byte count")
    }
  }
  _ = file.metadata.count
  return 0
}
