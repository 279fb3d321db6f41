import ArgumentParser
import DQCDriver
import DQCInterp
import Foundation

/// Sampler flags shared by `run` and `eval`.
struct SamplerFlags: ParsableArguments {
  @Option(help: "Denoising steps (default: the answer length).")
  var steps: Int?

  @Option(help: "Answer length in tokens.")
  var genLength: Int?

  @Option(help: "Block length (default: the answer length).")
  var blockLength: Int?

  @Option(help: "Remasking: low-confidence (LLaDA's default) or random.")
  var remasking = "low-confidence"

  @Option(help: "Seed for random remasking.")
  var seed: UInt64 = 0

  @Option(help: "tokenizer.json to use (default: the one next to the model).")
  var tokenizer: String?

  @Option(
    help:
      "cpu (the bundled runtime; the default for bundles), cuda, or interpreter (dqc's reference interpreter; the only choice for .onnx, .dqir and checkpoints)."
  )
  var device: ExecutionEngine?

  func validate() throws {
    guard remasking == "low-confidence" || remasking == "random" else {
      throw ValidationError("--remasking must be low-confidence or random")
    }
  }

  var remaskingMode: SamplerOptions.Remasking {
    remasking == "random" ? .random(seed: seed) : .lowConfidence
  }
}

/// `dqc run`: sample an answer with LLaDA's diffusion sampler.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Sample an answer for a prompt with LLaDA's diffusion sampler.",
    discussion:
      "Example: dqc run Tests/Fixtures/llada-tiny --prompt 'rev:abc<|sep|>' --gen-length 8 --trace")

  @Argument(help: "A .dqb bundle, a .dqir file, an .onnx file or a checkpoint folder.")
  var model: String

  @Option(help: "The prompt text.")
  var prompt: String

  @OptionGroup var sampler: SamplerFlags

  @Flag(help: "Print the answer after every step (_ marks masked tokens).")
  var trace = false

  @Option(help: "Kernel threads on the runtime (0: all cores).")
  var threads = 0

  func run() throws {
    try runReportingErrors {
      let loaded = try DiffusionModel(
        path: model, tokenizerPath: sampler.tokenizer, engine: sampler.device, threads: threads)
      let length = sampler.genLength ?? 32
      var job = RunJob(
        prompt: prompt,
        options: SamplerOptions(
          steps: sampler.steps ?? length, genLength: length,
          blockLength: sampler.blockLength ?? length,
          remasking: sampler.remaskingMode))
      job.trace = trace
      if let problem = job.options.validate() { throw DriverError.usage(problem) }
      do {
        print(try job.run(model: loaded))
      } catch let error as DriverError {
        throw error
      } catch {
        throw DriverError.usage("\(error)")
      }
    }
  }
}

/// `dqc eval`: accuracy and masked-token NLL on a task file.
struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Exact-match accuracy (95% CI) on a JSONL task file; --nll adds masked-token NLL by mask ratio."
  )

  @Argument(help: "A .dqb bundle, a .dqir file, an .onnx file or a checkpoint folder.")
  var model: String

  @Option(
    help:
      "JSONL with 'prompt' and 'answer' (and optionally 'prompt_ids', 'answer_ids', 'gen_length').")
  var task: String

  @Option(help: "Evaluate the first N problems only.")
  var limit: Int?

  @Flag(help: "Also report masked-token NLL at mask ratios 0.1 … 0.9.")
  var nll = false

  @Option(help: "Mask draws per problem and ratio for --nll.")
  var nllDraws = 1

  @Option(
    help:
      "Write every NLL measurement here (JSONL: problem, ratio, draw, nats, tokens), for paired comparisons."
  )
  var nllOut: String?

  @OptionGroup var sampler: SamplerFlags

  @Option(help: "Sequences per forward pass.")
  var batchSize = 64

  @Option(help: "Write every sampled answer here (JSONL: index, answer_ids), to compare models.")
  var answers: String?

  @Option(help: "Threads for matrix products (interpreter) or kernels (runtime).")
  var threads = 2

  func validate() throws {
    guard (1...1000).contains(nllDraws) else {
      throw ValidationError("--nll-draws must be between 1 and 1000, not \(nllDraws)")
    }
  }

  func run() throws {
    try runReportingErrors {
      let loaded = try DiffusionModel(
        path: model, tokenizerPath: sampler.tokenizer, engine: sampler.device, threads: threads)
      Interpreter.setThreads(threads)
      var job = EvalJob(taskFile: task)
      job.limit = limit
      job.steps = sampler.steps
      job.blockLength = sampler.blockLength
      job.nll = nll || nllOut != nil
      job.nllDraws = nllDraws
      job.batchSize = batchSize
      do {
        let result = try job.run(model: loaded)
        if let answers {
          let lines = result.answers.enumerated().map { i, ids in
            "{\"index\": \(i), \"answer_ids\": [\(ids.map(String.init).joined(separator: ", "))]}\n"
          }
          try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: answers))
        }
        if let nllOut {
          try Data(result.nllSamples.map(\.jsonLine).joined().utf8).write(
            to: URL(fileURLWithPath: nllOut), options: .atomic)
        }
        print(result.text)
      } catch let error as DriverError {
        throw error
      } catch {
        throw DriverError.usage("\(error)")
      }
    }
  }
}

extension ExecutionEngine: ExpressibleByArgument {}
