import DQCBackend
import DQCFrontend
import DQCIR
import DQCInterp
import Foundation

/// A diffusion LM ready to sample: the module, its interpreter, tokenizer and special ids.
public struct DiffusionModel: Sendable {
  /// The module run.
  public let module: Module
  let interpreter: Interpreter
  /// The tokenizer (`tokenizer.json` in the model's folder), if found.
  public let tokenizer: Tokenizer?
  /// The mask token id.
  public let maskID: Int64
  /// The end-of-sequence id, if known (answers are truncated there).
  public let eosID: Int64?

  /// Loads a model (`.dqb`, `.dqir`, `.onnx` or checkpoint folder) and finds its tokenizer and
  /// ids: a bundle carries both; otherwise they come from the model's folder.
  public init(path: String, tokenizerPath: String? = nil) throws(DriverError) {
    // The tokenizer's bytes and where they came from (for error messages).
    var tokenizerSource: (data: Data, name: String)?
    var ids: SpecialTokenIDs
    if path.hasSuffix(".dqb") {
      let bundle: BundleFile
      do {
        bundle = try BundleFile(path: path)
        module = try bundle.module()
      } catch {
        throw .bundle(error)
      }
      try Driver.verifyModule(module)
      tokenizerSource = bundle.bytes(of: .tokenizer).map { (Data($0), path + "#tokenizer") }
      let meta =
        bundle.bytes(of: .meta).flatMap {
          try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        } ?? [:]
      ids = SpecialTokenIDs(bundleMeta: meta)
    } else {
      module = try Driver.load(path)
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
    do {
      interpreter = try Interpreter(module: module)
    } catch {
      throw .usage(error.description)
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
    let ids = Tensor(shape: [batch.count, length], ints: batch.flatMap { $0 })
    guard let input = module.graph.arguments.first?.name else {
      throw InterpreterError("the model has no input")
    }
    return try interpreter.run([input: ids])[0]
  }

  /// The answer part of a generated sequence, cut at the first EOS.
  public func answer(of sequence: [Int64], promptLength: Int) -> [Int64] {
    let tail = Array(sequence[promptLength...])
    guard let eosID, let cut = tail.firstIndex(of: eosID) else { return tail }
    return Array(tail[..<cut])
  }

  /// The text of token ids (special tokens dropped), or the ids when there is no tokenizer.
  public func text(_ ids: [Int64]) -> String {
    tokenizer?.decode(ids, skipSpecialTokens: true) ?? ids.map(String.init).joined(separator: " ")
  }
}
