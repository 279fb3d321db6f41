import Foundation

/// Reads tokenizer.json components, refusing types dqc does not implement by name.
struct ComponentReader {
  let path: String

  func type(_ json: Any?, _ place: String) throws(FrontendError) -> (String, [String: Any])? {
    guard let json, !(json is NSNull) else { return nil }
    guard let object = json as? [String: Any], let type = object["type"] as? String else {
      throw FrontendError(file: path, place: place, "expected an object with a 'type'")
    }
    return (type, object)
  }

  func pattern(_ object: [String: Any], _ place: String) throws(FrontendError) -> (
    String, isRegex: Bool
  ) {
    guard let p = object["pattern"] as? [String: Any] else {
      throw FrontendError(file: path, place: place, "expected a 'pattern' object")
    }
    if let s = p["String"] as? String { return (s, false) }
    if let r = p["Regex"] as? String { return (r, true) }
    throw FrontendError(file: path, place: place, "pattern must be a String or a Regex")
  }

  func normalizer(_ json: Any?) throws(FrontendError) -> TokenizerNormalizer? {
    guard let (type, o) = try type(json, "normalizer") else { return nil }
    switch type {
    case "Sequence":
      var items: [TokenizerNormalizer] = []
      for n in (o["normalizers"] as? [Any]) ?? [] {
        if let x = try normalizer(n) { items.append(x) }
      }
      return .sequence(items)
    case "NFC": return .nfc
    case "NFKC": return .nfkc
    case "NFD": return .nfd
    case "NFKD": return .nfkd
    case "Lowercase": return .lowercase
    case "Replace":
      let (p, isRegex) = try pattern(o, "normalizer")
      guard !isRegex else {
        throw FrontendError(file: path, place: "normalizer", "regex Replace is not supported")
      }
      return .replace(pattern: p, content: o["content"] as? String ?? "")
    case "Prepend": return .prepend(o["prepend"] as? String ?? "")
    default:
      throw FrontendError(
        file: path, place: "normalizer",
        "normalizer '\(type)' is not supported (supported: Sequence, NFC, NFKC, NFD, NFKD, Lowercase, Replace, Prepend)"
      )
    }
  }

  /// `place` is where `json` is in tokenizer.json (`pre_tokenizer.pretokenizers[1]` in a
  /// Sequence).
  func preTokenizer(_ json: Any?, _ place: String = "pre_tokenizer") throws(FrontendError)
    -> PreTokenizer?
  {
    guard let (type, o) = try type(json, place) else { return nil }
    switch type {
    case "Sequence":
      var items: [PreTokenizer] = []
      for (i, p) in ((o["pretokenizers"] as? [Any]) ?? []).enumerated() {
        if let x = try preTokenizer(p, "\(place).pretokenizers[\(i)]") { items.append(x) }
      }
      return .sequence(items)
    case "Split":
      let (p, isRegex) = try pattern(o, place)
      let regex: TokenizerRegex
      do {
        regex = try TokenizerRegex(
          p, literal: !isRegex, place: "\(place).pattern.\(isRegex ? "Regex" : "String")")
      } catch {
        throw FrontendError(file: path, place: error.place, error.message)
      }
      return .split(
        pattern: regex, behavior: (o["behavior"] as? String ?? "Isolated").snakeCased,
        invert: JSONValue.boolean(o["invert"] ?? false) ?? false)
    case "ByteLevel":
      return .byteLevel(
        addPrefixSpace: JSONValue.boolean(o["add_prefix_space"] ?? false) ?? false,
        useRegex: JSONValue.boolean(o["use_regex"] ?? true) ?? true)
    case "Metaspace":
      let replacement = (o["replacement"] as? String)?.first ?? "\u{2581}"
      let scheme =
        o["prepend_scheme"] as? String
        ?? ((JSONValue.boolean(o["add_prefix_space"] ?? true) ?? true) ? "always" : "never")
      return .metaspace(
        replacement: replacement, prependScheme: scheme,
        split: JSONValue.boolean(o["split"] ?? true) ?? true)
    case "Whitespace":
      return .whitespace
    default:
      throw FrontendError(
        file: path, place: place,
        "pre-tokenizer '\(type)' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, Whitespace)"
      )
    }
  }

  func model(_ json: Any?) throws(FrontendError) -> TokenizerModel {
    guard let (type, o) = try type(json, "model") else {
      throw FrontendError(file: path, place: "model", "the tokenizer has no model")
    }
    guard let rawVocab = o["vocab"] as? [String: Any] else {
      throw FrontendError(file: path, place: "model.vocab", "expected an object of token ids")
    }
    var vocab: [String: Int64] = [:]
    for (token, value) in rawVocab {
      guard let id = JSONValue.integer(value) else {
        throw FrontendError(file: path, place: "model.vocab['\(token)']", "expected an integer id")
      }
      vocab[token] = Int64(id)
    }
    let unknown = o["unk_token"] as? String
    switch type {
    case "WordLevel":
      return TokenizerModel(kind: .wordLevel, vocabulary: vocab, unknown: unknown)
    case "BPE":
      var model = TokenizerModel(kind: .bpe, vocabulary: vocab, unknown: unknown)
      for (rank, merge) in ((o["merges"] as? [Any]) ?? []).enumerated() {
        if let s = merge as? String {
          model.mergeRanks[s] = rank
        } else if let pair = merge as? [String], pair.count == 2 {
          model.mergeRanks[pair[0] + " " + pair[1]] = rank
        } else {
          throw FrontendError(
            file: path, place: "model.merges[\(rank)]", "expected \"a b\" or [\"a\", \"b\"]")
        }
      }
      model.byteFallback = JSONValue.boolean(o["byte_fallback"] ?? false) ?? false
      model.ignoreMerges = JSONValue.boolean(o["ignore_merges"] ?? false) ?? false
      model.continuingSubwordPrefix = o["continuing_subword_prefix"] as? String
      model.endOfWordSuffix = o["end_of_word_suffix"] as? String
      return model
    default:
      throw FrontendError(
        file: path, place: "model", "model '\(type)' is not supported (supported: WordLevel, BPE)")
    }
  }

  /// The most decoding can grow a text: the product of the decoder's Replace steps' factors,
  /// each at most its content's UTF-8 length (a match takes at least one byte).
  static func growth(of decoder: TokenDecoder) -> Double {
    switch decoder {
    case .sequence(let items): items.reduce(1) { $0 * growth(of: $1) }
    case .replace(_, let content): Double(max(1, content.utf8.count))
    default: 1
    }
  }

  /// The largest growth `growth(of:)` allows: a chain of Replace decoders whose contents hold
  /// their own patterns grows a text exponentially (real decoders replace "▁" by a space).
  static let maximumDecoderGrowth = 256.0

  /// The decoder, refused when its Replace steps could make a text more than
  /// `maximumDecoderGrowth` times longer.
  func checkedDecoder(_ json: Any?) throws(FrontendError) -> TokenDecoder? {
    guard let decoder = try decoder(json) else { return nil }
    let growth = Self.growth(of: decoder)
    guard growth <= Self.maximumDecoderGrowth else {
      throw FrontendError(
        file: path, place: "decoder",
        "the Replace decoders could make a text up to \(growth.formatted()) times longer (each by up to its content's UTF-8 length); expected at most \(Int(Self.maximumDecoderGrowth)) in all"
      )
    }
    return decoder
  }

  func decoder(_ json: Any?) throws(FrontendError) -> TokenDecoder? {
    guard let (type, o) = try type(json, "decoder") else { return nil }
    switch type {
    case "Sequence":
      var items: [TokenDecoder] = []
      for d in (o["decoders"] as? [Any]) ?? [] { if let x = try decoder(d) { items.append(x) } }
      return .sequence(items)
    case "ByteLevel": return .byteLevel
    case "Metaspace":
      let replacement = (o["replacement"] as? String)?.first ?? "\u{2581}"
      let scheme =
        o["prepend_scheme"] as? String
        ?? ((JSONValue.boolean(o["add_prefix_space"] ?? true) ?? true) ? "always" : "never")
      return .metaspace(replacement: replacement, prependScheme: scheme)
    case "Replace":
      let (p, _) = try pattern(o, "decoder")
      return .replace(pattern: p, content: o["content"] as? String ?? "")
    case "ByteFallback": return .byteFallback
    case "Fuse": return .fuse
    case "Strip":
      return .strip(
        content: (o["content"] as? String)?.first ?? " ",
        start: o["start"].flatMap(JSONValue.integer) ?? 0,
        stop: o["stop"].flatMap(JSONValue.integer) ?? 0)
    case "WordPiece": return .wordPiece(prefix: o["prefix"] as? String ?? "##")
    default:
      throw FrontendError(
        file: path, place: "decoder",
        "decoder '\(type)' is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, WordPiece)"
      )
    }
  }
}

extension String {
  /// `MergedWithPrevious` → `merged_with_previous`.
  var snakeCased: String {
    var out = ""
    for (i, c) in enumerated() {
      if c.isUppercase {
        if i > 0 { out += "_" }
        out += c.lowercased()
      } else {
        out.append(c)
      }
    }
    return out
  }
}
