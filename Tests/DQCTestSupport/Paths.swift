import Foundation

/// Locations tests need: the package root, the golden tree, the built `dqc` binary.
public enum Paths {
  /// The package root (the directory holding `Package.swift`).
  public static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url.path
      }
    }
    return FileManager.default.currentDirectoryPath
  }()

  /// `Golden/` under the package root.
  public static var golden: String { packageRoot + "/Golden" }

  /// The files under `directory` (recursively) whose names end with `suffix`, sorted.
  public static func files(under directory: String, suffix: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    var out: [String] = []
    while let item = enumerator.nextObject() as? String {
      if item.hasSuffix(suffix) { out.append(directory + "/" + item) }
    }
    return out.sorted()
  }

  /// The `dqc` executable built next to the test bundle (or `$DQC_BINARY`).
  public static var dqcBinary: String {
    if let explicit = ProcessInfo.processInfo.environment["DQC_BINARY"] { return explicit }
    let candidates = [
      Bundle.main.bundleURL.appendingPathComponent("dqc").path,
      Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("dqc").path,
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("dqc").path,
      packageRoot + "/.build/debug/dqc",
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
  }

  /// A new empty temporary directory.
  public static func temporaryDirectory() -> String {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("dqc-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
  }
}

/// The outcome of running a command.
public struct CommandResult: Sendable {
  /// Exit status.
  public var status: Int32
  /// Standard output.
  public var stdout: String
  /// Standard error.
  public var stderr: String
}

/// Runs an executable with arguments and collects its output.
public func runCommand(_ executable: String, _ arguments: [String], cwd: String? = nil) throws
  -> CommandResult
{
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read both pipes before waiting so a large output cannot block the child.
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return CommandResult(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}
