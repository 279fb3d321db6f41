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
      var ids: [Int64] = []
      for s in merged(symbols) {
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

extension TokenizerModel {
  /// BPE's merges applied to `symbols`, in O(n log n) for n symbols.
  ///
  /// Again and again the adjacent pair of lowest rank, the leftmost of equal ranks, is merged,
  /// as `tokenizers` does. The candidate pairs wait in a heap ordered by (rank, position), over
  /// a linked list of the symbols (rescanning the piece after every merge took O(n^2): minutes
  /// for a long piece).
  func merged(_ initial: [String]) -> [String] {
    var symbols = initial
    let n = symbols.count
    guard n > 1, !mergeRanks.isEmpty else { return symbols }
    // The list: next[i] (n at the end), previous[i] (-1 at the start); a pair merges into its
    // left symbol, so positions stay in text order. version[i] changes when symbol i does.
    var next = Array(1...n)
    var previous = Array(-1..<(n - 1))
    var alive = [Bool](repeating: true, count: n)
    var version = [Int](repeating: 0, count: n)
    var heap = PairHeap()
    func push(_ left: Int) {
      let right = next[left]
      guard right < n, let rank = mergeRanks[symbols[left] + " " + symbols[right]] else { return }
      heap.push(
        .init(
          rank: rank, left: left, right: right, leftVersion: version[left],
          rightVersion: version[right]))
    }
    for i in 0..<(n - 1) { push(i) }
    while let pair = heap.pop() {
      let (left, right) = (pair.left, pair.right)
      guard alive[left], alive[right], next[left] == right, version[left] == pair.leftVersion,
        version[right] == pair.rightVersion
      else { continue }  // a pair that has changed since it was pushed
      var merged = symbols[left] + symbols[right]
      if let prefix = continuingSubwordPrefix, symbols[right].hasPrefix(prefix) {
        merged = symbols[left] + symbols[right].dropFirst(prefix.count)
      }
      symbols[left] = merged
      version[left] += 1
      alive[right] = false
      next[left] = next[right]
      if next[left] < n { previous[next[left]] = left }
      if previous[left] >= 0 { push(previous[left]) }
      push(left)
    }
    var out: [String] = []
    var i = 0
    while i < n {
      out.append(symbols[i])
      i = next[i]
    }
    return out
  }
}

/// A binary min-heap of candidate BPE merges, ordered by rank, then position.
struct PairHeap {
  struct Pair {
    var rank: Int
    var left: Int
    var right: Int
    var leftVersion: Int
    var rightVersion: Int

    func precedes(_ other: Pair) -> Bool {
      rank != other.rank ? rank < other.rank : left < other.left
    }
  }

  private var items: [Pair] = []

  mutating func push(_ pair: Pair) {
    items.append(pair)
    var child = items.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard items[child].precedes(items[parent]) else { break }
      items.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> Pair? {
    guard let first = items.first else { return nil }
    let last = items.removeLast()
    if !items.isEmpty {
      items[0] = last
      var parent = 0
      while true {
        let (left, right) = (2 * parent + 1, 2 * parent + 2)
        var best = parent
        if left < items.count && items[left].precedes(items[best]) { best = left }
        if right < items.count && items[right].precedes(items[best]) { best = right }
        if best == parent { break }
        items.swapAt(parent, best)
        parent = best
      }
    }
    return first
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
