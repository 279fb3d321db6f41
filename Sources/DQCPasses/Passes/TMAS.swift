import DQCIR
import DQCInterp
import Foundation

/// TMAS (temporal-mask adaptive sampling): the calibration set is drawn from the FP model's own
/// sampler trajectories, so calibration sees the masked states the model really runs on.
///
/// Each calibration prompt is decoded with LLaDA's sampler; every step's input becomes a
/// candidate snapshot with its mask flags and confidences. The steps are split into four
/// consecutive segments of equal length, and `samples` snapshots are drawn (seeded) from them in
/// the proportions of `split` (default 0.3/0.2/0.2/0.3: the nearly-all-masked and
/// nearly-all-decoded ends get more).
public struct TMAS: ModulePass {
  public static let name = "tmas"
  public static let displayName = "TMAS"
  public static let summary =
    "Build the calibration set from the model's own diffusion trajectories"
  public static let optionSpecs = [
    PassOptionSpec(
      "calib", .string, default: .string(""), "JSONL of prompts (prompt_ids, gen_length)"),
    PassOptionSpec("samples", .int, default: .int(64), "Snapshots to draw"),
    PassOptionSpec(
      "split", .string, default: .string("0.3/0.2/0.2/0.3"),
      "Shares of the four trajectory segments"),
    PassOptionSpec(
      "prompts", .int, default: .int(32), "Calibration prompts to decode (first N of the file)"),
    PassOptionSpec("seed", .int, default: .int(0), "Seed for drawing snapshots"),
    PassOptionSpec(
      "mask-id", .int, default: .int(-1), "Mask token id (default: model.mask_token_id)"),
  ]

  let options: PassOptions
  let split: [Double]

  public init(options: PassOptions) throws(PassError) {
    self.options = options
    let parts = options.string("split").split(separator: "/").compactMap { Double($0) }
    guard parts.count == 4, parts.allSatisfy({ $0 >= 0 }), parts.reduce(0, +) > 0 else {
      throw .badOption(
        pass: Self.name, option: "split", column: 0,
        message: "expected four non-negative shares such as 0.3/0.2/0.2/0.3")
    }
    split = parts.map { $0 / parts.reduce(0, +) }
    guard !options.string("calib").isEmpty else {
      throw .badOption(
        pass: Self.name, option: "calib", column: 0,
        message: "needs a calibration file: tmas{calib=prompts.jsonl}")
    }
  }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let records = try CalibrationFile.read(options.string("calib"), pass: Self.name).prefix(
      options.int("prompts"))
    let mask = options.int("mask-id")
    let runner = try ModelRunner(
      module: module, maskID: mask >= 0 ? Int64(mask) : nil, pass: Self.name)
    var segments: [[CalibrationSet.Sample]] = [[], [], [], []]
    do {
      for record in records {
        let sampler = DiffusionSampler(
          maskID: runner.maskID,
          options: SamplerOptions(
            steps: record.genLength, genLength: record.genLength, blockLength: record.genLength))
        _ = try sampler.generate(prompts: [record.prompt], forward: runner.logits) { _, step in
          let segment = min(3, step.step * 4 / record.genLength)
          segments[segment].append(
            CalibrationSet.Sample(
              tokens: step.input, masked: step.masked, confidence: step.confidence, segment: segment
            ))
        }
      }
    } catch {
      throw .invalidModule(pass: Self.name, message: "sampling failed: \(error)")
    }
    var rng = SplitMix64(seed: UInt64(options.int("seed")))
    var samples: [CalibrationSet.Sample] = []
    let total = options.int("samples")
    for (s, share) in split.enumerated() where !segments[s].isEmpty {
      let want = Int((share * Double(total)).rounded())
      for _ in 0..<want { samples.append(segments[s][Int(rng.next() % UInt64(segments[s].count))]) }
    }
    let set = CalibrationSet(method: "tmas", samples: samples)
    context.calibration = set
    module.attributes["calib.set"] = set.reference
    module.attributes["calib.method"] = .string("tmas")
    module.attributes["calib.split"] = .string(options.string("split"))
    return PassOutcome(changed: true, statistics: [("snapshots", samples.count)])
  }
}
