import DQCBackend
import DQCFrontend
import DQCIR
import DQCInterp
import Foundation

/// What executes a model's forward passes.
public enum ExecutionEngine: String, Sendable, Hashable, CaseIterable {
  /// The bundled runtime on the CPU (bundles with a kernel plan).
  case cpu
  /// The bundled runtime on a CUDA GPU.
  case cuda
  /// dqc's reference interpreter (any model).
  case interpreter
}

/// A diffusion LM ready to sample: its executor (the runtime for a bundle, else the reference
/// interpreter), tokenizer and special ids.
public struct DiffusionModel: Sendable {
  /// The module, when the interpreter runs it (`nil` when the runtime runs a bundle).
  public let module: Module?
  let interpreter: Interpreter?
  /// The runtime session, when the runtime runs a bundle.
  public let runtime: RuntimeSession?
  /// The tokenizer (`tokenizer.json` in the model's folder), if found.
  public let tokenizer: Tokenizer?
  /// The mask token id.
  public let maskID: Int64
  /// The end-of-sequence id, if known (answers are truncated there).
  public let eosID: Int64?

  /// Loads a model (`.dqb`, `.dqir`, `.onnx` or checkpoint folder) and finds its tokenizer and
  /// ids: a bundle carries both; otherwise they come from the model's folder.
  ///
  /// `engine` `nil` chooses: the CPU runtime for a bundle with a kernel plan, the interpreter
  /// otherwise. The runtime runs bundles only.
  public init(
    path: String, tokenizerPath: String? = nil, engine: ExecutionEngine? = nil, threads: Int = 0
  ) throws(DriverError) {
    // The tokenizer's bytes and where they came from (for error messages).
    var tokenizerSource: (data: Data, name: String)?
    var ids: SpecialTokenIDs
    var loadedModule: Module?
    var session: RuntimeSession?
    if path.hasSuffix(".dqb") {
      let bundle: BundleFile
      do {
        bundle = try BundleFile(path: path, verifyTensorData: false)
      } catch {
        throw .bundle(error)
      }
      let chosen = engine ?? (bundle.bytes(of: .plan) != nil ? .cpu : .interpreter)
      if chosen == .interpreter {
        let module: Module
        do {
          module = try BundleFile(path: path).module()
        } catch {
          throw .bundle(error)
        }
        try Driver.verifyModule(module)
        loadedModule = module
      } else {
        do {
          session = try RuntimeSession(
            path: path, device: chosen == .cuda ? .cuda : .cpu, threads: threads)
        } catch {
          throw .runtime(error)
        }
      }
      tokenizerSource = bundle.bytes(of: .tokenizer).map { (Data($0), path + "#tokenizer") }
      let meta =
        bundle.bytes(of: .meta).flatMap {
          try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        } ?? [:]
      ids = SpecialTokenIDs(bundleMeta: meta)
    } else {
      if let engine, engine != .interpreter {
        throw .usage(
          "--device \(engine.rawValue) runs compiled bundles (.dqb); '\(path)' runs on the interpreter"
        )
      }
      let module = try Driver.load(path)
      loadedModule = module
      let folder = Driver.folder(of: path)
      ids = SpecialTokenIDs(module: module, config: Driver.config(in: folder), tokenizerJSON: nil)
      let file = folder + "/tokenizer.json"
      tokenizerSource = FileManager.default.contents(atPath: file).map { ($0, file) }
    }
    if let tokenizerPath {
      guard let data = FileManager.default.contents(atPath: tokenizerPath) else {
        throw .frontend(FrontendError(file: tokenizerPath, "cannot read the tokenizer"))
      }
      tokenizerSource = (data, tokenizerPath)
    }
    var loaded: Tokenizer?
    if let tokenizerSource {
      do {
        loaded = try Tokenizer(data: tokenizerSource.data, path: tokenizerSource.name)
      } catch {
        throw .frontend(error)
      }
    }
    ids.fill(from: loaded)
    tokenizer = loaded
    module = loadedModule
    runtime = session
    if let loadedModule {
      do {
        interpreter = try Interpreter(module: loadedModule)
      } catch {
        throw .usage(error.description)
      }
    } else {
      interpreter = nil
    }
    guard let mask = ids.mask else {
      throw .usage(
        "cannot tell the mask token id: no model.mask_token_id, config.json mask_token_id or mask token in the tokenizer"
      )
    }
    maskID = mask
    eosID = ids.eos
  }

  /// Logits `[B, T, V]` for a batch of equal-length sequences.
  public func logits(_ batch: [[Int64]]) throws -> Tensor {
    guard let length = batch.first?.count else { throw InterpreterError("empty batch") }
    if let runtime {
      // The plan runs one sequence at a time.
      var values: [Float] = []
      values.reserveCapacity(batch.count * length * runtime.vocabularySize)
      for sequence in batch { values += try runtime.forward(sequence) }
      return Tensor(shape: [batch.count, length, runtime.vocabularySize], floats: values)
    }
    guard let module, let interpreter, let input = module.graph.arguments.first?.name else {
      throw InterpreterError("the model has no input")
    }
    let ids = Tensor(shape: [batch.count, length], ints: batch.flatMap { $0 })
    return try interpreter.run([input: ids])[0]
  }

  /// The answer part of a generated sequence, cut at the first EOS.
  public func answer(of sequence: [Int64], promptLength: Int) -> [Int64] {
    let tail = Array(sequence[promptLength...])
    guard let eosID, let cut = tail.firstIndex(of: eosID) else { return tail }
    return Array(tail[..<cut])
  }

  /// `text` encoded by the tokenizer, or nil when there is none; the tokenizer's error (a
  /// pre-tokenizer regex over its work limit) as a driver error.
  public func encode(_ text: String) throws(DriverError) -> [Int64]? {
    guard let tokenizer else { return nil }
    do {
      return try tokenizer.encode(text)
    } catch {
      throw .frontend(error)
    }
  }

  /// The text of token ids (special tokens dropped), or the ids when there is no tokenizer.
  public func text(_ ids: [Int64]) -> String {
    tokenizer?.decode(ids, skipSpecialTokens: true) ?? ids.map(String.init).joined(separator: " ")
  }
}
