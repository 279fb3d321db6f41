import DQCFrontend
import DQCTestSupport
import Foundation
import Testing

/// dqc's tokenizer against the `tokenizers` library: reference encodings and decodings made by
/// `Scripts/make_tokenizer_cases.py` for a character-level WordLevel tokenizer (the fixture's),
/// byte-level BPE (GPT-2 style and LLaMA-3 style split) and a Metaspace BPE with byte fallback.
@Suite struct TokenizerTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/tokenizers"

  static func lines(_ path: String) -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
  }

  static func ids(_ value: Any?) -> [Int64] {
    (value as? [Any])?.compactMap { ($0 as? Int).map(Int64.init) } ?? []
  }

  @Test(arguments: ["char", "bpe", "bpe-split", "metaspace"])
  func matchesTheTokenizersLibrary(_ name: String) throws {
    let tokenizer = try Tokenizer(path: Self.root + "/\(name)/tokenizer.json")
    let cases = Self.lines(Self.root + "/\(name)/cases.jsonl")
    try #require(cases.count >= 100)
    var mismatches: [String] = []
    for c in cases {
      guard let text = c["text"] as? String else { continue }
      let expected = Self.ids(c["ids"])
      let actual = try tokenizer.encode(text)
      if actual != expected {
        mismatches.append("encode \(text.debugDescription): \(actual) != \(expected)")
      }
      if let decoded = c["decoded"] as? String, tokenizer.decode(expected) != decoded {
        mismatches.append(
          "decode \(expected): \(tokenizer.decode(expected).debugDescription) != \(decoded.debugDescription)"
        )
      }
      if let skip = c["decoded_skip"] as? String,
        tokenizer.decode(expected, skipSpecialTokens: true) != skip
      {
        mismatches.append(
          "decode(skip) \(expected): \(tokenizer.decode(expected, skipSpecialTokens: true).debugDescription) != \(skip.debugDescription)"
        )
      }
    }
    for c in Self.lines(Self.root + "/\(name)/decode_cases.jsonl") {
      let ids = Self.ids(c["ids"])
      if let decoded = c["decoded"] as? String, tokenizer.decode(ids) != decoded {
        mismatches.append(
          "decode \(ids): \(tokenizer.decode(ids).debugDescription) != \(decoded.debugDescription)")
      }
    }
    #expect(
      mismatches.isEmpty,
      "\(mismatches.count) mismatches, first: \(mismatches.prefix(8).joined(separator: "\n"))")
  }
}
