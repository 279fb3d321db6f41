import ArgumentParser
import DQCPasses
import Foundation

/// `dqc bench-gptq`: times CGQ's layer workload on random data (for `Scripts/bench_gptq.py`).
struct BenchGPTQ: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-gptq",
    abstract: "Time Hessian accumulation and GPTQ on one random layer (a benchmark).")

  @Option(help: "Weight rows (output features).")
  var rows = 4096
  @Option(help: "Weight columns (input features).")
  var columns = 4096
  @Option(help: "Calibration sequences.")
  var sequences = 128
  @Option(help: "Tokens per sequence.")
  var tokens = 256
  @Option(help: "Group size.")
  var groupSize = 128
  @Option(help: "Threads for the Hessian and GPTQ (results do not depend on it).")
  var threads = 2
  @Option(help: "Random seed.")
  var seed: UInt64 = 0

  func run() throws {
    let report = try GPTQBenchmark.run(
      rows: rows, columns: columns, sequences: sequences, tokens: tokens, groupSize: groupSize,
      threads: threads, seed: seed)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print(
      String(
        format:
          "hessian %.3f s, gptq %.3f s, total %.3f s, peak RSS %.1f MiB, mean |W - Q(W)| %.5f",
        report.hessianSeconds, report.gptqSeconds, report.hessianSeconds + report.gptqSeconds,
        Double(usage.ru_maxrss) / 1024, report.meanAbsoluteError))
  }
}
