import DQCRuntime
import Foundation

/// Compiles launch code with nvcc into the `cuda-binary` section (`dqc compile --cuda-arch`), so
/// that a GPU of a listed architecture runs the bundle without nvcc (docs/gpu.md).
enum CUDAPrebuild {
  struct Failure: Error {
    var message: String
  }

  /// nvcc's path: `$DQC_NVCC`, `$CUDA_HOME/bin/nvcc`, or `nvcc` on `PATH`.
  static func nvcc() -> String? {
    let environment = ProcessInfo.processInfo.environment
    var candidates: [String] = []
    if let explicit = environment["DQC_NVCC"] { candidates.append(explicit) }
    if let home = environment["CUDA_HOME"] { candidates.append(home + "/bin/nvcc") }
    for dir in (environment["PATH"] ?? "").split(separator: ":") {
      candidates.append(dir + "/nvcc")
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// The section: header (magic, ABI, architectures, digest of `source`, size), then the shared
  /// library nvcc builds from `source` with device code for every architecture (10 × major +
  /// minor, such as 89) and PTX for the newest.
  static func section(source: [UInt8], architectures: [Int]) throws(Failure) -> [UInt8] {
    guard !architectures.isEmpty, architectures.count <= Int(DQC_CUDA_BINARY_MAX_ARCHS) else {
      throw Failure(
        message: "1 to \(DQC_CUDA_BINARY_MAX_ARCHS) architectures, got \(architectures.count)")
    }
    guard let nvcc = nvcc() else {
      throw Failure(
        message: "nvcc not found (set DQC_NVCC or CUDA_HOME, or install the CUDA toolkit)")
    }
    let sorted = Array(Set(architectures)).sorted()
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent(
        "dqc-cuda-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let library: [UInt8]
    do {
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      let unit = dir.appendingPathComponent("launch.cu")
      try Data(source).write(to: unit)
      var arguments = ["-std=c++17", "-O3", "-shared", "-Xcompiler", "-fPIC"]
      for arch in sorted { arguments += ["-gencode", "arch=compute_\(arch),code=sm_\(arch)"] }
      let newest = sorted[sorted.count - 1]
      arguments += ["-gencode", "arch=compute_\(newest),code=compute_\(newest)"]
      let output = dir.appendingPathComponent("launch.so")
      arguments += ["-o", output.path, unit.path]
      let process = Process()
      process.executableURL = URL(fileURLWithPath: nvcc)
      process.arguments = arguments
      let pipe = Pipe()
      process.standardOutput = pipe
      process.standardError = pipe
      try process.run()
      let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      guard process.terminationStatus == 0 else {
        throw Failure(
          message: "nvcc failed (exit \(process.terminationStatus)): \(log.suffix(1500))")
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
