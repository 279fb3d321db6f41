import DQCFrontend
import DQCIR
import FuzzSupport

/// bytes -> scratch `model.onnx` -> `ONNXImporter.importModule()` (external data is confined to
/// the model's folder, the scratch folder), then `Verifier.verify` on the imported module.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  // An empty file is skipped: Foundation's `Data(contentsOf:options: .alwaysMapped)` leaks a
  // 4096-byte buffer reading a 0-byte file (a swift-foundation bug, not dqc's; see
  // regressions/FuzzONNX/leak-empty-file), which LeakSanitizer would report on every run.
  guard size > 0 else { return 0 }
  guard let path = FuzzScratch.write(data, size, as: "model.onnx"),
    let module = try? ONNXImporter(path: path).importModule()
  else { return 0 }
  _ = try? Verifier.verify(module)
  return 0
}
