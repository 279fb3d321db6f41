import DQCBackend
import Foundation
import Testing

/// nvcc, for the tests that compile the CUDA back end's generated launch code.
///
/// Without nvcc those tests skip, unless `DQC_REQUIRE_NVCC=1` (what `make test` sets once
/// `Scripts/setup.sh` has installed the CUDA toolkit), which makes a missing nvcc a failure.
public enum NVCC {
  /// The architectures every generated translation unit must compile for.
  public static let architectures = [80, 89, 90]

  /// nvcc's path (`NVCCCompiler.path`); nil if none.
  public static var path: String? { NVCCCompiler.path }

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
    guard path != nil else {
      if isRequired {
        Issue.record("nvcc not found (DQC_REQUIRE_NVCC=1)", sourceLocation: sourceLocation)
      }
      return nil
    }
    let dir = Paths.temporaryDirectory()
    let unit = dir + "/\(name).cu"
    try source.write(toFile: unit, atomically: true, encoding: .utf8)
    return try NVCCCompiler.compileSharedLibrary(
      unit: unit, output: dir + "/\(name).so", architectures: architectures,
      warningsAsErrors: true)
  }
}
