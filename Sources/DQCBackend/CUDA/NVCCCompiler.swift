import Foundation

/// nvcc, as dqc runs it on launch code: `dqc compile --cuda-arch` and the tests that compile
/// generated code. (The runtime finds and runs nvcc itself, in C++, by the same rules.)
public enum NVCCCompiler {
  /// nvcc's path: `$DQC_NVCC`, `$CUDA_HOME/bin/nvcc`, or `nvcc` on `PATH`; nil if none.
  public static let path: String? = {
    let environment = ProcessInfo.processInfo.environment
    var candidates: [String] = []
    if let explicit = environment["DQC_NVCC"] { candidates.append(explicit) }
    if let home = environment["CUDA_HOME"] { candidates.append(home + "/bin/nvcc") }
    for dir in (environment["PATH"] ?? "").split(separator: ":") {
      candidates.append(dir + "/nvcc")
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }()

  /// Compiles the translation unit at `unit` into the shared library `output`.
  ///
  /// Device code goes in for every architecture (10 × major + minor) and, when `ptx`, PTX for
  /// the newest. The library is linked stripped (`--strip-all`; the runtime looks its entry
  /// points up in the dynamic symbol table): the only bytes that differed between two builds
  /// of the same unit were the name of nvcc's temporary file (`tmpxft_<pid>_…`) in the static
  /// symbol table, so the same launch code gives the same library. Returns nil on success and
  /// nvcc's output when it fails; throws when nvcc is missing or cannot run.
  public static func compileSharedLibrary(
    unit: String, output: String, architectures: [Int], ptx: Bool = false,
    warningsAsErrors: Bool = false
  ) throws -> String? {
    guard let nvcc = path else {
      throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "nvcc"])
    }
    var arguments = [
      "-std=c++17", "-O3", "-shared", "-Xcompiler", "-fPIC", "-Xlinker", "--strip-all",
    ]
    if warningsAsErrors { arguments += ["-Werror", "all-warnings"] }
    let sorted = Array(Set(architectures)).sorted()
    for arch in sorted { arguments += ["-gencode", "arch=compute_\(arch),code=sm_\(arch)"] }
    if ptx, let newest = sorted.last {
      arguments += ["-gencode", "arch=compute_\(newest),code=compute_\(newest)"]
    }
    arguments += ["-o", output, unit]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: nvcc)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return process.terminationStatus == 0 ? nil : log
  }
}
