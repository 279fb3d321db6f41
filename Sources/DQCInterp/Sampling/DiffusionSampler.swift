import DQCIR
import Foundation

/// LLaDA's diffusion sampler over any forward function.
///
/// The sequence starts as `prompt + [MASK] × genLength`; the answer is split into blocks of
/// `blockLength`, each given `steps / blocks` steps. At each step the model predicts every
/// position; the argmax and its softmax probability (computed in float64) are taken at the masked
/// positions of the current block, and the `k` most confident are committed, with `k` from
/// `SamplerOptions.transferSchedule`, so the block is full at its last step (low-confidence
/// remasking). Ties go to the lower position. Like LLaDA it does not stop early at EOS: the
/// caller truncates the answer there.
public struct DiffusionSampler: Sendable {
  /// The mask token id.
  public let maskID: Int64
  /// The options.
  public let options: SamplerOptions

  /// Creates a sampler.
  public init(maskID: Int64, options: SamplerOptions) {
    self.maskID = maskID
    self.options = options
  }

  /// Decodes answers for prompts of one length, in a batch.
  ///
  /// `forward` maps a batch of sequences `[B][T]` to logits `[B, T, V]`. `record` is called with
  /// every step of every sequence. Returns the full sequences (prompt + answer).
  public func generate(
    prompts: [[Int64]], forward: ([[Int64]]) throws -> Tensor,
    record: ((Int, SamplerStep) -> Void)? = nil
  ) throws -> [[Int64]] {
    if let problem = options.validate() { throw InterpreterError(problem) }
    guard let promptLength = prompts.first?.count, prompts.allSatisfy({ $0.count == promptLength })
    else {
      throw InterpreterError("a batch needs prompts of one length")
    }
    var x = prompts.map { $0 + Array(repeating: maskID, count: options.genLength) }
    var committedConfidence = prompts.map { _ in
      Array(repeating: 1.0, count: promptLength) + Array(repeating: 0.0, count: options.genLength)
    }
    let blocks = options.genLength / options.blockLength
    let stepsPerBlock = options.steps / blocks
    var rng = SplitMix64(
      seed: { if case .random(let s) = options.remasking { return s } else { return 0 } }())
    var step = 0
    for block in 0..<blocks {
      let start = promptLength + block * options.blockLength
      let end = start + options.blockLength
      let schedules = x.map { row in
        SamplerOptions.transferSchedule(
          masked: row[start..<end].filter { $0 == maskID }.count, steps: stepsPerBlock)
      }
      for i in 0..<stepsPerBlock {
        let logits = try forward(x)
        guard logits.shape.count == 3, logits.shape[0] == x.count, logits.shape[1] == x[0].count
        else {
          throw InterpreterError(
            "the model returned logits \(logits.shape), expected [\(x.count), \(x[0].count), vocab]"
          )
        }
        let vocab = logits.shape[2]
        let values = logits.floats
        for b in 0..<x.count {
          let input = x[b]
          var candidates: [(position: Int, token: Int64, confidence: Double)] = []
          var stepConfidence = committedConfidence[b]
          for p in 0..<input.count where input[p] == maskID {
            let row = (b * input.count + p) * vocab
            let (token, probability) = Self.argmaxProbability(values, row, vocab)
            stepConfidence[p] = probability
            guard p >= start && p < end else { continue }
            let score: Double
            switch options.remasking {
            case .lowConfidence: score = probability
            case .random: score = rng.nextUnit()
            }
            candidates.append((p, token, score))
          }
          candidates.sort {
            $0.confidence > $1.confidence
              || ($0.confidence == $1.confidence && $0.position < $1.position)
          }
          let chosen = candidates.prefix(schedules[b][i])
          for c in chosen {
            x[b][c.position] = c.token
            committedConfidence[b][c.position] = stepConfidence[c.position]
          }
          record?(
            b,
            SamplerStep(
              step: step, block: block, input: input, masked: input.map { $0 == maskID },
              confidence: stepConfidence, committed: chosen.map(\.position).sorted(), output: x[b]))
        }
        step += 1
      }
    }
    return x
  }

  /// The argmax of one row of logits and its softmax probability, computed in float64.
  public static func argmaxProbability(_ logits: [Float], _ row: Int, _ vocab: Int) -> (
    Int64, Double
  ) {
    var best = 0
    var bestValue = -Float.infinity
    for v in 0..<vocab where logits[row + v] > bestValue {
      bestValue = logits[row + v]
      best = v
    }
    var sum = 0.0
    let top = Double(bestValue)
    for v in 0..<vocab { sum += exp(Double(logits[row + v]) - top) }
    return (Int64(best), 1 / sum)
  }
}
