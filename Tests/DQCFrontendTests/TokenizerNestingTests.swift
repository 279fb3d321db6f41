import DQCFrontend
import Foundation
import Testing

/// The tokenizer reader recurses into `Sequence` components as deep as the JSON nests; the JSON
/// parser bounds that nesting, so hostile nesting is refused, never a stack overflow.
@Suite struct TokenizerNestingTests {
  static func tokenizer(normalizer: String) -> Data {
    Data(
      """
      {"normalizer": \(normalizer),
       "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}}
      """.utf8)
  }

  @Test func deeplyNestedJSONIsRefused() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    let error = #expect(throws: FrontendError.self) {
      try Tokenizer(data: Self.tokenizer(normalizer: deep), path: "memory/tokenizer.json")
    }
    #expect(error?.file == "memory/tokenizer.json")
    #expect(error?.message == "tokenizer.json is not a JSON object")
  }

  @Test func nestedSequencesWithinTheParsersLimitWork() throws {
    var normalizer = #"{"type": "Lowercase"}"#
    for _ in 0..<200 { normalizer = #"{"type": "Sequence", "normalizers": [\#(normalizer)]}"# }
    let tokenizer = try Tokenizer(
      data: Self.tokenizer(normalizer: normalizer), path: "memory/tokenizer.json")
    #expect(try tokenizer.encode("A") == [0])
  }
}
