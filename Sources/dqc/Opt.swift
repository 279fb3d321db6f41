import ArgumentParser
import DQCDriver
import DQCIR
import DQCPasses
import Foundation

/// `dqc opt`: run a pass pipeline on a `.dqir` file, like `mlir-opt`.
struct Opt: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a pass pipeline on a .dqir file.",
    discussion: """
      The pipeline is a comma-separated list of passes, each with optional options in braces:
        --pipeline 'canonicalize,cse,dce{aggressive=true}'
      Run 'dqc passes' for the list. The result is printed to standard output unless -o is given;
      IR dumps and reports go to standard error.
      """)

  @Argument(help: "The input .dqir file.")
  var input: String

  @Option(help: "The passes to run, such as 'canonicalize,cse,dce'.")
  var pipeline: String = ""

  @Option(
    name: .shortAndLong,
    help:
      "Write the result here (weights that exist only in memory go to a .weights.safetensors sidecar)."
  )
  var output: String?

  @Flag(help: "Print the IR after every pass.")
  var printIrAfterAll = false

  @Option(help: "Print the IR after this pass (repeatable).")
  var printIrAfter: [String] = []

  @Option(help: "Print the IR before this pass (repeatable).")
  var printIrBefore: [String] = []

  @Option(help: "Write 00-input.dqir, 01-<pass>.dqir, ... into this directory.")
  var dumpIrDir: String?

  @Flag(help: "Report each pass's wall time.")
  var timePasses = false

  @Flag(help: "Report each pass's statistics.")
  var passStatistics = false

  @Flag(help: "Print weights of up to --inline-limit elements in full instead of eliding them.")
  var printWeights = false

  @Option(help: "The largest weight, in elements, that --print-weights prints in full.")
  var inlineLimit = 4096

  @Flag(help: "Do not run the verifier after each pass.")
  var noVerifyEach = false

  func validate() throws {
    for name in printIrAfter + printIrBefore where DQCPasses.PassRegistry.pass(named: name) == nil {
      throw ValidationError("unknown pass '\(name)' (run 'dqc passes' for the list)")
    }
    guard inlineLimit >= 0 else { throw ValidationError("--inline-limit must not be negative") }
  }

  func run() throws {
    var instrumentation = Instrumentation()
    instrumentation.printAfterAll = printIrAfterAll
    instrumentation.printAfter = Set(printIrAfter)
    instrumentation.printBefore = Set(printIrBefore)
    instrumentation.dumpDirectory = dumpIrDir
    instrumentation.timePasses = timePasses
    instrumentation.passStatistics = passStatistics
    instrumentation.printOptions = PrintOptions(
      printWeights: printWeights, inlineElementLimit: inlineLimit)
    let job = OptJob(
      input: input, pipeline: pipeline, instrumentation: instrumentation,
      verifyEach: !noVerifyEach, output: output)
    try runReportingErrors {
      try job.run(standardOutput: { print($0, terminator: "") }, diagnostics: writeStandardError)
    }
  }
}

/// `dqc verify`: check a `.dqir` file.
struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check a .dqir file: syntax, op rules, types, and weight data.")

  @Argument(help: "The .dqir file.")
  var input: String

  @Flag(help: "Skip reading weight files (check the text only).")
  var noWeights = false

  func run() throws {
    try runReportingErrors {
      print(try Driver.verify(input, checkWeights: !noWeights))
    }
  }
}

/// `dqc passes`: list the passes and their options.
struct Passes: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the passes and their options.")

  func run() throws { print(Driver.passListing(), terminator: "") }
}

func writeStandardError(_ text: String) {
  FileHandle.standardError.write(Data(text.utf8))
}

/// Runs `body`; a `DriverError` becomes its one-line message on standard error and exit code 1.
func runReportingErrors(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let error as DriverError {
    writeStandardError(error.description + "\n")
    throw ExitCode(1)
  }
}
