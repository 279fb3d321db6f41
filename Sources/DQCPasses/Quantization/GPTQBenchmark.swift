import CBLAS
import DQCIR
import DQCInterp
import Dispatch

/// The `cgq` layer workload on random data, timed: Hessian accumulation over calibration
/// sequences (certainty-weighted float32 rows, one `HessianAccumulator.add` per sequence) and
/// GPTQ on one weight, on `threads` threads (`Interpreter.setThreads`, which the passes' tiled
/// products follow; OpenBLAS itself stays on one thread, as inside `dqc compile`).
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
    rows: Int, columns: Int, sequences: Int, tokens: Int, groupSize: Int, threads: Int,
    seed: UInt64
  ) throws -> Report {
    openblas_set_num_threads(1)
    Interpreter.setThreads(threads)
    var rng = SplitMix64(seed: seed)
    let weight = (0..<(rows * columns)).map { _ in rng.nextUnit() * 2 - 1 }
    var accumulator = HessianAccumulator(columns: columns)
    var hessianNanoseconds: UInt64 = 0
    var batch = [Float](repeating: 0, count: tokens * columns)
    // CGQ's weights: masked tokens 1, decoded ones 0.7, plus the square root of a confidence.
    let weights = (0..<tokens).map { t -> Double in
      let masked: Double = t % 3 == 0 ? 1 : 0.7
      return masked + (Double(t % 10) / 10).squareRoot()
    }
    for _ in 0..<sequences {
      for i in 0..<batch.count { batch[i] = Float(rng.nextUnit() * 2 - 1) }
      let start = DispatchTime.now().uptimeNanoseconds
      accumulator.add(batch, weights: weights)
      hessianNanoseconds += DispatchTime.now().uptimeNanoseconds - start
    }
    let start = DispatchTime.now().uptimeNanoseconds
    let hessian = accumulator.finish()
    hessianNanoseconds += DispatchTime.now().uptimeNanoseconds - start
    let gptq = GPTQ(quantizer: WeightQuantizer(bits: 4, groupSize: groupSize, symmetric: false))
    let gptqStart = DispatchTime.now().uptimeNanoseconds
    let result = try gptq.quantize(weight, rows: rows, columns: columns, hessian: hessian)
    let gptqNanoseconds = DispatchTime.now().uptimeNanoseconds - gptqStart
    let error = zip(weight, result.dequantized).reduce(0) { $0 + abs($1.0 - $1.1) }
    return Report(
      hessianSeconds: Double(hessianNanoseconds) / 1e9, gptqSeconds: Double(gptqNanoseconds) / 1e9,
      meanAbsoluteError: error / Double(weight.count))
  }
}
