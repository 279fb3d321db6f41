import DQCIR
import Foundation

/// What the pass manager prints or writes around each pass.
public struct Instrumentation: Sendable {
  /// Print the IR after every pass.
  public var printAfterAll = false
  /// Print the IR after these passes (by name).
  public var printAfter: Set<String> = []
  /// Print the IR before these passes (by name).
  public var printBefore: Set<String> = []
  /// The directory that receives `00-input.dqir`, `01-<pass>.dqir` and so on.
  public var dumpDirectory: String?
  /// Report each pass's wall time at the end.
  public var timePasses = false
  /// Report each pass's statistics at the end.
  public var passStatistics = false
  /// How printed and dumped IR shows weights.
  public var printOptions = PrintOptions()

  /// Creates instrumentation that does nothing.
  public init() {}

  /// The MLIR-style header of a dump: `// -----// IR Dump After Canonicalize (canonicalize) //----- //`.
  public static func header(after: Bool, pass: any ModulePass.Type) -> String {
    "// -----// IR Dump \(after ? "After" : "Before") \(pass.displayName) (\(pass.name)) //----- //"
  }
}

/// Timings and statistics gathered while a pipeline runs.
public struct PipelineReport: Sendable {
  /// One pass's record.
  public struct Entry: Sendable {
    /// The pass name.
    public var pass: String
    /// Wall time in seconds.
    public var seconds: Double
    /// What the pass reported.
    public var outcome: PassOutcome
  }

  /// Records in run order.
  public var entries: [Entry] = []

  /// An MLIR-style execution time report.
  public func timingReport() -> String {
    let total = entries.reduce(0) { $0 + $1.seconds }
    var out = "===-------------------------------------------------------------------------===\n"
    out += "                         ... Execution time report ...\n"
    out += "===-------------------------------------------------------------------------===\n"
    out += "  Total Execution Time: \(format(total)) seconds\n\n"
    out += "  ----Wall Time----  ----Name----\n"
    for e in entries {
      let pct = total > 0 ? e.seconds / total * 100 : 0
      out += "  \(format(e.seconds)) (\(String(format: "%5.1f", pct))%)  \(e.pass)\n"
    }
    out += "  \(format(total)) (100.0%)  Total\n"
    return out
  }

  /// Each pass's statistics, one per line.
  public func statisticsReport() -> String {
    var out = "===-------------------------------------------------------------------------===\n"
    out += "                         ... Pass statistics report ...\n"
    out += "===-------------------------------------------------------------------------===\n"
    for e in entries {
      out += "\(e.pass)\(e.outcome.changed ? "" : " (no change)")\n"
      for s in e.outcome.statistics { out += "  (S) \(s.value) \(s.name)\n" }
    }
    return out
  }

  private func format(_ seconds: Double) -> String { String(format: "%9.4f", seconds) }
}
