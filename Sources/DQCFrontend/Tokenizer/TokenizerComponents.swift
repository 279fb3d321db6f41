import Foundation

/// Text normalizers (`normalizer` in tokenizer.json).
indirect enum TokenizerNormalizer: Sendable {
  case sequence([TokenizerNormalizer])
  case nfc, nfkc, nfd, nfkd, lowercase
  case replace(pattern: String, content: String)
  case prepend(String)

  /// The most UTF-8 bytes normalizing a text of `bytes` bytes may give.
  ///
  /// 32 times as many plus 4,096. Real normalizers change a length by a small factor (NFKC
  /// makes at most 18 scalars of one, a Replace of a space by "▁" 3 bytes of 1); a chain of
  /// Replace steps whose contents hold their own patterns grows a text exponentially.
  static func limit(forBytes bytes: Int) -> Int { 32 * bytes + 4096 }

  /// Normalizes `s`, part of a text of `sourceBytes` UTF-8 bytes before normalization, refusing
  /// a result of more than `limit(forBytes: sourceBytes)` bytes after any step (a Replace is
  /// checked before its result is built).
  func apply(_ s: String, sourceBytes: Int) throws(TokenizerFailure) -> String {
    let limit = Self.limit(forBytes: sourceBytes)
    let out: String
    switch self {
    case .sequence(let items):
      var text = s
      for item in items { text = try item.apply(text, sourceBytes: sourceBytes) }
      return text
    case .nfc: out = s.precomposedStringWithCanonicalMapping
    case .nfkc: out = s.precomposedStringWithCompatibilityMapping
    case .nfd: out = s.decomposedStringWithCanonicalMapping
    case .nfkd: out = s.decomposedStringWithCompatibilityMapping
    case .lowercase: out = s.lowercased()
    case .replace(let p, let c):
      if !p.isEmpty, c.utf8.count > p.utf8.count {
        let occurrences = s.components(separatedBy: p).count - 1
        let estimate = s.utf8.count + occurrences * (c.utf8.count - p.utf8.count)
        if estimate > limit { throw tooLong(estimate, from: s, sourceBytes: sourceBytes) }
      }
      out = s.replacingOccurrences(of: p, with: c)
    case .prepend(let p): out = s.isEmpty ? s : p + s
    }
    if out.utf8.count > limit {
      throw tooLong(out.utf8.count, from: s, sourceBytes: sourceBytes)
    }
    return out
  }

  func tooLong(_ bytes: Int, from s: String, sourceBytes: Int) -> TokenizerFailure {
    let step =
      switch self {
      case .sequence: "Sequence"
      case .nfc: "NFC"
      case .nfkc: "NFKC"
      case .nfd: "NFD"
      case .nfkd: "NFKD"
      case .lowercase: "Lowercase"
      case .replace(let p, let c):
        "Replace of \(TokenizerRegex.quoted(p)) by \(TokenizerRegex.quoted(c))"
      case .prepend(let p): "Prepend of \(TokenizerRegex.quoted(p))"
      }
    return TokenizerFailure(
      place: "normalizer",
      message:
        "the \(step) step would make \(bytes) UTF-8 bytes of \(s.utf8.count), more than the normalizers may make of a text of \(sourceBytes) bytes (\(Self.limit(forBytes: sourceBytes)): 32 times as many plus 4,096); expected normalizers that change a text's length by a small factor"
    )
  }
}

/// Pre-tokenizers (`pre_tokenizer`).
indirect enum PreTokenizer: Sendable {
  case sequence([PreTokenizer])
  /// Split on a regex with a behavior: isolated, removed, merged_with_previous, merged_with_next
  /// (contiguous is taken as isolated).
  case split(pattern: TokenizerRegex, behavior: String, invert: Bool)
  /// GPT-2 byte-level: optional regex split, then bytes mapped to printable characters.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  /// SentencePiece style: spaces become `replacement`, pieces start at each replacement.
  case metaspace(replacement: Character, prependScheme: String, split: Bool)
  /// Splits on whitespace and punctuation (`\w+|[^\w\s]+`).
  case whitespace

  /// Splits `s`, throwing when a regex's matching fails (ICU's work limit or stack).
  ///
  /// `atStart` says whether `s` begins the whole text (Metaspace's `first` scheme prepends its
  /// mark only there, not after an added token).
  func split(_ s: String, atStart: Bool = true, budget: inout RegexBudget)
    throws(TokenizerFailure) -> [String]
  {
    switch self {
    case .sequence(let items):
      var pieces = [s]
      for pre in items {
        var next: [String] = []
        for (offset, piece) in pieces.enumerated() {
          next += try pre.split(piece, atStart: atStart && offset == 0, budget: &budget)
        }
        pieces = next
      }
      return pieces
    case .split(let regex, let behavior, let invert):
      return try Self.regexSplit(s, regex, behavior: behavior, invert: invert, budget: &budget)
    case .byteLevel(let addPrefixSpace, let useRegex):
      var text = s
      if addPrefixSpace && !text.hasPrefix(" ") { text = " " + text }
      let pieces =
        useRegex
        ? try Self.regexSplit(
          text, ByteLevel.gpt2Pattern, behavior: "isolated", invert: true, budget: &budget)
        : [text]
      return pieces.map(ByteLevel.encode)
    case .metaspace(let replacement, let scheme, let split):
      var text = s.replacingOccurrences(of: " ", with: String(replacement))
      if scheme == "always" || (scheme == "first" && atStart), !text.hasPrefix(String(replacement))
      {
        text = String(replacement) + text
      }
      guard split else { return [text] }
      var pieces: [String] = []
      var current = ""
      let mark = replacement.unicodeScalars.first
      for c in text.unicodeScalars {
        if c == mark && !current.isEmpty {
          pieces.append(current)
          current = ""
        }
        current.unicodeScalars.append(c)
      }
      if !current.isEmpty { pieces.append(current) }
      return pieces
    case .whitespace:
      return try Self.regexSplit(
        s, ByteLevel.whitespacePattern, behavior: "isolated", invert: true, budget: &budget)
    }
  }

  /// Splits around regex matches.
  ///
  /// `invert` means the matches are the pieces (what `tokenizers` calls `invert = true`;
  /// ByteLevel and Whitespace use it).
  static func regexSplit(
    _ s: String, _ regex: TokenizerRegex, behavior: String, invert: Bool,
    budget: inout RegexBudget
  ) throws(TokenizerFailure) -> [String] {
    // Matches are UTF-16 ranges (ICU's, as NSString's were); ICU matches whole code points, so
    // a range never cuts a surrogate pair.
    let utf16 = Array(s.utf16)
    func text(_ range: Range<Int>) -> String { String(decoding: utf16[range], as: UTF16.self) }
    var pieces: [(String, Bool)] = []
    var last = 0
    for m in try regex.matches(in: utf16, budget: &budget) where !m.isEmpty {
      if m.lowerBound > last { pieces.append((text(last..<m.lowerBound), false)) }
      pieces.append((text(m), true))
      last = m.upperBound
    }
    if last < utf16.count { pieces.append((text(last..<utf16.count), false)) }
    if invert {
      return pieces.map { $0.0 }
    }
    switch behavior {
    case "removed":
      return pieces.filter { !$0.1 }.map(\.0)
    case "merged_with_previous":
      var out: [String] = []
      for (p, isMatch) in pieces {
        if isMatch, !out.isEmpty { out[out.count - 1] += p } else { out.append(p) }
      }
      return out
    case "merged_with_next":
      var out: [String] = []
      var pending = ""
      for (p, isMatch) in pieces {
        if isMatch {
          pending += p
        } else {
          out.append(pending + p)
          pending = ""
        }
      }
      if !pending.isEmpty { out.append(pending) }
      return out
    default:
      return pieces.map(\.0)
    }
  }
}

/// GPT-2's byte-to-unicode table and regex.
enum ByteLevel {
  static let gpt2Pattern = compile(
    #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
    place: "the ByteLevel pre-tokenizer's GPT-2 regex")
  static let whitespacePattern = compile(
    #"\w+|[^\w\s]+"#, place: "the Whitespace pre-tokenizer's regex")

  /// Compiles one of the fixed patterns above (a failure is a bug in this file, not bad input).
  static func compile(_ pattern: String, place: String) -> TokenizerRegex {
    do {
      return try TokenizerRegex(pattern, place: place)
    } catch {
      preconditionFailure(error.message)
    }
  }

  /// byte → character, as GPT-2 defines it: printable bytes map to themselves, the rest to 256+.
  static let byteToChar: [Character] = {
    var table = [Character](repeating: " ", count: 256)
    var n = 0
    for b in 0..<256 {
      let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
      if printable {
        table[b] = Character(Unicode.Scalar(UInt8(b)))
      } else {
        table[b] = Character(Unicode.Scalar(UInt32(256 + n))!)
        n += 1
      }
    }
    return table
  }()

  static let charToByte: [Character: UInt8] = {
    var map: [Character: UInt8] = [:]
    for (b, c) in byteToChar.enumerated() { map[c] = UInt8(b) }
    return map
  }()

  static func encode(_ s: String) -> String { String(s.utf8.map { byteToChar[Int($0)] }) }

  static func decode(_ s: String) -> [UInt8] { s.compactMap { charToByte[$0] } }
}
