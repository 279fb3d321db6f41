import Foundation
import Testing

/// nvcc, for the tests that compile the CUDA back end's generated launch code.
///
/// Without nvcc those tests skip, unless `DQC_REQUIRE_NVCC=1` (what `make test` sets once
/// `Scripts/setup.sh` has installed the CUDA toolkit), which makes a missing nvcc a failure.
public enum NVCC {
  /// The architectures every generated translation unit must compile for.
  public static let architectures = ["80", "89", "90"]

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

  /// Whether a missing nvcc fails the test rather than skipping it.
  public static var isRequired: Bool {
    ProcessInfo.processInfo.environment["DQC_REQUIRE_NVCC"] == "1"
  }

  /// Compiles `source` (a self-contained translation unit) for every architecture.
  ///
  /// The result is a shared library; warnings are errors. Returns nvcc's output on failure and
  /// nil on success; when nvcc is missing returns nil too, after recording an issue if nvcc is
  /// required.
  public static func compile(
    _ source: String, name: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> String? {
    guard let nvcc = path else {
      if isRequired {
        Issue.record("nvcc not found (DQC_REQUIRE_NVCC=1)", sourceLocation: sourceLocation)
      }
      return nil
    }
    let dir = Paths.temporaryDirectory()
    let unit = dir + "/\(name).cu"
    try source.write(toFile: unit, atomically: true, encoding: .utf8)
    var arguments = [
      "-std=c++17", "-O3", "-shared", "-Xcompiler", "-fPIC", "-Werror", "all-warnings",
    ]
    for arch in architectures { arguments += ["-gencode", "arch=compute_\(arch),code=sm_\(arch)"] }
    arguments += ["-o", dir + "/\(name).so", unit]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: nvcc)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return process.terminationStatus == 0 ? nil : log
  }
}
