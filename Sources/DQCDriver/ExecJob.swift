import DQCBackend
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

  /// What runs the forward passes: `nil` picks the CPU runtime for a bundle with a plan and
  /// the interpreter for everything else.
  public var engine: ExecutionEngine?

  /// Runs the model; returns one summary line per output.
  public func run() throws(DriverError) -> String {
    if model.hasSuffix(".dqb"), engine != .interpreter {
      let bundle: BundleFile
      do {
        bundle = try BundleFile(path: model, verifyTensorData: false)
      } catch {
        throw .bundle(error)
      }
      if engine != nil || bundle.bytes(of: .plan) != nil { return try runOnRuntime() }
    } else if let engine, engine != .interpreter {
      throw .usage("--device \(engine.rawValue) runs compiled bundles (.dqb)")
    }
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
    return try report(
      names: module.graph.outputs, outputs: outputs, seconds: seconds, threads: threads)
  }

  /// A bundle's forward passes on the runtime: `input_ids` `[B, T]` in, logits `[B, T, V]` out.
  func runOnRuntime() throws(DriverError) -> String {
    let session: RuntimeSession
    do {
      session = try RuntimeSession(
        path: model, device: engine == .cuda ? .cuda : .cpu, threads: threads)
    } catch {
      throw .runtime(error)
    }
    guard inputs.count == 1, let input = inputs.first else {
      throw .usage("a bundle takes one input: --input input_ids=FILE.npy")
    }
    let ids: Tensor
    do {
      ids = try NPYFile.read(input.path)
    } catch {
      throw .usage(error.description)
    }
    guard ids.shape.count == 2, ids.element.scalar?.isInteger == true else {
      throw .usage("'\(input.path)': token ids must be an integer [B, T] array, not \(ids.type)")
    }
    // The plan runs one sequence at a time; a batch runs row by row.
    let (batch, length) = (ids.shape[0], ids.shape[1])
    let tokens = ids.ints
    // One logits buffer for every pass (as an application reuses its output buffer): the timing
    // is the forward pass, not a fresh 32 MB allocation per pass.
    let rowFloats = length * session.vocabularySize
    var logits = [Float](repeating: 0, count: batch * rowFloats)
    var seconds: [Double] = []
    for _ in 0..<max(repeats, 1) {
      let start = DispatchTime.now().uptimeNanoseconds
      for row in 0..<batch {
        let ids = Array(tokens[(row * length)..<((row + 1) * length)])
        do {
          try logits.withUnsafeMutableBufferPointer { (all) throws(RuntimeError) in
            try session.forward(
              ids, into: UnsafeMutableBufferPointer(rebasing: all[(row * rowFloats)...]))
          }
        } catch {
          throw .runtime(error)
        }
      }
      seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let output = Tensor(shape: [batch, length, session.vocabularySize], floats: logits)
    return try report(
      names: ["logits"], outputs: [output], seconds: seconds, threads: threads,
      note: "runtime: \(session.isa) kernels, activation arena \(session.arenaBytes) bytes")
  }

  /// The timing line (for repeated runs) and one line per output, writing `.npy` files when
  /// an output directory is given.
  func report(
    names: [String], outputs: [Tensor], seconds: [Double], threads: Int, note: String? = nil
  ) throws(DriverError) -> String {
    var lines: [String] = note.map { [$0] } ?? []
    if repeats > 1 {
      let sorted = seconds.sorted()
      lines.append(
        String(
          format: "forward: median %.4f s, min %.4f s, max %.4f s over %d runs (%d threads)",
          sorted[sorted.count / 2], sorted[0], sorted[sorted.count - 1], sorted.count, threads))
    }
    for (name, tensor) in zip(names, outputs) {
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
        let first: [Double]
        switch tensor.storage {
        case .float(let v): first = v.prefix(4).map(Double.init)
        case .double(let v): first = Array(v.prefix(4))
        case .int(let v): first = v.prefix(4).map(Double.init)
        }
        line += " first values " + first.map { String(format: "%.6g", $0) }.joined(separator: ", ")
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
