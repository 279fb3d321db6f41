import Foundation

/// The tokenization model (`model` in tokenizer.json).
struct TokenizerModel: Sendable {
  enum Kind: Sendable { case wordLevel, bpe }

  var kind: Kind
  var vocabulary: [String: Int64]
  var unknown: String?
  /// BPE merge ranks, keyed by "left right".
  var mergeRanks: [String: Int] = [:]
  var byteFallback = false
  var ignoreMerges = false
  var continuingSubwordPrefix: String?
  var endOfWordSuffix: String?

  func tokenize(_ piece: String) -> [Int64] {
    switch kind {
    case .wordLevel:
      if let id = vocabulary[piece] { return [id] }
      return unknown.flatMap { vocabulary[$0] }.map { [$0] } ?? []
    case .bpe:
      if ignoreMerges, let id = vocabulary[piece] { return [id] }
      // Symbols are Unicode scalars, as in `tokenizers` (not Swift's grapheme clusters).
      var symbols = piece.unicodeScalars.map { String($0) }
      if let prefix = continuingSubwordPrefix {
        for i in symbols.indices.dropFirst() { symbols[i] = prefix + symbols[i] }
      }
      if let suffix = endOfWordSuffix, !symbols.isEmpty { symbols[symbols.count - 1] += suffix }
      while symbols.count > 1 {
        var best: (rank: Int, index: Int)?
        for i in 0..<(symbols.count - 1) {
          if let rank = mergeRanks[symbols[i] + " " + symbols[i + 1]], rank < (best?.rank ?? .max) {
            best = (rank, i)
          }
        }
        guard let best else { break }
        var merged = symbols[best.index] + symbols[best.index + 1]
        if let prefix = continuingSubwordPrefix, best.index + 1 > 0,
          symbols[best.index + 1].hasPrefix(prefix)
        {
          merged = symbols[best.index] + symbols[best.index + 1].dropFirst(prefix.count)
        }
        symbols.replaceSubrange(best.index...(best.index + 1), with: [merged])
      }
      var ids: [Int64] = []
      for s in symbols {
        if let id = vocabulary[s] {
          ids.append(id)
        } else if byteFallback {
          for byte in s.utf8 {
            if let id = vocabulary[String(format: "<0x%02X>", byte)] { ids.append(id) }
          }
        } else if let unknown, let id = vocabulary[unknown] {
          ids.append(id)
        }
      }
      return ids
    }
  }
}

/// Decoders (`decoder` in tokenizer.json).
indirect enum TokenDecoder: Sendable {
  case sequence([TokenDecoder])
  case byteLevel
  case metaspace(replacement: Character, prependScheme: String)
  case replace(pattern: String, content: String)
  case byteFallback
  case fuse
  case strip(content: Character, start: Int, stop: Int)
  case wordPiece(prefix: String)

  /// Decodes tokens to text.
  ///
  /// Added tokens pass through the byte-level decoder unchanged, as in `tokenizers`.
  func decode(_ tokens: [String], addedTokens: Set<String>) -> String {
    decodeChain(tokens, addedTokens: addedTokens).joined()
  }

  func decodeChain(_ tokens: [String], addedTokens: Set<String>) -> [String] {
    switch self {
    case .sequence(let items):
      return items.reduce(tokens) { $1.decodeChain($0, addedTokens: addedTokens) }
    case .byteLevel:
      // Consecutive byte-level tokens are joined before UTF-8 decoding.
      var out: [String] = []
      var bytes: [UInt8] = []
      for t in tokens {
        if addedTokens.contains(t) {
          if !bytes.isEmpty { out.append(String(decoding: bytes, as: UTF8.self)) }
          bytes = []
          out.append(t)
        } else {
          bytes += ByteLevel.decode(t)
        }
      }
      if !bytes.isEmpty { out.append(String(decoding: bytes, as: UTF8.self)) }
      return out
    case .metaspace(let replacement, let scheme):
      return tokens.enumerated().map { i, t in
        var s = t.replacingOccurrences(of: String(replacement), with: " ")
        if i == 0, scheme != "never", s.hasPrefix(" ") { s.removeFirst() }
        return s
      }
    case .replace(let p, let c):
      return tokens.map { $0.replacingOccurrences(of: p, with: c) }
    case .byteFallback:
      var out: [String] = []
      var bytes: [UInt8] = []
      for t in tokens {
        if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"),
          let b = UInt8(t.dropFirst(3).prefix(2), radix: 16)
        {
          bytes.append(b)
          continue
        }
        if !bytes.isEmpty {
          out.append(
            String(validating: bytes, as: UTF8.self)
              ?? String(repeating: "\u{FFFD}", count: bytes.count))
          bytes = []
        }
        out.append(t)
      }
      if !bytes.isEmpty {
        out.append(
          String(validating: bytes, as: UTF8.self)
            ?? String(repeating: "\u{FFFD}", count: bytes.count))
      }
      return out
    case .fuse:
      return [tokens.joined()]
    case .strip(let content, let start, let stop):
      return tokens.map { t in
        var s = Substring(t)
        var n = 0
        while n < start, s.first == content {
          s = s.dropFirst()
          n += 1
        }
        n = 0
        while n < stop, s.last == content {
          s = s.dropLast()
          n += 1
        }
        return String(s)
      }
    case .wordPiece(let prefix):
      return tokens.enumerated().map { i, t in
        t.hasPrefix(prefix) ? String(t.dropFirst(prefix.count)) : (i == 0 ? t : " " + t)
      }
    }
  }
}
