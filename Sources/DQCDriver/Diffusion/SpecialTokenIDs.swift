import DQCFrontend
import DQCIR
import Foundation

/// The mask and end-of-sequence token ids of a diffusion LM, from the first source that has
/// them: the module's `model.*` attributes, `config.json`, then well-known token texts.
struct SpecialTokenIDs {
  /// The mask token id.
  var mask: Int64?
  /// The end-of-sequence id.
  var eos: Int64?

  /// Ids from the module's attributes and `config.json` (and a tokenizer's tokens, when given).
  init(module: Module, config: [String: Any]?, tokenizerJSON: [UInt8]?) {
    mask =
      module.attributes["model.mask_token_id"]?.intValue
      ?? config.flatMap { Self.integer($0["mask_token_id"]) }
    eos =
      module.attributes["model.eos_token_id"]?.intValue
      ?? config.flatMap { Self.integer($0["eos_token_id"]) }
    if let tokenizerJSON {
      fill(from: try? Tokenizer(data: Data(tokenizerJSON), path: "tokenizer.json"))
    }
  }

  /// Ids recorded in a bundle's `meta` section.
  init(bundleMeta meta: [String: Any]) {
    mask = Self.integer(meta["mask_token_id"])
    eos = Self.integer(meta["eos_token_id"])
  }

  /// Fills missing ids from the tokenizer's well-known special tokens.
  mutating func fill(from tokenizer: Tokenizer?) {
    guard let tokenizer else { return }
    mask = mask ?? ["<|mask|>", "<|mdm_mask|>", "[MASK]"].compactMap { tokenizer.id(of: $0) }.first
    eos =
      eos
      ?? ["<|eos|>", "<|endoftext|>", "<|eot_id|>", "</s>"].compactMap { tokenizer.id(of: $0) }
      .first
  }

  static func integer(_ value: Any?) -> Int64? {
    guard let number = value as? NSNumber else { return nil }
    let double = number.doubleValue
    return double == double.rounded() ? Int64(double) : nil
  }
}
