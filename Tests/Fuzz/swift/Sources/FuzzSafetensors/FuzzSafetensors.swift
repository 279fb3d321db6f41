import DQCFrontend
import DQCIR
import Foundation

/// Reads one input as a safetensors file, in memory.
///
/// bytes -> `SafetensorsFile(data:path:)` (no file), then every tensor's bytes, each slice
/// required to lie inside the input and to hold exactly its type's byte count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  guard let file = try? SafetensorsFile(data: bytes, path: "fuzz/model.safetensors") else {
    return 0
  }
  for entry in file.entries {
    let slice = entry.slice
    precondition(
      slice.offset >= 0 && slice.length >= 0 && slice.offset <= size
        && slice.length <= size - slice.offset, "a tensor's slice lies outside the file")
    precondition(slice.length == entry.type.byteCount, "a tensor's slice has a wrong byte count")
    _ = bytes.subdata(in: slice.offset..<slice.offset + slice.length).count
  }
  _ = file.metadata.count
  return 0
}
