import DQCInterp
import Foundation

/// `dqc run`: sample one answer for a prompt.
public struct RunJob: Sendable {
  /// The prompt text (encoded with the model's tokenizer).
  public var prompt: String
  /// Sampler options.
  public var options: SamplerOptions
  /// Print the sequence after every step.
  public var trace = false

  /// Creates a job.
  public init(prompt: String, options: SamplerOptions) {
    self.prompt = prompt
    self.options = options
  }

  /// Samples and returns the printed text: the answer, preceded by the trace when asked.
  public func run(model: DiffusionModel) throws -> String {
    guard let tokenizer = model.tokenizer else {
      throw DriverError.usage("the model has no tokenizer.json next to it; pass --tokenizer")
    }
    let ids: [Int64]
    do {
      ids = try tokenizer.encode(prompt)
    } catch {
      throw DriverError.frontend(error)
    }
    var lines: [String] = []
    if let runtime = model.runtime, !trace {
      // The runtime's own sampler (dqc_session_generate); a trace needs the step callback of
      // the Swift sampler below, which then runs over the runtime's forward passes.
      var seed: UInt64?
      if case .random(let s) = options.remasking { seed = s }
      let output = try runtime.generate(
        prompt: ids, steps: options.steps, genLength: options.genLength,
        blockLength: options.blockLength, randomSeed: seed)
      return model.text(model.answer(of: output, promptLength: ids.count))
    }
    let sampler = DiffusionSampler(maskID: model.maskID, options: options)
    let output = try sampler.generate(prompts: [ids], forward: model.logits) { _, step in
      guard self.trace else { return }
      let shown = step.output[ids.count...].map {
        $0 == model.maskID ? "_" : (tokenizer.decode([$0]))
      }
      lines.append(
        String(format: "step %3d (block %d): ", step.step, step.block)
          + shown.joined(separator: "|"))
    }
    lines.append(model.text(model.answer(of: output[0], promptLength: ids.count)))
    return lines.joined(separator: "\n")
  }
}
