import DQCIR
import DQCInterp
import Foundation

/// `dqc eval`: exact-match accuracy of sampled answers, and masked-token NLL by mask ratio.
public struct EvalJob: Sendable {
  /// One problem of a task file.
  public struct Record: Sendable {
    /// Prompt token ids.
    public var prompt: [Int64]
    /// Expected answer ids, EOS padding included, when the file gives them.
    public var answerIDs: [Int64]?
    /// Expected answer text.
    public var answer: String
    /// Tokens to generate.
    public var genLength: Int
  }

  /// The task file (JSONL: `prompt`, `answer`, optional `prompt_ids`, `answer_ids`, `gen_length`).
  public var taskFile: String
  /// Evaluate at most this many problems (in file order).
  public var limit: Int?
  /// Steps per answer (default: the answer length).
  public var steps: Int?
  /// Block length (default: the answer length).
  public var blockLength: Int?
  /// Sequences per forward pass.
  public var batchSize = 64
  /// Also measure masked-token NLL at mask ratios 0.1 … 0.9.
  public var nll = false
  /// Seed for the NLL masks.
  public var seed: UInt64 = 0
  /// Independent mask draws per problem and mask ratio for the NLL (draw 0 is the same mask
  /// for every draw count).
  public var nllDraws = 1

  /// Creates a job.
  public init(taskFile: String) { self.taskFile = taskFile }

  /// Reads the task file.
  public func records(for model: DiffusionModel) throws(DriverError) -> [Record] {
    guard let text = try? String(contentsOfFile: taskFile, encoding: .utf8) else {
      throw .usage("cannot read task file '\(taskFile)'")
    }
    var out: [Record] = []
    for (n, line) in text.split(separator: "\n").enumerated()
    where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      if let limit, out.count >= limit { break }
      guard
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
        let prompt = object["prompt"] as? String, let answer = object["answer"] as? String
      else {
        throw .usage("\(taskFile):\(n + 1): expected a JSON object with 'prompt' and 'answer'")
      }
      let promptIDs = (object["prompt_ids"] as? [Any])?.compactMap { ($0 as? Int).map(Int64.init) }
      let answerIDs = (object["answer_ids"] as? [Any])?.compactMap { ($0 as? Int).map(Int64.init) }
      var ids = promptIDs
      if ids == nil { ids = try model.encode(prompt) }
      guard let ids else {
        throw .usage("\(taskFile):\(n + 1): no prompt_ids and no tokenizer to encode the prompt")
      }
      let length: Int
      if let given = (object["gen_length"] as? Int) ?? answerIDs?.count {
        length = given
      } else {
        length = (try model.encode(answer)?.count ?? 0) + 1
      }
      out.append(Record(prompt: ids, answerIDs: answerIDs, answer: answer, genLength: length))
    }
    return out
  }

  /// The result of an evaluation.
  public struct Result: Sendable {
    /// Problems evaluated.
    public var total: Int
    /// Exactly matched answers.
    public var correct: Int
    /// Mean masked-token NLL per mask ratio (when measured).
    public var nll: [(ratio: Double, nll: Double, tokens: Int)]
    /// Every NLL measurement (problem, ratio, draw), for paired comparisons between models.
    ///
    /// Two models evaluated with the same seed see the same masks.
    public var nllSamples: [NLLSample] = []
    /// After each quarter of the denoising steps: answer tokens committed so far and how many of
    /// them equal the reference (problems with `answer_ids` only).
    public var quarters: [(committed: Int, correct: Int)] = []
    /// The sampled answer (generated tokens, EOS padding included) of every problem, in file
    /// order.
    public var answers: [[Int64]] = []

    /// Accuracy in [0, 1].
    public var accuracy: Double { Double(correct) / Double(max(total, 1)) }

    /// The Wilson score interval at 95%.
    public var interval: (Double, Double) {
      let n = Double(max(total, 1))
      let p = accuracy
      let z = 1.959964
      let center = (p + z * z / (2 * n)) / (1 + z * z / n)
      let half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()) / (1 + z * z / n)
      return (max(0, center - half), min(1, center + half))
    }

    /// The printed report.
    public var text: String {
      let (lo, hi) = interval
      var out = String(
        format: "exact match: %d/%d = %.2f%% (95%% CI %.2f–%.2f%%)", correct, total, accuracy * 100,
        lo * 100, hi * 100)
      if quarters.contains(where: { $0.committed > 0 }) {
        out += "\ncommitted-token accuracy after each quarter of the steps:"
        for (q, entry) in quarters.enumerated() {
          let share = Double(entry.correct) / Double(max(entry.committed, 1)) * 100
          out += String(
            format: " %d/4 %.2f%% (%d/%d)", q + 1, share, entry.correct, entry.committed)
        }
      }
      for (ratio, value, tokens) in nll {
        out += String(
          format: "\nmasked-token NLL at mask ratio %.1f: %.8f nats/token (%d tokens)", ratio,
          value, tokens)
      }
      return out
    }
  }

  /// Runs the evaluation.
  public func run(model: DiffusionModel) throws -> Result {
    let records = try records(for: model)
    var correct = 0
    var quarters = Array(repeating: (committed: 0, correct: 0), count: 4)
    var answers = Array(repeating: [Int64](), count: records.count)
    var progress = ProgressReporter(label: "eval", total: records.count)
    var done = 0
    // Batch problems that share prompt and answer lengths.
    var groups: [String: [Int]] = [:]
    for (i, r) in records.enumerated() {
      groups["\(r.prompt.count)/\(r.genLength)", default: []].append(i)
    }
    for key in groups.keys.sorted() {
      let members = groups[key] ?? []
      for chunk in stride(from: 0, to: members.count, by: batchSize).map({
        Array(members[$0..<min($0 + batchSize, members.count)])
      }) {
        let first = records[chunk[0]]
        let options = SamplerOptions(
          steps: steps ?? first.genLength, genLength: first.genLength,
          blockLength: blockLength ?? first.genLength)
        let sampler = DiffusionSampler(maskID: model.maskID, options: options)
        // The last step of each quarter: committed answer tokens checked against the reference.
        let quarterEnds = (1...4).map { (options.steps * $0 + 3) / 4 - 1 }
        let promptLength = first.prompt.count
        let outputs = try sampler.generate(
          prompts: chunk.map { records[$0].prompt }, forward: model.logits
        ) { b, step in
          guard let expected = records[chunk[b]].answerIDs else { return }
          for (q, end) in quarterEnds.enumerated() where end == step.step {
            for (j, token) in step.output[promptLength...].enumerated() where token != model.maskID
            {
              quarters[q].committed += 1
              if j < expected.count, token == expected[j] { quarters[q].correct += 1 }
            }
          }
        }
        for (i, sequence) in zip(chunk, outputs) {
          let r = records[i]
          answers[i] = Array(sequence[r.prompt.count...])
          if let expected = r.answerIDs {
            if Array(sequence[r.prompt.count...]) == expected { correct += 1 }
          } else if model.text(model.answer(of: sequence, promptLength: r.prompt.count)) == r.answer
          {
            correct += 1
          }
        }
        done += chunk.count
        progress.update(done)
      }
    }
    var nllRows: [(Double, Double, Int)] = []
    var samples: [NLLSample] = []
    if nll {
      for tenth in 1...9 {
        let ratio = Double(tenth) / 10
        let measured = try maskedNLL(records, model: model, ratio: ratio)
        let nats = measured.reduce(0.0) { $0 + $1.nats }
        let tokens = measured.reduce(0) { $0 + $1.tokens }
        nllRows.append((ratio, nats / Double(max(tokens, 1)), tokens))
        samples += measured
      }
    }
    return Result(
      total: records.count, correct: correct, nll: nllRows, nllSamples: samples,
      quarters: quarters, answers: answers)
  }

  /// One masked-token NLL measurement: one problem, mask ratio and mask draw.
  public struct NLLSample: Sendable {
    /// The problem's index in the task file (after `limit`).
    public var problem: Int
    /// The mask ratio.
    public var ratio: Double
    /// The mask draw (0 ..< `nllDraws`).
    public var draw: Int
    /// Summed negative log-likelihood of the true tokens at the masked positions, in nats.
    public var nats: Double
    /// Masked positions.
    public var tokens: Int
    /// The masked answer positions (0 = the first answer token).
    public var masked: [Int]

    /// The sample as one JSON line.
    public var jsonLine: String {
      String(
        format:
          "{\"problem\": %d, \"ratio\": %.1f, \"draw\": %d, \"nats\": %.17g, \"tokens\": %d, \"masked\": [%@]}\n",
        problem, ratio, draw, nats, tokens, masked.map(String.init).joined(separator: ", "))
    }
  }

  /// The masked-token NLL of every problem and draw at one mask ratio.
  ///
  /// Each answer token is masked with probability `ratio` (at least one per problem; seeded by
  /// problem, ratio and draw). Inputs of the same length go through the model together.
  func maskedNLL(_ records: [Record], model: DiffusionModel, ratio: Double) throws -> [NLLSample] {
    struct Input {
      var problem: Int, draw: Int, ids: [Int64], promptLength: Int, answer: [Int64]
      var masked: [Bool]
    }
    var inputs: [Input] = []
    for (i, r) in records.enumerated() {
      var answerIDs = r.answerIDs
      if answerIDs == nil { answerIDs = try model.encode(r.answer) }
      guard let answer = answerIDs,
        !answer.isEmpty
      else { continue }
      for draw in 0..<max(nllDraws, 1) {
        var rng = SplitMix64(
          seed: seed &+ UInt64(i) &* 0x9e37_79b9 &+ UInt64(ratio * 1000)
            &+ UInt64(draw) &* 0xd1b5_4a32_d192_ed03)
        var masked = answer.map { _ in rng.nextUnit() < ratio }
        if !masked.contains(true) { masked[Int(rng.next() % UInt64(answer.count))] = true }
        let ids = r.prompt + zip(answer, masked).map { $1 ? model.maskID : $0 }
        inputs.append(
          Input(
            problem: i, draw: draw, ids: ids, promptLength: r.prompt.count, answer: answer,
            masked: masked))
      }
    }
    var byLength: [Int: [Int]] = [:]
    for (n, input) in inputs.enumerated() { byLength[input.ids.count, default: []].append(n) }
    var samples = [NLLSample?](repeating: nil, count: inputs.count)
    for length in byLength.keys.sorted() {
      let members = byLength[length] ?? []
      for start in stride(from: 0, to: members.count, by: max(batchSize, 1)) {
        let chunk = Array(members[start..<min(start + max(batchSize, 1), members.count)])
        let logits = try model.logits(chunk.map { inputs[$0].ids })
        let vocab = logits.shape[2]
        let values = logits.floats
        for (b, n) in chunk.enumerated() {
          let input = inputs[n]
          var nats = 0.0
          var count = 0
          for (j, isMasked) in input.masked.enumerated() where isMasked {
            let row = (b * length + input.promptLength + j) * vocab
            var maxLogit = -Float.infinity
            for v in 0..<vocab { maxLogit = max(maxLogit, values[row + v]) }
            var sum = 0.0
            for v in 0..<vocab { sum += exp(Double(values[row + v] - maxLogit)) }
            nats += -(Double(values[row + Int(input.answer[j])] - maxLogit) - log(sum))
            count += 1
          }
          samples[n] = NLLSample(
            problem: input.problem, ratio: ratio, draw: input.draw, nats: nats, tokens: count,
            masked: input.masked.indices.filter { input.masked[$0] })
        }
      }
    }
    return samples.compactMap { $0 }
  }
}
