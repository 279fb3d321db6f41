import DQCIR
import DQCInterp
import Foundation

/// What `dqc exec` does: run a model on `.npy` inputs with the reference interpreter.
public struct ExecJob: Sendable {
  /// The model (`.dqir`, `.onnx` or checkpoint folder).
  public var model: String
  /// Input files by graph argument name.
  public var inputs: [(name: String, path: String)]
  /// Where to write `<output>.npy` files (`nil`: print a summary only).
  public var outputDirectory: String?
  /// OpenBLAS threads.
  public var threads: Int
  /// Forward passes to time (the outputs of the last are kept); 1 runs once without timing.
  public var repeats: Int = 1
  /// Run `Driver.graphOptimizationPipeline` on an imported ONNX model or checkpoint first
  /// (`.dqir` files always run as written).
  public var optimize = true

  /// Creates a job.
  public init(
    model: String, inputs: [(name: String, path: String)], outputDirectory: String?, threads: Int
  ) {
    self.model = model
    self.inputs = inputs
    self.outputDirectory = outputDirectory
    self.threads = threads
  }

  /// Runs the model; returns one summary line per output.
  public func run() throws(DriverError) -> String {
    var module = try Driver.load(model)
    if optimize && !model.hasSuffix(".dqir") {
      try Driver.optimizeForExecution(&module)
    }
    var tensors: [String: Tensor] = [:]
    for (name, path) in inputs {
      guard module.graph.arguments.contains(where: { $0.name == name }) else {
        let known = module.graph.arguments.map(\.name).joined(separator: ", ")
        throw .usage("the model has no input '\(name)' (inputs: \(known))")
      }
      do {
        tensors[name] = try NPYFile.read(path)
      } catch {
        throw .usage(error.description)
      }
    }
    for arg in module.graph.arguments where tensors[arg.name] == nil {
      throw .usage("missing --input \(arg.name)=FILE.npy (\(arg.type))")
    }
    Interpreter.setThreads(threads)
    var outputs: [Tensor] = []
    var seconds: [Double] = []
    do {
      let interpreter = try Interpreter(module: module)
      for _ in 0..<max(repeats, 1) {
        let start = DispatchTime.now().uptimeNanoseconds
        outputs = try interpreter.run(tensors)
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
      }
    } catch {
      throw .usage(error.description)
    }
    var lines: [String] = []
    if repeats > 1 {
      let sorted = seconds.sorted()
      lines.append(
        String(
          format: "forward: median %.4f s, min %.4f s, max %.4f s over %d runs (%d threads)",
          sorted[sorted.count / 2], sorted[0], sorted[sorted.count - 1], sorted.count, threads))
    }
    for (name, tensor) in zip(module.graph.outputs, outputs) {
      var line = "\(name): \(tensor.type)"
      if let outputDirectory {
        let file = Self.fileName(for: name)
        let path = URL(fileURLWithPath: outputDirectory).appendingPathComponent(file).path
        do {
          try FileManager.default.createDirectory(
            atPath: outputDirectory, withIntermediateDirectories: true)
          try ModuleFile.atomicWrite(NPYFile.encode(tensor), to: path)
        } catch {
          throw .usage("cannot write '\(path)'")
        }
        line += " -> \(path)"
      } else {
        let values = tensor.doubles
        line +=
          " first values "
          + values.prefix(4).map { String(format: "%.6g", $0) }.joined(separator: ", ")
      }
      lines.append(line)
    }
    return lines.joined(separator: "\n")
  }

  /// A file name for an output value: unsafe characters become `_`.
  static func fileName(for name: String) -> String {
    String(
      name.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." ? $0 : "_" })
      + ".npy"
  }
}
