import DQCIR
import DQCInterp

/// Baseline calibration sets to compare TMAS with.
enum CalibrationBaseline {
  static let optionSpecs = [
    PassOptionSpec("calib", .string, default: .string(""), "JSONL with prompt_ids and answer_ids"),
    PassOptionSpec("samples", .int, default: .int(64), "Sequences to build"),
    PassOptionSpec("seed", .int, default: .int(0), "Seed for the masks"),
    PassOptionSpec(
      "mask-id", .int, default: .int(-1), "Mask token id (default: model.mask_token_id)"),
  ]

  /// Builds `samples` sequences `prompt + answer`, masking answer tokens with probability
  /// `t ~ U(0, 1]` per sequence when `randomMask` (at least one); masked tokens get the FP
  /// model's argmax probability as confidence, the rest 1.
  static func build(
    _ module: Module, options: PassOptions, randomMask: Bool, pass: String
  ) throws(PassError) -> CalibrationSet {
    let path = options.string("calib")
    guard !path.isEmpty else {
      throw .badOption(
        pass: pass, option: "calib", column: 0,
        message: "needs a calibration file: \(pass){calib=train.jsonl}")
    }
    let records = try CalibrationFile.read(path, pass: pass).filter { $0.answer != nil }
    guard !records.isEmpty else {
      throw .invalidModule(pass: pass, message: "'\(path)' has no answer_ids")
    }
    let mask = options.int("mask-id")
    let runner = try ModelRunner(module: module, maskID: mask >= 0 ? Int64(mask) : nil, pass: pass)
    var rng = SplitMix64(seed: UInt64(options.int("seed")))
    var samples: [CalibrationSet.Sample] = []
    for i in 0..<options.int("samples") {
      let r = records[i % records.count]
      let answer = r.answer ?? []
      var masked = Array(repeating: false, count: r.prompt.count + answer.count)
      if randomMask {
        let t = 1 - rng.nextUnit()
        for j in 0..<answer.count where rng.nextUnit() < t { masked[r.prompt.count + j] = true }
        if !masked.contains(true) {
          masked[r.prompt.count + Int(rng.next() % UInt64(answer.count))] = true
        }
      }
      let tokens = zip(r.prompt + answer, masked).map { $1 ? runner.maskID : $0 }
      var confidence = Array(repeating: 1.0, count: tokens.count)
      if randomMask {
        do {
          let logits = try runner.logits([tokens])
          let vocab = logits.shape[2]
          let values = logits.floats
          for p in 0..<tokens.count where masked[p] {
            confidence[p] = DiffusionSampler.argmaxProbability(values, p * vocab, vocab).1
          }
        } catch {
          throw .invalidModule(pass: pass, message: "\(error)")
        }
      }
      samples.append(
        CalibrationSet.Sample(tokens: tokens, masked: masked, confidence: confidence, segment: 0))
    }
    return CalibrationSet(method: pass, samples: samples)
  }
}

/// A calibration pass that builds one of the baseline sets.
protocol CalibrationBaselinePass: ModulePass {
  /// Mask answer tokens (`calib-random-mask`) or not (`calib-clean`).
  static var randomMask: Bool { get }
  /// The pass's options.
  var options: PassOptions { get }
  /// Creates the pass around its options.
  init(storing options: PassOptions)
}

extension CalibrationBaselinePass {
  public static var optionSpecs: [PassOptionSpec] { CalibrationBaseline.optionSpecs }

  public init(options: PassOptions) throws(PassError) { self.init(storing: options) }

  public func run(on module: inout Module, context: inout PassContext) throws(PassError)
    -> PassOutcome
  {
    let set = try CalibrationBaseline.build(
      module, options: options, randomMask: Self.randomMask, pass: Self.name)
    context.calibration = set
    module.attributes["calib.set"] = set.reference
    module.attributes["calib.method"] = .string(Self.name)
    return PassOutcome(changed: true, statistics: [("sequences", set.samples.count)])
  }
}

/// Calibration on uniformly masked clean text (`t ~ U(0, 1]`), the usual diffusion-LM baseline.
public struct CalibRandomMask: CalibrationBaselinePass {
  public static let name = "calib-random-mask"
  public static let displayName = "CalibRandomMask"
  public static let summary = "Calibration set of answers masked with probability t ~ U(0,1]"
  static let randomMask = true
  let options: PassOptions

  init(storing options: PassOptions) { self.options = options }
}

/// Calibration on clean text with no masks (GPTQ/AWQ practice).
public struct CalibClean: CalibrationBaselinePass {
  public static let name = "calib-clean"
  public static let displayName = "CalibClean"
  public static let summary = "Calibration set of unmasked prompt + answer text"
  static let randomMask = false
  let options: PassOptions

  init(storing options: PassOptions) { self.options = options }
}
