import DQCIR
import FuzzSupport

/// Parses and verifies one input as `.dqir` text.
///
/// Bytes become UTF-8 text (invalid sequences repaired), then `IRParser.parse` and, on success,
/// `Verifier.verify`. Relative weight paths resolve inside the process's scratch folder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDQIR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let file = "\(FuzzScratch.directory)/input.dqir"
  guard let module = try? IRParser.parse(text, file: file) else { return 0 }
  _ = try? Verifier.verify(module)
  return 0
}
