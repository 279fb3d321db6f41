import Foundation

/// A Hugging Face `tokenizer.json` tokenizer: added (special) tokens, normalizer,
/// pre-tokenizer, WordLevel or BPE model, and decoder, behaving as the `tokenizers` library does
/// for the components listed in `docs/tokenizer.md`.
public struct Tokenizer: Sendable {
  /// One added token (`added_tokens` in the JSON).
  public struct AddedToken: Sendable, Hashable {
    /// Its id.
    public var id: Int64
    /// Its text.
    public var content: String
    /// Whether it is special (dropped by `decode(skipSpecialTokens: true)`).
    public var special: Bool
  }

  /// The file it was read from.
  public let path: String
  let added: [AddedToken]
  let normalizer: TokenizerNormalizer?
  let preTokenizer: PreTokenizer?
  let model: TokenizerModel
  let decoder: TokenDecoder?
  let idToToken: [Int64: String]

  /// Reads `tokenizer.json`.
  public init(path: String) throws(FrontendError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw FrontendError(file: path, "cannot read the tokenizer")
    }
    try self.init(data: data, path: path)
  }

  /// Reads `tokenizer.json`'s bytes; `path` names them in errors (such as `model.dqb#tokenizer`).
  public init(data: Data, path: String) throws(FrontendError) {
    self.path = path
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw FrontendError(file: path, "tokenizer.json is not a JSON object")
    }
    var added: [AddedToken] = []
    for (i, item) in ((root["added_tokens"] as? [[String: Any]]) ?? []).enumerated() {
      guard let id = item["id"].flatMap(JSONValue.integer), let content = item["content"] as? String
      else {
        throw FrontendError(file: path, place: "added_tokens[\(i)]", "expected an id and a content")
      }
      added.append(
        AddedToken(
          id: Int64(id), content: content,
          special: JSONValue.boolean(item["special"] ?? false) ?? false))
    }
    self.added = added
    let reader = ComponentReader(path: path)
    normalizer = try reader.normalizer(root["normalizer"])
    preTokenizer = try reader.preTokenizer(root["pre_tokenizer"])
    model = try reader.model(root["model"])
    decoder = try reader.checkedDecoder(root["decoder"])
    var idToToken: [Int64: String] = [:]
    for (token, id) in model.vocabulary { idToToken[id] = token }
    for a in added { idToToken[a.id] = a.content }
    self.idToToken = idToToken
  }

  /// The id of a token's text (added tokens included).
  public func id(of token: String) -> Int64? {
    added.first { $0.content == token }?.id ?? model.vocabulary[token]
  }

  /// Encodes text without adding special tokens (`add_special_tokens=False`).
  ///
  /// Throws when the normalizers would make the text more than 32 times longer (plus 4 KiB),
  /// or when the pre-tokenizer's regexes need more than the text's budget of ICU steps (a
  /// pattern that backtracks catastrophically on it: `RegexBudget`) or overflow ICU's
  /// backtracking stack; the error names the file, the place and the pattern.
  public func encode(_ text: String) throws(FrontendError) -> [Int64] {
    do {
      return try encodeSegments(text)
    } catch {
      throw FrontendError(file: path, place: error.place, error.message)
    }
  }

  func encodeSegments(_ text: String) throws(TokenizerFailure) -> [Int64] {
    var segments: [(text: String, addedID: Int64?)] = []
    var length = 0
    for (segment, addedID) in splitOnAddedTokens(text) {
      guard addedID == nil, let normalizer else {
        segments.append((segment, addedID))
        length += addedID == nil ? segment.utf16.count : 0
        continue
      }
      let normalized = try normalizer.apply(segment, sourceBytes: segment.utf8.count)
      segments.append((normalized, nil))
      length += normalized.utf16.count
    }
    var budget = RegexBudget(textLength: length)
    var ids: [Int64] = []
    for (index, (segment, addedID)) in segments.enumerated() {
      if let addedID {
        ids.append(addedID)
        continue
      }
      let pieces =
        try preTokenizer?.split(segment, atStart: index == 0, budget: &budget) ?? [segment]
      for piece in pieces where !piece.isEmpty { ids += model.tokenize(piece) }
    }
    return ids
  }

  /// Decodes ids to text; unknown ids are skipped.
  public func decode(_ ids: [Int64], skipSpecialTokens: Bool = false) -> String {
    var tokens: [String] = []
    let specials = Set(added.filter(\.special).map(\.id))
    for id in ids {
      if skipSpecialTokens && specials.contains(id) { continue }
      if let t = idToToken[id] { tokens.append(t) }
    }
    return decoder?.decode(tokens, addedTokens: Set(added.map(\.content)))
      ?? tokens.joined(separator: " ")
  }

  /// Splits text around added tokens (longest match first), giving their ids.
  func splitOnAddedTokens(_ text: String) -> [(String, Int64?)] {
    guard !added.isEmpty else { return [(text, nil)] }
    let sorted = added.sorted { $0.content.count > $1.content.count }
    var result: [(String, Int64?)] = []
    var current = ""
    var index = text.startIndex
    outer: while index < text.endIndex {
      for token in sorted where !token.content.isEmpty && text[index...].hasPrefix(token.content) {
        if !current.isEmpty { result.append((current, nil)) }
        current = ""
        result.append((token.content, token.id))
        index = text.index(index, offsetBy: token.content.count)
        continue outer
      }
      current.append(text[index])
      index = text.index(after: index)
    }
    if !current.isEmpty { result.append((current, nil)) }
    return result
  }
}
