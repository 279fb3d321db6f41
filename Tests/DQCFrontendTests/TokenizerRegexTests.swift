import DQCFrontend
import DQCTestSupport
import Foundation
import Testing

/// `Split` pre-tokenizer regexes, which dqc compiles and matches with ICU's regex C API: the
/// behaviours, the same pieces as `NSRegularExpression` (ICU too) gave, and hostile patterns
/// refused or stopped with an error naming the file and the JSON place.
@Suite struct TokenizerRegexTests {
  /// A WordLevel tokenizer with `preTokenizer` and every string of `vocabulary` as a token
  /// (ids in order from 1; `<unk>` is 0).
  static func tokenizer(preTokenizer: Any, vocabulary: [String]) throws -> Data {
    var vocab: [String: Int] = ["<unk>": 0]
    for piece in vocabulary where vocab[piece] == nil { vocab[piece] = vocab.count }
    let root: [String: Any] = [
      "pre_tokenizer": preTokenizer,
      "model": ["type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"],
    ]
    return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
  }

  /// The pieces `text` splits into, read back through a vocabulary of exactly `expected`: equal
  /// pieces give equal ids, any other piece `<unk>`.
  static func pieces(
    _ split: [String: Any], _ text: String, expected: [String]
  ) throws -> (actual: [Int64], expected: [Int64]) {
    let data = try tokenizer(preTokenizer: split, vocabulary: expected)
    let tokenizer = try Tokenizer(data: data, path: "memory/tokenizer.json")
    return (try tokenizer.encode(text), expected.map { tokenizer.id(of: $0) ?? -1 })
  }

  static func split(
    _ pattern: String, regex: Bool = true, behavior: String = "Isolated", invert: Bool = false
  ) -> [String: Any] {
    [
      "type": "Split", "pattern": [regex ? "Regex" : "String": pattern], "behavior": behavior,
      "invert": invert,
    ]
  }

  // "ab-c--d-" around "-": ab, [-], c, [-], [-], d, [-].
  static let behaviourCases: [(String, Bool, [String])] = [
    ("Isolated", false, ["ab", "-", "c", "-", "-", "d", "-"]),
    ("Removed", false, ["ab", "c", "d"]),
    ("MergedWithPrevious", false, ["ab-", "c--", "d-"]),
    ("MergedWithNext", false, ["ab", "-c", "--d", "-"]),
    ("Contiguous", false, ["ab", "-", "c", "-", "-", "d", "-"]),
    ("Removed", true, ["ab", "-", "c", "-", "-", "d", "-"]),
  ]

  @Test(arguments: behaviourCases)
  func behaviours(_ behavior: String, _ invert: Bool, _ expected: [String]) throws {
    for regex in [true, false] {
      let (actual, ids) = try Self.pieces(
        Self.split("-", regex: regex, behavior: behavior, invert: invert), "ab-c--d-",
        expected: expected)
      #expect(actual == ids, "\(behavior) invert \(invert) regex \(regex)")
      #expect(!actual.contains(0))
    }
  }

  /// A `String` pattern is literal: "." splits at dots only, "a+b" at that text.
  @Test func stringPatternsAreLiteral() throws {
    let dots = try Self.pieces(
      Self.split(".", regex: false), "a.b.", expected: ["a", ".", "b", "."])
    #expect(dots.actual == dots.expected)
    let regexDots = try Self.pieces(Self.split("."), "ab", expected: ["a", "b"])
    #expect(regexDots.actual == regexDots.expected)
    let plus = try Self.pieces(
      Self.split(#"a+b\"#, regex: false), #"xa+b\ya+b"#, expected: ["x", #"a+b\"#, "ya+b"])
    #expect(plus.actual == plus.expected)
  }

  /// The pieces of `NSRegularExpression` (what dqc used before; ICU underneath, options none,
  /// the whole text as the range, UTF-16 offsets), split the way `Split` isolates them.
  static func referencePieces(_ pattern: String, _ text: String) throws -> [String] {
    let regex = try NSRegularExpression(pattern: pattern)
    let ns = text as NSString
    var pieces: [String] = []
    var last = 0
    for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length))
    where m.range.length > 0 {
      if m.range.location > last {
        pieces.append(ns.substring(with: NSRange(location: last, length: m.range.location - last)))
      }
      pieces.append(ns.substring(with: m.range))
      last = m.range.location + m.range.length
    }
    if last < ns.length { pieces.append(ns.substring(from: last)) }
    return pieces.filter { !$0.isEmpty }
  }

  static let patternCases = [
    #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    #"\w+|[^\w\s]+"#, #"\p{N}"#, #"\b"#, #"^\s*|\s*$"#, #"a*"#, #"(?=[A-Z])"#, #"(?<=\d)(?=\D)"#,
    #"[\p{Han}\p{Hiragana}\p{Katakana}]+"#, #"\X"#, #"(?i)straße|é"#, #"[😀-🙏]"#, #"."#,
    #"(?m)^.*$"#, #"\s"#,
  ]

  static let texts = [
    "Hello, world! <|endoftext|> 12 345 héllo\tÆ 😀 <mask>  \n end",
    "I'm sure they'll say it's 1234567 — 東京タワーは333mです。", "STRASSE straße Straße e\u{301}",
    "  leading and trailing  ", "\n\n\r\nline\r\n", "😀😃🙏x🙏", "", "a", "CamelCaseWord42",
  ]

  /// dqc's Split gives the same pieces as NSRegularExpression did, pattern by pattern.
  @Test(arguments: patternCases)
  func sameAsNSRegularExpression(_ pattern: String) throws {
    for text in Self.texts {
      let expected = try Self.referencePieces(pattern, text)
      let (actual, ids) = try Self.pieces(Self.split(pattern), text, expected: expected)
      #expect(actual == ids, "\(pattern.debugDescription) on \(text.debugDescription)")
    }
  }

  /// FuzzTokenizer's inputs on which LeakSanitizer found NSRegularExpression leaking: both read.
  ///
  /// LeakSanitizer reported 546 bytes inside `NSRegularExpression(pattern:)`: swift-corelibs-
  /// foundation leaks its copy of any pattern over 256 UTF-16 units. Both patterns are valid ICU
  /// regexes; the files read and encode works (the fuzzer's smoke run checks there is no leak).
  @Test(arguments: ["leak-long-regex-1", "leak-long-regex-2"])
  func fuzzerLeakInputsRead(_ name: String) throws {
    let path = Paths.packageRoot + "/Tests/Fuzz/swift/regressions/FuzzTokenizer/" + name
    let tokenizer = try Tokenizer(path: path)
    let ids = try tokenizer.encode("Hello, world! 12 345 héllo\tÆ 😀 <mask>  \n end")
    #expect(!ids.isEmpty)
  }

  static let badPatterns: [(String, String)] = [
    (
      "(?i:'s|'t",
      "U_REGEX_MISMATCHED_PAREN at line 1, column 9; expected an ICU regular expression"
    ),
    (#"[^\-"#, "U_REGEX_MISSING_CLOSE_BRACKET at line 1, column 4"),
    ("a{2,1}", "U_REGEX_MAX_LT_MIN at line 1, column 6"),
    (#"\p{NoSuchProperty}"#, "U_REGEX_PROPERTY_SYNTAX"),
    ("(?<=a+)b", "U_REGEX_LOOK_BEHIND_LIMIT"),
    ("ab\ncd(", "U_REGEX_MISMATCHED_PAREN at line 2, column 3"),
    ("", "the pattern is empty; expected a non-empty ICU regular expression"),
  ]

  /// A pattern that does not compile is refused with the file, the pattern's place (inside a
  /// Sequence, counting a null entry) and ICU's reason and position.
  @Test(arguments: badPatterns)
  func uncompilablePatternsAreRefused(_ pattern: String, _ reason: String) throws {
    let pre: [String: Any] = [
      "type": "Sequence",
      "pretokenizers": [NSNull(), Self.split(pattern)],
    ]
    let data = try Self.tokenizer(preTokenizer: pre, vocabulary: ["a"])
    let error = #expect(throws: FrontendError.self) {
      try Tokenizer(data: data, path: "memory/tokenizer.json")
    }
    #expect(error?.file == "memory/tokenizer.json")
    #expect(error?.place == "pre_tokenizer.pretokenizers[1].pattern.Regex")
    let quoted = pattern.replacingOccurrences(of: "\n", with: #"\n"#)
    #expect(
      error?.message.hasPrefix("cannot compile the regex '\(quoted)': \(reason)") == true,
      "\(error?.message ?? "")")
  }

  /// An empty `String` pattern is refused too (ICU takes no empty pattern).
  @Test func emptyStringPatternIsRefused() throws {
    let data = try Self.tokenizer(preTokenizer: Self.split("", regex: false), vocabulary: ["a"])
    let error = #expect(throws: FrontendError.self) {
      try Tokenizer(data: data, path: "memory/tokenizer.json")
    }
    #expect(error?.place == "pre_tokenizer.pattern.String")
    #expect(
      error?.message
        == "cannot compile the pattern '': the pattern is empty; expected a non-empty string")
  }

  /// A pattern that backtracks catastrophically stops at ICU's work limit, in well under a
  /// second, with an error naming the place and the pattern (NSRegularExpression ran on: 2^40
  /// paths for this text).
  @Test func backtrackingBombStopsWithAnError() throws {
    let data = try Self.tokenizer(preTokenizer: Self.split("(a+)+$"), vocabulary: ["a"])
    let tokenizer = try Tokenizer(data: data, path: "memory/tokenizer.json")
    let text = String(repeating: "a", count: 40) + "b"
    let clock = ContinuousClock()
    let start = clock.now
    let error = #expect(throws: FrontendError.self) { try tokenizer.encode(text) }
    #expect(clock.now - start < .seconds(10))
    #expect(error?.file == "memory/tokenizer.json")
    #expect(error?.place == "pre_tokenizer.pattern.Regex")
    #expect(
      error?.message.hasPrefix(
        "matching the regex '(a+)+$' on a text of 41 UTF-16 units used up the text's budget of 1002 steps of ICU's matcher (U_REGEX_TIME_OUT; 1,000 + 1 per 16 UTF-16 units of the normalized text, 41, for all its regexes;"
      ) == true, "\(error?.message ?? "")")
    // The same pattern on a text it matches at once is fine.
    #expect(try tokenizer.encode(String(repeating: "a", count: 40)) == [0])
  }

  /// The budget is the text's, shared by every regex and piece: pieces that each stay within it
  /// on their own do not, together, run past it.
  @Test func theBudgetIsSharedByThePieces() throws {
    let pre: [String: Any] = [
      "type": "Sequence",
      "pretokenizers": [
        Self.split(" ", regex: false, behavior: "Removed"), Self.split("(a+)+$"),
      ],
    ]
    let data = try Self.tokenizer(preTokenizer: pre, vocabulary: ["a"])
    let tokenizer = try Tokenizer(data: data, path: "memory/tokenizer.json")
    let piece = String(repeating: "a", count: 19) + "b"
    #expect(try tokenizer.encode(piece) == [0])
    let error = #expect(throws: FrontendError.self) {
      try tokenizer.encode(Array(repeating: piece, count: 12).joined(separator: " "))
    }
    #expect(error?.place == "pre_tokenizer.pretokenizers[1].pattern.Regex")
    #expect(
      error?.message.contains(
        "used up the text's budget of 1015 steps of ICU's matcher (U_REGEX_TIME_OUT") == true,
      "\(error?.message ?? "")")
  }

  /// A text that needs more of ICU's backtracking stack than its limit is refused (it was cut
  /// short silently under NSRegularExpression, which ends the matches at any ICU error).
  @Test func backtrackingStackOverflowIsAnError() throws {
    let data = try Self.tokenizer(preTokenizer: Self.split(#"\s+(?!\S)|\s+"#), vocabulary: ["a"])
    let tokenizer = try Tokenizer(data: data, path: "memory/tokenizer.json")
    let error = #expect(throws: FrontendError.self) {
      try tokenizer.encode(String(repeating: " ", count: 1_000_000) + "a")
    }
    #expect(error?.place == "pre_tokenizer.pattern.Regex")
    #expect(
      error?.message.hasPrefix(
        "matching the regex '\\s+(?!\\S)|\\s+' on a text of 1000001 UTF-16 units overflowed ICU's backtracking stack (U_REGEX_STACK_OVERFLOW"
      ) == true, "\(error?.message ?? "")")
  }
}
