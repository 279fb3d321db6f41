extension IRParser {
  /// The deepest nesting of attribute arrays the parser reads.
  static let maxAttributeNesting = 32

  // attr-dict ::= '{' (attr-entry (',' attr-entry)*)? '}'
  // attr-entry ::= bare-id '=' attr-value
  mutating func parseAttributeDictionary() throws(IRError) -> AttributeDictionary {
    try scanner.expect("{")
    var dict = AttributeDictionary()
    if scanner.consume("}") { return dict }
    repeat {
      scanner.skipTrivia()
      let start = scanner.index
      guard let key = scanner.keyword() else { throw scanner.expected("an attribute name") }
      guard dict[key] == nil else {
        throw scanner.error("attribute '\(key)' is given twice", at: start)
      }
      try scanner.expect("=")
      dict[key] = try parseAttribute(depth: 0)
    } while scanner.consume(",")
    try scanner.expect("}")
    return dict
  }

  // attr-value ::= integer | float | string | 'true' | 'false' | '[' attr-values? ']'
  //              | element-type | tensor-type | 'dense' '<' dense-literal '>' ':' tensor-type
  //              | '@' name | '#ref' '<' string ',' string '>'
  //
  // Arrays nest at most `maxAttributeNesting` deep: the text comes from strangers, and an
  // unbounded recursion would overflow the stack (found by FuzzDQIR).
  mutating func parseAttribute(depth: Int) throws(IRError) -> Attribute {
    scanner.skipTrivia()
    let start = scanner.index
    guard let b = scanner.peek else { throw scanner.expected("an attribute value") }
    switch b {
    case UInt8(ascii: "\""):
      return .string(try scanner.string())
    case UInt8(ascii: "["):
      guard depth < Self.maxAttributeNesting else {
        throw scanner.error(
          "attribute arrays nest deeper than \(Self.maxAttributeNesting) levels", at: start)
      }
      scanner.index += 1
      var items: [Attribute] = []
      if scanner.consume("]") { return .array(items) }
      repeat { items.append(try parseAttribute(depth: depth + 1)) } while scanner.consume(",")
      try scanner.expect("]")
      return .array(items)
    case UInt8(ascii: "@"):
      return .symbol(try scanner.name(after: "@", what: "a symbol"))
    case UInt8(ascii: "!"):
      return .elementType(.quantized(try parseQuantizedType()))
    case UInt8(ascii: "#"):
      guard scanner.consume("#ref") else { throw scanner.expected("'#ref<...>'") }
      try scanner.expect("<")
      let key = try scanner.string()
      try scanner.expect(",")
      let summary = try scanner.string()
      try scanner.expect(">")
      return .reference(key: key, summary: summary)
    default:
      break
    }
    if let number = try parseNumber() { return number }
    guard let word = scanner.keyword() else { throw scanner.expected("an attribute value") }
    switch word {
    case "true": return .bool(true)
    case "false": return .bool(false)
    case "tensor":
      scanner.index = start
      return .type(try parseTensorType())
    case "dense":
      try scanner.expect("<")
      let literalStart = scanner.index
      let items = try parseDenseItems()
      try scanner.expect(">")
      try scanner.expect(":")
      let type = try parseTensorType()
      return .dense(try denseTensor(items, type: type, at: literalStart))
    default:
      if let scalar = ScalarType(rawValue: word) { return .elementType(.scalar(scalar)) }
      throw scanner.error("expected an attribute value, found '\(word)'", at: start)
    }
  }

  mutating func parseNumber() throws(IRError) -> Attribute? {
    let start = scanner.index
    guard let (text, isFloat) = scanner.numberText() else { return nil }
    if isFloat {
      guard let v = Double(text) else { throw scanner.error("invalid float '\(text)'", at: start) }
      return .float(v)
    }
    guard let v = Int64(text) else {
      throw scanner.error("integer '\(text)' does not fit in 64 bits", at: start)
    }
    return .int(v)
  }

  /// The raw items of a dense literal: numbers as text, booleans as `true`/`false`.
  mutating func parseDenseItems() throws(IRError) -> [(text: String, at: Int)] {
    try scanner.expect("[")
    var items: [(String, Int)] = []
    if scanner.consume("]") { return items }
    repeat {
      scanner.skipTrivia()
      let at = scanner.index
      if let (text, _) = scanner.numberText() {
        items.append((text, at))
      } else if let word = scanner.keyword(), word == "true" || word == "false" {
        items.append((word, at))
      } else {
        scanner.index = at
        throw scanner.expected("a number")
      }
    } while scanner.consume(",")
    try scanner.expect("]")
    return items
  }

  // dense-literal ::= '[' (number (',' number)*)? ']'
  mutating func parseDenseLiteral(type: TensorType) throws(IRError) -> DenseTensor {
    let start = scanner.index
    let items = try parseDenseItems()
    return try denseTensor(items, type: type, at: start)
  }

  func denseTensor(_ items: [(text: String, at: Int)], type: TensorType, at start: Int)
    throws(IRError) -> DenseTensor
  {
    guard let count = type.elementCount else {
      throw scanner.error("dense literal needs a static shape, has \(type)", at: start)
    }
    guard items.count == count else {
      throw scanner.error(
        "dense literal has \(items.count) values, \(type) needs \(count)",
        at: start)
    }
    let storage = type.element.storageType
    if storage.isFloat && type.element.scalar != nil {
      var values: [Double] = []
      values.reserveCapacity(count)
      for (text, at) in items {
        let v: Double?
        switch storage {
        case .f64: v = Double(text)
        default: v = Float(text).map(Double.init)
        }
        guard let v else {
          throw scanner.error(
            "expected \(storage == .f64 ? "an" : "a") \(storage) value, found '\(text)'", at: at)
        }
        values.append(v)
      }
      return DenseTensor(type: type, values: .floats(values))
    }
    var values: [Int64] = []
    values.reserveCapacity(count)
    for (text, at) in items {
      let v: Int64?
      if storage == .bool && type.element.scalar == .bool {
        v = text == "true" ? 1 : (text == "false" ? 0 : nil)
      } else {
        v = Int64(text)
      }
      guard let v,
        storage == .bool ? (0...1).contains(v) : storage.integerRange?.contains(v) == true
      else {
        let kind = type.element.storageType.rawValue
        let article = kind.hasPrefix("i") || kind.hasPrefix("u") ? "an" : "a"
        throw scanner.error("expected \(article) \(kind) value, found '\(text)'", at: at)
      }
      values.append(v)
    }
    return DenseTensor(type: type, values: .ints(values))
  }
}
