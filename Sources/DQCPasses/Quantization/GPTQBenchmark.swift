import CBLAS
import DQCIR
import Dispatch

/// The `cgq` layer workload on random data, timed: Hessian accumulation over calibration
/// sequences (certainty-weighted rows, one `dgemm` per sequence) and GPTQ on one weight.
///
/// OpenBLAS runs on one thread, as it does inside `dqc compile` (the interpreter pins it).
public enum GPTQBenchmark {
  /// Timings of one run.
  public struct Report: Sendable {
    /// Seconds to accumulate the Hessian.
    public var hessianSeconds: Double
    /// Seconds for GPTQ on the weight.
    public var gptqSeconds: Double
    /// Mean absolute difference between the weight and its dequantized version.
    public var meanAbsoluteError: Double
  }

  /// Runs the workload: a `[rows, columns]` weight, `sequences × tokens` calibration rows.
  public static func run(
    rows: Int, columns: Int, sequences: Int, tokens: Int, groupSize: Int, seed: UInt64
  ) throws -> Report {
    openblas_set_num_threads(1)
    var rng = SplitMix64(seed: seed)
    let weight = (0..<(rows * columns)).map { _ in rng.nextUnit() * 2 - 1 }
    var accumulator = HessianAccumulator(columns: columns)
    var hessianNanoseconds: UInt64 = 0
    var batch = [Double](repeating: 0, count: tokens * columns)
    for _ in 0..<sequences {
      for i in 0..<batch.count { batch[i] = rng.nextUnit() * 2 - 1 }
      let start = DispatchTime.now().uptimeNanoseconds
      // CGQ's weights: masked tokens 1, decoded ones 0.7, plus the square root of a confidence.
      var weighted = batch
      for t in 0..<tokens {
        let w = (t % 3 == 0 ? 1.0 : 0.7) + (Double(t % 10) / 10).squareRoot()
        for c in 0..<columns { weighted[t * columns + c] *= w }
      }
      accumulator.add(weighted)
      hessianNanoseconds += DispatchTime.now().uptimeNanoseconds - start
    }
    let gptq = GPTQ(quantizer: WeightQuantizer(bits: 4, groupSize: groupSize, symmetric: false))
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try gptq.quantize(
      weight, rows: rows, columns: columns, hessian: accumulator.hessian)
    let gptqNanoseconds = DispatchTime.now().uptimeNanoseconds - start
    let error = zip(weight, result.dequantized).reduce(0) { $0 + abs($1.0 - $1.1) }
    return Report(
      hessianSeconds: Double(hessianNanoseconds) / 1e9, gptqSeconds: Double(gptqNanoseconds) / 1e9,
      meanAbsoluteError: error / Double(weight.count))
  }
}
