import DQCIR
import DQCPasses
import Foundation

/// What `dqc opt` does: read a `.dqir`, verify it, run a pipeline with instrumentation, and
/// write or print the result.
public struct OptJob: Sendable {
  /// The input `.dqir` path.
  public var input: String
  /// Pipeline text, such as `canonicalize,cse,dce{aggressive=true}`.
  public var pipeline: String
  /// Printing, dumping and timing around passes.
  public var instrumentation: Instrumentation
  /// Verify after every pass.
  public var verifyEach: Bool
  /// Where to write the result (`nil`: standard output).
  public var output: String?

  /// Creates a job.
  public init(
    input: String, pipeline: String, instrumentation: Instrumentation = Instrumentation(),
    verifyEach: Bool = true, output: String? = nil
  ) {
    self.input = input
    self.pipeline = pipeline
    self.instrumentation = instrumentation
    self.verifyEach = verifyEach
    self.output = output
  }

  /// Runs the job.
  ///
  /// IR dumps and reports go to `diagnostics`; the result text (when there is no
  /// output file) goes to `standardOutput`.
  public func run(
    standardOutput: (String) -> Void, diagnostics: @escaping (String) -> Void
  ) throws(DriverError) {
    // Check the pipeline before reading a possibly large input.
    let manager: PassManager
    do {
      manager = try PassManager(pipeline: pipeline)
    } catch {
      throw .pass(error)
    }
    var module = try Driver.load(input)
    var configured = manager
    configured.verifyEach = verifyEach
    configured.instrumentation = instrumentation
    try Driver.runPasses(configured, on: &module, diagnostics: diagnostics)
    if let output {
      do {
        try ModuleFile.write(
          module, to: output, printWeights: instrumentation.printOptions.printWeights,
          inlineElementLimit: instrumentation.printOptions.inlineElementLimit)
      } catch {
        throw .file(error)
      }
    } else {
      var options = instrumentation.printOptions
      options.baseDirectory = FileManager.default.currentDirectoryPath
      standardOutput(IRPrinter.print(module, options: options))
    }
  }
}
