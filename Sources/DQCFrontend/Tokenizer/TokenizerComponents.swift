import Foundation

/// Text normalizers (`normalizer` in tokenizer.json).
indirect enum TokenizerNormalizer: Sendable {
  case sequence([TokenizerNormalizer])
  case nfc, nfkc, nfd, nfkd, lowercase
  case replace(pattern: String, content: String)
  case prepend(String)

  func apply(_ s: String) -> String {
    switch self {
    case .sequence(let items): items.reduce(s) { $1.apply($0) }
    case .nfc: s.precomposedStringWithCanonicalMapping
    case .nfkc: s.precomposedStringWithCompatibilityMapping
    case .nfd: s.decomposedStringWithCanonicalMapping
    case .nfkd: s.decomposedStringWithCompatibilityMapping
    case .lowercase: s.lowercased()
    case .replace(let p, let c): s.replacingOccurrences(of: p, with: c)
    case .prepend(let p): s.isEmpty ? s : p + s
    }
  }
}

/// Pre-tokenizers (`pre_tokenizer`).
indirect enum PreTokenizer: Sendable {
  case sequence([PreTokenizer])
  /// Split on a regex with a behavior: isolated, removed, merged_with_previous, merged_with_next.
  case split(pattern: NSRegularExpression, behavior: String, invert: Bool)
  /// GPT-2 byte-level: optional regex split, then bytes mapped to printable characters.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  /// SentencePiece style: spaces become `replacement`, pieces start at each replacement.
  case metaspace(replacement: Character, prependScheme: String, split: Bool)
  /// Splits on whitespace and punctuation (`\w+|[^\w\s]+`).
  case whitespace

  /// Splits `s`; `atStart` says whether `s` begins the whole text (Metaspace's `first` scheme
  /// prepends its mark only there, not after an added token).
  func split(_ s: String, atStart: Bool = true) -> [String] {
    switch self {
    case .sequence(let items):
      return items.reduce([s]) { pieces, pre in
        pieces.enumerated().flatMap { pre.split($0.element, atStart: atStart && $0.offset == 0) }
      }
    case .split(let regex, let behavior, let invert):
      return Self.regexSplit(s, regex, behavior: behavior, invert: invert)
    case .byteLevel(let addPrefixSpace, let useRegex):
      var text = s
      if addPrefixSpace && !text.hasPrefix(" ") { text = " " + text }
      let pieces =
        useRegex
        ? Self.regexSplit(text, ByteLevel.gpt2Pattern, behavior: "isolated", invert: true) : [text]
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
      return Self.regexSplit(s, ByteLevel.whitespacePattern, behavior: "isolated", invert: true)
    }
  }

  /// Splits around regex matches.
  ///
  /// `invert` means the matches are the pieces (what `tokenizers` calls `invert = true`;
  /// ByteLevel and Whitespace use it).
  static func regexSplit(_ s: String, _ regex: NSRegularExpression, behavior: String, invert: Bool)
    -> [String]
  {
    let ns = s as NSString
    let matches = regex.matches(in: s, range: NSRange(location: 0, length: ns.length))
    var pieces: [(String, Bool)] = []
    var last = 0
    for m in matches where m.range.length > 0 {
      if m.range.location > last {
        pieces.append(
          (ns.substring(with: NSRange(location: last, length: m.range.location - last)), false))
      }
      pieces.append((ns.substring(with: m.range), true))
      last = m.range.location + m.range.length
    }
    if last < ns.length { pieces.append((ns.substring(from: last), false)) }
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
    #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#)
  static let whitespacePattern = compile(#"\w+|[^\w\s]+"#)

  /// Compiles one of the fixed patterns above (a failure is a bug in this file, not bad input).
  static func compile(_ pattern: String) -> NSRegularExpression {
    guard let regex = try? NSRegularExpression(pattern: pattern) else {
      preconditionFailure("invalid built-in pattern \(pattern)")
    }
    return regex
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
