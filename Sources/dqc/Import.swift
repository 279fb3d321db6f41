import ArgumentParser
import DQCDriver
import DQCIR

/// `dqc import`: read an ONNX file or a Hugging Face checkpoint folder into a `.dqir`.
struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Import an ONNX file or a Hugging Face checkpoint folder into a .dqir file.",
    discussion: """
      ONNX files become onnx.* IR (external data is referenced in place, never copied); a folder
      with config.json and *.safetensors (LLaDA, Dream or LLaMA layout) becomes dq.* IR. Weights
      stay in the source files; inline ONNX initializers go to a .weights.safetensors sidecar.
      """)

  @Argument(help: "An .onnx file or a checkpoint folder.")
  var model: String

  @Option(
    name: .shortAndLong,
    help: "The .dqir file to write (default: print to standard output, weights elided).")
  var output: String?

  func run() throws {
    try runReportingErrors {
      let module = try Driver.load(model)
      if let output {
        do {
          try ModuleFile.write(module, to: output)
        } catch let error as ModuleFileError {
          throw DriverError.file(error)
        }
      } else {
        print(IRPrinter.print(module), terminator: "")
      }
    }
  }
}

/// `dqc inspect`: summarise a model.
struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Summarise a model: inputs, outputs, op histogram, parameters by element type.",
    discussion: """
      For a .dqb bundle also: its sections, tensors, bits per weight of the quantized linear \
      layers and of the whole file, the quantization recipe and the provenance.
      """)

  @Argument(help: "A .dqb bundle, a .dqir file, an .onnx file or a checkpoint folder.")
  var model: String

  func run() throws {
    try runReportingErrors {
      if model.hasSuffix(".dqb") {
        print(try BundleSummary(path: model).text, terminator: "")
      } else {
        print(ModelSummary(try Driver.load(model)).text, terminator: "")
      }
    }
  }
}
