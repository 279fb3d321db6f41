import DQCFrontend
import DQCTestSupport
import Foundation
import Testing

/// A hostile tokenizer.json cannot make `encode` or `decode` blow a text up or run for minutes:
/// normalizers may make a text at most 32 times longer (plus 4 KiB), Replace decoders may grow it
/// at most 256-fold, and BPE merges a piece of n symbols in O(n log n).
@Suite struct TokenizerGrowthTests {
  static func tokenizer(_ root: [String: Any]) throws -> Tokenizer {
    let data = try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    return try Tokenizer(data: data, path: "memory/tokenizer.json")
  }

  static var wordLevel: [String: Any] {
    ["type": "WordLevel", "vocab": ["<unk>": 0, "a": 1], "unk_token": "<unk>"]
  }

  static func replace(_ pattern: String, _ content: String) -> [String: Any] {
    ["type": "Replace", "pattern": ["String": pattern], "content": content]
  }

  static let sample = "Hello, world! <|endoftext|> 12 345 héllo\tÆ 😀 <mask>  \n end"

  /// FuzzTokenizer's timeout is refused at the Replace step that would blow the text up.
  ///
  /// A Replace of each space by 36,000 characters holding spaces, then more Replace steps, made
  /// 375 KB of one 54-byte segment, which the BPE model then merged by rescanning the piece
  /// after every merge (over 60 s).
  @Test func fuzzerTimeoutInputIsRefused() throws {
    let path =
      Paths.packageRoot
      + "/Tests/Fuzz/swift/regressions/FuzzTokenizer/timeout-normalizer-replace-chain"
    let tokenizer = try Tokenizer(path: path)
    let error = #expect(throws: FrontendError.self) { try tokenizer.encode(Self.sample) }
    #expect(error?.file == path)
    #expect(error?.place == "normalizer")
    #expect(error?.message.hasPrefix("the Replace of ' ' by 'ÍRant s") == true)
    #expect(
      error?.message.hasSuffix(
        "step would make 260957 UTF-8 bytes of 137, more than the normalizers may make of a text of 54 bytes (5824: 32 times as many plus 4,096); expected normalizers that change a text's length by a small factor"
      ) == true, "\(error?.message ?? "")")
  }

  /// Replace steps whose content holds their pattern double the text each time; the chain is
  /// stopped at the step that would pass the limit.
  @Test func exponentialReplaceChainsAreStopped() throws {
    let normalizer: [String: Any] = [
      "type": "Sequence",
      "normalizers": Array(repeating: Self.replace(" ", "  "), count: 40),
    ]
    let tokenizer = try Self.tokenizer(["normalizer": normalizer, "model": Self.wordLevel])
    let error = #expect(throws: FrontendError.self) { try tokenizer.encode("a b c") }
    #expect(error?.place == "normalizer")
    #expect(
      error?.message.hasPrefix(
        "the Replace of ' ' by '  ' step would make 8195 UTF-8 bytes of 4099, more than the normalizers may make of a text of 5 bytes (4256:"
      ) == true, "\(error?.message ?? "")")
    // A few doublings stay within it.
    let few: [String: Any] = [
      "type": "Sequence", "normalizers": Array(repeating: Self.replace(" ", "  "), count: 3),
    ]
    let fine = try Self.tokenizer(["normalizer": few, "model": Self.wordLevel])
    #expect(try fine.encode("a b") == [0])
  }

  /// Real normalizers stay far below the limit: NFKC makes 18 scalars of U+FDFA, Prepend and a
  /// Replace of spaces by "▁" (3 bytes for 1) too.
  @Test func ordinaryNormalizersPass() throws {
    let normalizer: [String: Any] = [
      "type": "Sequence",
      "normalizers": [
        ["type": "Prepend", "prepend": "▁"], Self.replace(" ", "▁"), ["type": "NFKC"],
      ],
    ]
    let tokenizer = try Self.tokenizer(["normalizer": normalizer, "model": Self.wordLevel])
    #expect(try tokenizer.encode(String(repeating: "\u{FDFA}", count: 1000)) == [0])
    #expect(try tokenizer.encode(String(repeating: " ", count: 10_000)) == [0])
  }

  /// Replace decoders are refused when together they could grow a text more than 256-fold.
  @Test func growingDecodersAreRefused() throws {
    func decoder(_ count: Int) -> [String: Any] {
      ["type": "Sequence", "decoders": Array(repeating: Self.replace(" ", "  "), count: count)]
    }
    let error = #expect(throws: FrontendError.self) {
      try Self.tokenizer(["decoder": decoder(9), "model": Self.wordLevel])
    }
    #expect(error?.place == "decoder")
    #expect(
      error?.message
        == "the Replace decoders could make a text up to 512 times longer (each by up to its content's UTF-8 length); expected at most 256 in all"
    )
    let fine = try Self.tokenizer(["decoder": decoder(8), "model": Self.wordLevel])
    #expect(fine.decode([1, 1]) == "aa")
  }

  /// BPE as a tokenizer with `merges` over "abc" (pre-tokenizer none: the text is one piece).
  static func bpe(merges: [String], prefix: String?, suffix: String?) throws -> Tokenizer {
    var vocab: [String: Int] = ["<unk>": 0]
    func add(_ token: String) { if vocab[token] == nil { vocab[token] = vocab.count } }
    for c in ["a", "b", "c"] {
      add(c)
      if let prefix { add(prefix + c) }
      if let suffix { add(c + suffix) }
    }
    for merge in merges {
      let parts = merge.split(separator: " ").map(String.init)
      var right = parts[1]
      if let prefix, right.hasPrefix(prefix) { right.removeFirst(prefix.count) }
      add(parts[0] + right)
    }
    var model: [String: Any] = [
      "type": "BPE", "vocab": vocab, "merges": merges, "unk_token": "<unk>",
    ]
    if let prefix { model["continuing_subword_prefix"] = prefix }
    if let suffix { model["end_of_word_suffix"] = suffix }
    return try tokenizer(["model": model])
  }

  /// dqc's BPE before the heap: merge the lowest-ranked pair (the leftmost of equal ranks),
  /// rescan, again.
  static func naiveMerges(_ initial: [String], ranks: [String: Int], prefix: String?) -> [String] {
    var symbols = initial
    while symbols.count > 1 {
      var best: (rank: Int, index: Int)?
      for i in 0..<(symbols.count - 1) {
        if let rank = ranks[symbols[i] + " " + symbols[i + 1]], rank < (best?.rank ?? .max) {
          best = (rank, i)
        }
      }
      guard let best else { break }
      var merged = symbols[best.index] + symbols[best.index + 1]
      if let prefix, symbols[best.index + 1].hasPrefix(prefix) {
        merged = symbols[best.index] + symbols[best.index + 1].dropFirst(prefix.count)
      }
      symbols.replaceSubrange(best.index...(best.index + 1), with: [merged])
    }
    return symbols
  }

  @Test(arguments: [(nil, nil), ("##", nil), (nil, "</w>")] as [(String?, String?)])
  func bpeMergesAsTheNaiveLoopDid(_ prefix: String?, _ suffix: String?) throws {
    var state: UInt64 = 0x9e37_79b9_7f4a_7c15
    func random(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(n))
    }
    for round in 0..<20 {
      // Merges of random known tokens, in rank order: a left token may carry the prefix (inside
      // a word), a right one does; some merges end a word (the suffix).
      var tokens = ["a", "b", "c"]
      var merges: [String] = []
      for _ in 0..<(5 + random(25)) {
        let (left, right) = (tokens[random(tokens.count)], tokens[random(tokens.count)])
        let leftPrefix = prefix.map { random(2) == 0 ? $0 : "" } ?? ""
        let ends = suffix != nil && random(3) == 0
        let key = leftPrefix + left + " " + (prefix ?? "") + right + (ends ? suffix ?? "" : "")
        if merges.contains(key) { continue }
        merges.append(key)
        if !ends { tokens.append(left + right) }
      }
      let tokenizer = try Self.bpe(merges: merges, prefix: prefix, suffix: suffix)
      var ranks: [String: Int] = [:]
      for (rank, merge) in merges.enumerated() where ranks[merge] == nil { ranks[merge] = rank }
      for _ in 0..<30 {
        let text = String((0..<random(60)).map { _ in ["a", "b", "c"][random(3)] }.joined())
        var symbols = text.unicodeScalars.map { String($0) }
        if let prefix { for i in symbols.indices.dropFirst() { symbols[i] = prefix + symbols[i] } }
        if let suffix, !symbols.isEmpty { symbols[symbols.count - 1] += suffix }
        let expected = Self.naiveMerges(symbols, ranks: ranks, prefix: prefix).map {
          tokenizer.id(of: $0) ?? 0
        }
        #expect(try tokenizer.encode(text) == expected, "round \(round): \(text)")
      }
    }
  }

  /// A piece of 200,000 symbols (no pre-tokenizer splits it) merges in well under a second of
  /// work; rescanning after every merge took O(n^2).
  @Test func longPiecesMergeQuickly() throws {
    let tokenizer = try Self.bpe(
      merges: ["a b", "ab ab", "abab abab", "c c"], prefix: nil, suffix: nil)
    let clock = ContinuousClock()
    let start = clock.now
    let ids = try tokenizer.encode(String(repeating: "ab", count: 100_000))
    #expect(clock.now - start < .seconds(20))
    #expect(ids.count == 25_000)
    #expect(Set(ids) == [tokenizer.id(of: "abababab")])
  }
}
