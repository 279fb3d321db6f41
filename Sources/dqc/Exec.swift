import ArgumentParser
import DQCDriver

/// `dqc exec`: run a model with the reference interpreter on `.npy` inputs.
struct Exec: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a model on .npy inputs: bundles on the runtime, anything on the interpreter.",
    discussion: """
      Example: dqc exec model.onnx --input input_ids=ids.npy --output-dir out/
      writes one <output>.npy per graph output.
      """)

  @Argument(help: "A .dqb bundle, a .dqir file, an .onnx file or a checkpoint folder.")
  var model: String

  @Option(name: .customLong("input"), help: "NAME=FILE.npy for each graph input (repeatable).")
  var inputs: [String] = []

  @Option(help: "Write <output>.npy files here.")
  var outputDir: String?

  @Option(help: "Threads for matrix products (interpreter) or kernels (runtime).")
  var threads = 2

  @Option(
    help:
      "cpu or cuda: the bundled runtime (the default for a .dqb with a plan); interpreter: the reference interpreter."
  )
  var device: ExecutionEngine?

  @Option(
    name: .customLong("repeat"),
    help: "Run the forward pass this many times and print the median time.")
  var repeats = 1

  @Flag(
    inversion: .prefixedNo,
    help: """
      Optimize an imported ONNX model or checkpoint before running it (canonicalize, cse, raise, \
      dce), as ONNX Runtime optimizes graphs by default. .dqir files always run as written.
      """)
  var optimize = true

  func validate() throws {
    for item in inputs where !item.contains("=") {
      throw ValidationError("--input expects NAME=FILE.npy, got '\(item)'")
    }
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1") }
  }

  func run() throws {
    let pairs = inputs.map { item -> (name: String, path: String) in
      let parts = item.split(separator: "=", maxSplits: 1)
      return (String(parts[0]), String(parts[1]))
    }
    var job = ExecJob(model: model, inputs: pairs, outputDirectory: outputDir, threads: threads)
    job.repeats = repeats
    job.optimize = optimize
    job.engine = device
    try runReportingErrors { print(try job.run()) }
  }
}
