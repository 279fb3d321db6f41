import Foundation
import Testing

/// The one helper for golden files.
///
/// Compares a whole text with the expected file and reports a line diff on mismatch. With
/// `UPDATE_GOLDEN=1` in the environment it rewrites the expected file instead and still records
/// a failure, so an update can never pass by accident; run again without it to confirm.
public enum Golden {
  /// Whether this run rewrites expected files.
  public static var isUpdating: Bool { ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" }

  /// Checks `actual` against the file at `expectedPath`.
  public static func assertMatches(
    _ actual: String, expectedPath: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    if isUpdating {
      let old = try? String(contentsOfFile: expectedPath, encoding: .utf8)
      if old != actual {
        do {
          try actual.write(toFile: expectedPath, atomically: true, encoding: .utf8)
        } catch {
          Issue.record("cannot write \(expectedPath): \(error)", sourceLocation: sourceLocation)
          return
        }
      }
      Issue.record(
        "UPDATE_GOLDEN=1: \(old == actual ? "kept" : "rewrote") \(relative(expectedPath)); review `git diff Golden/` and run again without UPDATE_GOLDEN",
        sourceLocation: sourceLocation)
      return
    }
    guard let expected = try? String(contentsOfFile: expectedPath, encoding: .utf8) else {
      Issue.record(
        "missing golden file \(relative(expectedPath)); run with UPDATE_GOLDEN=1 to create it",
        sourceLocation: sourceLocation)
      return
    }
    assertEqualTexts(
      actual, expected, label: relative(expectedPath), sourceLocation: sourceLocation)
  }

  /// Records a failure with a line diff when two texts differ.
  public static func assertEqualTexts(
    _ actual: String, _ expected: String, label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    guard actual != expected else { return }
    let message =
      "\(label) differs (- expected, + actual):\n"
      + lineDiff(expected: expected, actual: actual)
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }

  /// A minimal line diff: common prefix and suffix are skipped, the rest is shown.
  public static func lineDiff(expected: String, actual: String) -> String {
    let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    var prefix = 0
    while prefix < min(e.count, a.count), e[prefix] == a[prefix] { prefix += 1 }
    var suffix = 0
    while suffix < min(e.count, a.count) - prefix,
      e[e.count - 1 - suffix] == a[a.count - 1 - suffix]
    {
      suffix += 1
    }
    var out = "@@ line \(prefix + 1) @@\n"
    for line in e[prefix..<(e.count - suffix)] { out += "-\(line)\n" }
    for line in a[prefix..<(a.count - suffix)] { out += "+\(line)\n" }
    return out
  }

  /// `path` relative to the package root, for messages.
  public static func relative(_ path: String) -> String {
    let root = Paths.packageRoot + "/"
    return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
  }
}
