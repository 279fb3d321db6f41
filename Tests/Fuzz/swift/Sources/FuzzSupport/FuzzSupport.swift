import Foundation

/// One scratch folder per fuzzer process (`/tmp/dqc-fuzz-<pid>/`), created on first use and
/// removed at exit; every input overwrites the same file in it, so a campaign does not fill the disk.
public enum FuzzScratch {
  /// The folder.
  public static let directory: String = {
    let path = "/tmp/dqc-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: FuzzScratch.directory) }
    return path
  }()

  /// The name of the fixed external-data file in `externalDataDirectory`.
  public static let externalDataName = "weights.bin"

  /// The scratch folder, holding `externalDataName`: 4096 bytes, byte `i` being `i % 251`
  /// (written once per process, the same in every run).
  public static let externalDataDirectory: String = {
    let bytes = Data((0..<4096).map { UInt8($0 % 251) })
    try? bytes.write(to: URL(fileURLWithPath: "\(directory)/\(externalDataName)"))
    return directory
  }()
}
