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

  /// Writes `size` bytes at `data` to `name` in the scratch folder (replacing it) and returns
  /// its path, or nil if the write failed.
  public static func write(_ data: UnsafePointer<UInt8>, _ size: Int, as name: String) -> String? {
    let path = "\(directory)/\(name)"
    let bytes = Data(bytes: data, count: size)
    do {
      try bytes.write(to: URL(fileURLWithPath: path))
    } catch {
      return nil
    }
    return path
  }
}
