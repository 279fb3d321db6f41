import ArgumentParser
import DQCDriver
import DQCIR
import DQCInterp
import DQCPasses
import Foundation

/// `dqc compile`: import, raise and quantize a model with a named recipe.
struct Compile: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Quantize a model with a named recipe and write a .dqb bundle (or .dqir IR).",
    discussion: """
      Example: dqc compile ./llada-tiny -o w4a8.dqb --w4a8 --calib ./llada-tiny/calib/train_slice.jsonl
      Methods: dllmquant (TMAS + CGQ), gptq (TMAS calibration, unweighted Hessian), rtn (no calibration).
      Ablations: --no-tmas (uniformly masked calibration text), --no-cgq (GPTQ's Hessian),
      --no-ia-aq (min-max V scales for the 8-bit attention matmuls).
      """)

  @Argument(help: "An .onnx file, a checkpoint folder or a .dqir file.")
  var model: String

  @Option(name: .shortAndLong, help: "The bundle (.dqb) or quantized IR (.dqir) to write.")
  var output: String

  @Flag(
    help: "Precision: weights int4 group 128 with float, int8 or int4 activations, or int8/int8.")
  var precision: NamedPipeline.Precision = .w4a8

  @Option(help: "dllmquant, gptq or rtn.")
  var method: NamedPipeline.Method = .dllmquant

  @Option(help: "Calibration prompts (JSONL with prompt_ids, gen_length, answer_ids).")
  var calib: String?

  @Flag(help: "Calibrate on uniformly masked text instead of TMAS trajectories.")
  var noTmas = false

  @Flag(help: "Use GPTQ's unweighted Hessian instead of CGQ's.")
  var noCgq = false

  @Flag(help: "Use min-max V scales instead of IA-AQ's attention-weighted choice.")
  var noIaAq = false

  @Flag(
    help:
      "Migrate activation outliers into the weights first (SmoothQuant; needs --calib); for W4A4."
  )
  var smooth = false

  @Option(help: "SmoothQuant's migration strength α (0 to 1) for --smooth.")
  var smoothAlpha = 0.85

  @Option(help: "Override the group size (0: per channel).")
  var groupSize: Int?

  @Option(help: "Calibration snapshots.")
  var samples = 64

  @Option(help: "Per-layer precision, PATTERN=PRECISION, such as 'blocks.0.*=w8a8' (repeatable).")
  var layerPrecision: [String] = []

  @Option(
    help:
      "The output head's precision: float, w8a8 (int8 weights per channel, int8 activations) or body (like the other layers). Default: w8a8 when activations are quantized, else float."
  )
  var head: NamedPipeline.Head?

  @Flag(help: "Same as --head body.")
  var quantizeHead = false

  @Option(help: "The longest sequence (prompt plus answer) the bundle's kernel plan serves.")
  var maxSeqLen = 256

  @Option(
    help:
      "GPU architectures to prebuild the CUDA launch code for with nvcc, such as sm_89,sm_90 (default: the runtime compiles it on first use)."
  )
  var cudaArch: String?

  @Option(
    help:
      "Threads for calibration and weight quantization (default: all cores; the result is the same for any count)."
  )
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Flag(help: "Print the IR after every pass.")
  var printIrAfterAll = false

  @Option(help: "Write numbered IR dumps into this directory.")
  var dumpIrDir: String?

  func run() throws {
    var recipe = NamedPipeline(precision: precision, method: method)
    recipe.calibration = calib
    recipe.tmas = !noTmas
    recipe.cgq = !noCgq
    recipe.iaaq = !noIaAq
    recipe.groupSize = groupSize
    recipe.smoothAlpha = smooth ? smoothAlpha : nil
    recipe.samples = samples
    recipe.maxSequenceLength = maxSeqLen
    Interpreter.setThreads(threads)
    try runReportingErrors {
      if quantizeHead, let head, head != .body {
        throw DriverError.usage("--quantize-head means --head body, not --head \(head.rawValue)")
      }
      recipe.head = quantizeHead ? .body : head
      for item in layerPrecision { recipe.overrides.append(try NamedPipeline.override(item)) }
      var job = CompileJob(model: model, recipe: recipe, output: output)
      job.cudaArchitectures = try Self.architectures(cudaArch)
      job.instrumentation.printAfterAll = printIrAfterAll
      job.instrumentation.dumpDirectory = dumpIrDir
      try job.run(diagnostics: writeStandardError)
    }
  }
}

extension Compile {
  /// `sm_89,sm_90` as [89, 90].
  static func architectures(_ text: String?) throws(DriverError) -> [Int] {
    guard let text else { return [] }
    return try text.split(separator: ",", omittingEmptySubsequences: false).map {
      (item) throws(DriverError) -> Int in
      let name = item.trimmingCharacters(in: .whitespaces)
      guard name.hasPrefix("sm_"), let number = Int(name.dropFirst(3)), (50...199).contains(number)
      else {
        throw .usage("--cuda-arch: '\(name)' is not an architecture such as sm_89")
      }
      return number
    }
  }
}

extension NamedPipeline.Precision: EnumerableFlag {}
extension NamedPipeline.Method: ExpressibleByArgument {}
extension NamedPipeline.Head: ExpressibleByArgument {}
