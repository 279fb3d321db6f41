import DQCBackend
import DQCFrontend
import DQCIR
import DQCPasses
import Foundation

/// Entry points shared by the `dqc` subcommands.
public enum Driver {
  /// The dqc version recorded in outputs.
  public static let version = "0.1.0"

  /// Reads and verifies a model: a `.dqir` file, an ONNX file, or a checkpoint folder.
  public static func load(_ path: String) throws(DriverError) -> Module {
    let module: Module
    if path.hasSuffix(".dqb") {
      do {
        module = try BundleFile(path: path).module()
      } catch {
        throw .bundle(error)
      }
    } else if path.hasSuffix(".dqir") {
      do {
        module = try ModuleFile.read(path)
      } catch {
        throw .file(error)
      }
    } else {
      do {
        module = try ModelImporter.importModel(at: path)
      } catch {
        throw .frontend(error)
      }
    }
    try verifyModule(module)
    return module
  }

  /// Runs the verifier.
  static func verifyModule(_ module: Module) throws(DriverError) {
    do {
      try Verifier.verify(module)
    } catch {
      throw .ir(error)
    }
  }

  /// The semantics-preserving clean-up every compile starts with: folding, common
  /// subexpressions, raising exporter patterns to `dq.*` ops, dead code.
  public static let graphOptimizationPipeline =
    "canonicalize,cse,raise,canonicalize,dce{aggressive=true}"

  /// Runs `graphOptimizationPipeline` on `module` (as ONNX Runtime optimizes a graph before
  /// running it); the results agree with the unoptimized graph's to float rounding.
  public static func optimizeForExecution(_ module: inout Module) throws(DriverError) {
    let manager: PassManager
    do {
      manager = try PassManager(pipeline: graphOptimizationPipeline)
    } catch {
      throw .pass(error)
    }
    try runPasses(manager, on: &module, diagnostics: { _ in })
  }

  /// Runs `manager` on `module`; IR dumps and then the passes' remarks go to `diagnostics`.
  @discardableResult
  static func runPasses(
    _ manager: PassManager, on module: inout Module, diagnostics: (String) -> Void
  ) throws(DriverError) -> PassContext {
    var context = PassContext()
    do {
      try manager.run(&module, context: &context, output: diagnostics)
    } catch {
      throw .pass(error)
    }
    for remark in context.remarks { diagnostics("remark: \(remark)\n") }
    return context
  }

  /// The folder holding a model's `config.json` and `tokenizer.json`: the model itself when it
  /// is a folder, else the folder the file is in.
  static func folder(of model: String) -> String {
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory)
    return exists && isDirectory.boolValue
      ? model : URL(fileURLWithPath: model).deletingLastPathComponent().path
  }

  /// The folder's `config.json` as a JSON object, if it has one.
  static func config(in folder: String) -> [String: Any]? {
    (try? Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
      .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
  }

  /// Verifies a `.dqir` file and returns a one-line summary.
  ///
  /// With `checkWeights`, every file-backed weight's bytes are also read and checked against
  /// their digest.
  public static func verify(_ path: String, checkWeights: Bool = true) throws(DriverError) -> String
  {
    let module = try load(path)
    if checkWeights {
      for weight in module.weights {
        if case .elided = weight.storage { continue }
        do {
          _ = try weight.loadBytes()
        } catch {
          throw .file(.weight(error))
        }
      }
    }
    let count = module.graph.instructions.count
    return "\(path): ok (\(count) instructions, \(module.weights.count) weights)"
  }

  /// A listing of every registered pass with its options, for `dqc passes`.
  public static func passListing() -> String {
    var out = ""
    for pass in PassRegistry.all {
      out += "\(pass.name)\n    \(pass.summary)\n"
      for option in pass.optionSpecs {
        out +=
          "    \(option.name)=<\(option.kind.rawValue)> (default \(option.defaultValue)): \(option.summary)\n"
      }
    }
    return out
  }
}

/// A failure of a dqc command, with a one-line message.
public enum DriverError: Error, Sendable, CustomStringConvertible {
  /// Reading or writing a file failed.
  case file(ModuleFileError)
  /// The IR is invalid.
  case ir(IRError)
  /// The pipeline is malformed or a pass failed.
  case pass(PassError)
  /// A model file cannot be imported.
  case frontend(FrontendError)
  /// A bundle cannot be written or read.
  case bundle(BundleError)
  /// The runtime refused a bundle or failed to run it.
  case runtime(RuntimeError)
  /// A command-line usage problem.
  case usage(String)

  /// The message printed to standard error.
  public var description: String {
    switch self {
    case .file(let e): e.description
    case .ir(let e): e.description
    case .pass(let e): e.description
    case .frontend(let e): e.description
    case .bundle(let e): "error: " + e.description
    case .runtime(let e): "error: " + e.description
    case .usage(let m): "error: " + m
    }
  }
}
