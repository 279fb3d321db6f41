import DQCRuntime
import Foundation

/// Compiles launch code with nvcc into the `cuda-binary` section (`dqc compile --cuda-arch`), so
/// that a GPU of a listed architecture runs the bundle without nvcc (docs/gpu.md).
enum CUDAPrebuild {
  struct Failure: Error {
    var message: String
  }

  /// The section: header (magic, ABI, architectures, digest of `source`, size), then the shared
  /// library nvcc builds from `source` with device code for every architecture (10 × major +
  /// minor, such as 89) and PTX for the newest.
  static func section(source: [UInt8], architectures: [Int]) throws(Failure) -> [UInt8] {
    guard !architectures.isEmpty, architectures.count <= Int(DQC_CUDA_BINARY_MAX_ARCHS) else {
      throw Failure(
        message: "1 to \(DQC_CUDA_BINARY_MAX_ARCHS) architectures, got \(architectures.count)")
    }
    guard NVCCCompiler.path != nil else {
      throw Failure(
        message: "nvcc not found (set DQC_NVCC or CUDA_HOME, or install the CUDA toolkit)")
    }
    let sorted = Array(Set(architectures)).sorted()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "dqc-cuda-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let library: [UInt8]
    do {
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      let unit = dir.appendingPathComponent("launch.cu")
      let output = dir.appendingPathComponent("launch.so")
      try Data(source).write(to: unit)
      if let log = try NVCCCompiler.compileSharedLibrary(
        unit: unit.path, output: output.path, architectures: sorted, ptx: true)
      {
        throw Failure(message: "nvcc failed: \(log.suffix(1500))")
      }
      library = Array(try Data(contentsOf: output))
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure(message: "cannot run nvcc: \(error.localizedDescription)")
    }
    var header = ByteWriter()
    header.bytes.append(contentsOf: Array(DQC_CUDA_BINARY_MAGIC.utf8))
    header.integer(UInt32(DQC_CUDA_ABI_VERSION))
    header.integer(UInt32(sorted.count))
    for i in 0..<Int(DQC_CUDA_BINARY_MAX_ARCHS) {
      header.integer(UInt32(i < sorted.count ? sorted[i] : 0))
    }
    header.integer(BundleFormat.checksum(source))
    header.integer(UInt64(library.count))
    header.zeros(Int(DQC_CUDA_BINARY_HEADER_SIZE) - header.bytes.count)
    return header.bytes + library
  }
}
