import CICURegex

/// Why a tokenizer component cannot be read or cannot process a text: where it is in
/// tokenizer.json, and what is wrong in words (`Tokenizer` adds the file).
struct TokenizerFailure: Error {
  var place: String
  var message: String
}

/// The work all the regexes of one `encode` may do: ICU steps, each 10,000 backtracking states.
///
/// 1,000 steps (10 million states, about 0.1–0.2 s) plus one per 16 UTF-16 units of the text
/// (after normalization), shared by every pre-tokenizer regex matched on its pieces. Ordinary
/// tokenizer patterns need well under one step per 1,000 units; ICU counts steps the same on
/// every machine, so whether a text is refused does not depend on the machine's speed or load.
struct RegexBudget {
  /// The text's length in UTF-16 units.
  let textLength: Int
  /// Steps allowed.
  let limit: Int32
  /// Steps used so far.
  var used: Int32 = 0

  init(textLength: Int) {
    self.textLength = textLength
    limit = Int32(clamping: 1000 + textLength / 16)
  }
}

/// A compiled ICU regular expression: a `Split` pre-tokenizer's pattern, or one of ByteLevel's and
/// Whitespace's built-in patterns.
///
/// The engine is the ICU that `NSRegularExpression` runs on (the one Foundation loads), called
/// through ICU's C API (`CICURegex`) with the same flags (none), over the whole text in UTF-16,
/// match after match (`uregex_findNext`), so the matches are `NSRegularExpression`'s. Unlike it:
/// a pattern that does not compile leaves nothing to free; no copy of a pattern is leaked
/// (swift-corelibs-foundation leaks one for every compiled pattern over 256 UTF-16 units); and
/// matching is bounded by a `RegexBudget` (ICU's time limit), past which it stops with an error
/// instead of running for hours.
final class TokenizerRegex: @unchecked Sendable {
  /// The pattern as written (a `String` pattern unescaped).
  let pattern: String
  /// Where the pattern is in tokenizer.json (`pre_tokenizer.pretokenizers[1].pattern.Regex`), or
  /// what it is for a built-in pattern.
  let place: String
  // Shared by every matcher (clones); ICU clones a compiled pattern safely from many threads.
  private let compiled: OpaquePointer

  /// Compiles `pattern`, as an ICU regular expression or, when `literal`, as plain text.
  init(_ pattern: String, literal: Bool = false, place: String) throws(TokenizerFailure) {
    self.pattern = pattern
    self.place = place
    let units = Array(pattern.utf16)
    var status: Int32 = 0
    var line: Int32 = 0
    var offset: Int32 = 0
    let compiled: OpaquePointer? =
      units.count > Int(Int32.max)
      ? nil
      : units.withUnsafeBufferPointer {
        dqc_icu_regex_open(
          $0.baseAddress, Int32($0.count), literal ? 1 : 0, &status, &line, &offset)
      }
    guard let compiled else {
      let what = literal ? "string" : "ICU regular expression"
      let expected = units.isEmpty ? "a non-empty \(what)" : literal ? "a string" : "an \(what)"
      let reason =
        units.isEmpty
        ? "the pattern is empty"
        : units.count > Int(Int32.max)
          ? "the pattern is longer than ICU takes (2^31 - 1 UTF-16 units)"
          : Self.errorName(status) + (line >= 1 ? " at line \(line), column \(offset)" : "")
      throw TokenizerFailure(
        place: place,
        message:
          "cannot compile the \(literal ? "pattern" : "regex") \(Self.quoted(pattern)): \(reason); expected \(expected)"
      )
    }
    self.compiled = compiled
  }

  deinit { dqc_icu_regex_close(compiled) }

  /// The UTF-16 ranges of the successive matches in `text` (empty matches included), as
  /// `NSRegularExpression.matches(in:range:)` with no options over the whole text gives them;
  /// the steps ICU takes are charged to `budget`.
  func matches(in text: [UInt16], budget: inout RegexBudget) throws(TokenizerFailure)
    -> [Range<Int>]
  {
    let what = "matching the regex \(Self.quoted(pattern)) on a text of \(text.count) UTF-16 units"
    guard text.count <= Int(Int32.max) else {
      throw TokenizerFailure(place: place, message: "\(what) failed: ICU takes at most 2^31 - 1")
    }
    let remaining = budget.limit - budget.used
    var status: Int32 = remaining > 0 ? 0 : Int32(DQC_ICU_REGEX_TIME_OUT)
    var steps: Int32 = 0
    let found: [Range<Int>]? =
      remaining <= 0
      ? nil
      : text.withUnsafeBufferPointer { buffer in
        guard
          let matcher = dqc_icu_matcher_open(
            compiled, buffer.baseAddress, Int32(buffer.count), remaining, &status)
        else { return nil }
        defer {
          steps = dqc_icu_matcher_steps(matcher)
          dqc_icu_matcher_close(matcher)
        }
        var ranges: [Range<Int>] = []
        var start: Int32 = 0
        var end: Int32 = 0
        while true {
          switch dqc_icu_matcher_find_next(matcher, &start, &end, &status) {
          case 1: ranges.append(Int(start)..<Int(end))
          case 0: return ranges
          default: return nil
          }
        }
      }
    budget.used += steps
    if let found { return found }
    switch status {
    case Int32(DQC_ICU_REGEX_TIME_OUT):
      throw TokenizerFailure(
        place: place,
        message:
          "\(what) used up the text's budget of \(budget.limit) steps of ICU's matcher (U_REGEX_TIME_OUT; 1,000 + 1 per 16 UTF-16 units of the normalized text, \(budget.textLength), for all its regexes; a step is 10,000 backtracking states): the pattern backtracks catastrophically; expected a pattern whose work grows about linearly with the text"
      )
    case Int32(DQC_ICU_REGEX_STACK_OVERFLOW):
      throw TokenizerFailure(
        place: place,
        message:
          "\(what) overflowed ICU's backtracking stack (U_REGEX_STACK_OVERFLOW, 8 million 32-bit words)"
      )
    default:
      throw TokenizerFailure(place: place, message: "\(what) failed: \(Self.errorName(status))")
    }
  }

  static func errorName(_ status: Int32) -> String {
    dqc_icu_error_name(status).map { String(cString: $0) } ?? "ICU error \(status)"
  }

  /// The pattern in quotes, control characters escaped (`\n`, `\u{7}`), shortened to its first
  /// 120 characters when longer.
  static func quoted(_ pattern: String) -> String {
    func escaped(_ s: Substring) -> String {
      var out = ""
      for scalar in s.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7f:
          out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
      }
      return out
    }
    let count = pattern.count
    guard count > 120 else { return "'\(escaped(pattern[...]))'" }
    return "'\(escaped(pattern.prefix(120)))…' (\(count) characters)"
  }
}
