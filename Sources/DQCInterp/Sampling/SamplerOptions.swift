/// How LLaDA's diffusion sampler decodes an answer.
public struct SamplerOptions: Sendable, Hashable {
  /// How masked positions are chosen for committing at each step.
  public enum Remasking: Sendable, Hashable {
    /// Commit the most confident predictions (LLaDA's `low_confidence`).
    case lowConfidence
    /// Commit positions in a seeded random order (LLaDA's `random`).
    case random(seed: UInt64)
  }

  /// Denoising steps over the whole answer.
  public var steps: Int
  /// Answer length in tokens.
  public var genLength: Int
  /// Block length; the answer is decoded block by block, left to right.
  public var blockLength: Int
  /// Remasking strategy.
  public var remasking: Remasking

  /// Creates options; `validate()` checks them.
  public init(steps: Int, genLength: Int, blockLength: Int, remasking: Remasking = .lowConfidence) {
    self.steps = steps
    self.genLength = genLength
    self.blockLength = blockLength
    self.remasking = remasking
  }

  /// A problem with the options, in words, or nil.
  public func validate() -> String? {
    guard genLength > 0, steps > 0, blockLength > 0 else {
      return "steps, gen length and block length must be positive"
    }
    guard genLength % blockLength == 0 else {
      return "gen length \(genLength) must be a multiple of block length \(blockLength)"
    }
    let blocks = genLength / blockLength
    guard steps % blocks == 0 else {
      return "steps \(steps) must be a multiple of the number of blocks \(blocks)"
    }
    return nil
  }

  /// The number of tokens committed at each of `steps` steps when `masked` tokens are masked:
  /// `masked / steps` each, plus one for the first `masked % steps` steps (LLaDA's
  /// `get_num_transfer_tokens`).
  public static func transferSchedule(masked: Int, steps: Int) -> [Int] {
    let base = masked / steps
    let remainder = masked % steps
    return (0..<steps).map { base + ($0 < remainder ? 1 : 0) }
  }
}

/// One denoising step, as recorded for tracing and calibration.
public struct SamplerStep: Sendable, Hashable {
  /// Step index over the whole answer.
  public var step: Int
  /// Block index.
  public var block: Int
  /// The sequence the model saw (before this step's commits).
  public var input: [Int64]
  /// Which positions of `input` were masked.
  public var masked: [Bool]
  /// Per position: for a masked token, the model's probability of its argmax at this step; for
  /// a decoded token, the confidence it had when committed; for prompt tokens, 1.
  public var confidence: [Double]
  /// Positions committed at this step.
  public var committed: [Int]
  /// The sequence after the step.
  public var output: [Int64]
}
