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

  /// Loads a model (`.dqir`, `.onnx` or checkpoint folder) and finds its tokenizer and ids.
  public init(path: String, tokenizerPath: String? = nil) throws(DriverError) {
    module = try Driver.load(path)
    do {
      interpreter = try Interpreter(module: module)
    } catch {
      throw .usage(error.description)
    }
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    let folder =
      exists && isDirectory.boolValue
      ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
    let tokenizerFile = tokenizerPath ?? folder + "/tokenizer.json"
    var loaded: Tokenizer?
    if FileManager.default.fileExists(atPath: tokenizerFile) {
      do {
        loaded = try Tokenizer(path: tokenizerFile)
      } catch {
        throw .frontend(error)
      }
    }
    tokenizer = loaded
    let config = try? ModelConfig(path: folder + "/config.json")
    let configMask = (try? config?.optionalInt("mask_token_id")).flatMap { $0 }
    let mask =
      module.attributes["model.mask_token_id"]?.intValue ?? configMask.map(Int64.init)
      ?? ["<|mask|>", "<|mdm_mask|>", "[MASK]"].compactMap { loaded?.id(of: $0) }.first
    guard let mask else {
      throw .usage(
        "cannot tell the mask token id: no model.mask_token_id, config.json mask_token_id or mask token in the tokenizer"
      )
    }
    maskID = mask
    let configEOS = (try? config?.optionalInt("eos_token_id")).flatMap { $0 }
    eosID =
      configEOS.map(Int64.init)
      ?? ["<|eos|>", "<|endoftext|>", "<|eot_id|>", "</s>"].compactMap { loaded?.id(of: $0) }.first
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
