/// A byte cursor over `.dqir` text with position tracking and error helpers.
struct Scanner {
  let bytes: [UInt8]
  let file: String?
  var index = 0

  init(_ text: String, file: String?) {
    self.bytes = Array(text.utf8)
    self.file = file
  }

  var atEnd: Bool { index >= bytes.count }
  var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

  func peek(at offset: Int) -> UInt8? {
    index + offset < bytes.count ? bytes[index + offset] : nil
  }

  /// The line and column of byte `offset`.
  func position(of offset: Int) -> SourcePosition {
    var line = 1
    var column = 1
    for i in 0..<min(offset, bytes.count) {
      if bytes[i] == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return SourcePosition(file: file, line: line, column: column)
  }

  var position: SourcePosition { position(of: index) }

  /// Skips spaces, newlines and `//` comments.
  mutating func skipTrivia() {
    while let b = peek {
      if b == UInt8(ascii: " ") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\t")
        || b == UInt8(ascii: "\r")
      {
        index += 1
      } else if b == UInt8(ascii: "/"), peek(at: 1) == UInt8(ascii: "/") {
        while let c = peek, c != UInt8(ascii: "\n") { index += 1 }
      } else {
        return
      }
    }
  }

  /// A short description of what comes next, for "found ..." in messages.
  func describeNext() -> String {
    guard !atEnd else { return "end of file" }
    if bytes[index] == UInt8(ascii: "\n") || bytes[index] == UInt8(ascii: "\r") {
      return "end of line"
    }
    var end = index
    while end < bytes.count, end - index < 16, !Scanner.isSpace(bytes[end]) { end += 1 }
    if end == index { end = index + 1 }
    return "'" + String(decoding: bytes[index..<end], as: UTF8.self) + "'"
  }

  static func isSpace(_ b: UInt8) -> Bool {
    b == UInt8(ascii: " ") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\t")
      || b == UInt8(ascii: "\r")
  }

  func error(_ message: String, at offset: Int? = nil) -> IRError {
    IRError(.parse, at: position(of: offset ?? index), message)
  }

  /// An "expected X, found Y" error at the current position.
  func expected(_ what: String) -> IRError {
    error("expected \(what), found \(describeNext())")
  }

  /// Consumes `literal` after trivia if it is next.
  mutating func consume(_ literal: String) -> Bool {
    skipTrivia()
    let lit = Array(literal.utf8)
    guard index + lit.count <= bytes.count, Array(bytes[index..<index + lit.count]) == lit else {
      return false
    }
    // A keyword must not run on into a longer word.
    if let last = lit.last, TextSyntax.isKeyByte(last, first: false),
      let next = peek(at: lit.count), TextSyntax.isKeyByte(next, first: false)
    {
      return false
    }
    index += lit.count
    return true
  }

  /// Consumes `literal` or throws "expected 'literal'".
  mutating func expect(_ literal: String) throws(IRError) {
    guard consume(literal) else { throw expected("'\(literal)'") }
  }

  /// A bare keyword or attribute key: `[A-Za-z_][A-Za-z0-9_.]*`.
  mutating func keyword() -> String? {
    skipTrivia()
    guard let b = peek, TextSyntax.isKeyByte(b, first: true) else { return nil }
    let start = index
    while let c = peek, TextSyntax.isKeyByte(c, first: false) { index += 1 }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  /// A name after `%` or `@`: bare name bytes or a quoted string.
  mutating func name(after sigil: String, what: String) throws(IRError) -> String {
    skipTrivia()
    guard consume(sigil) else { throw expected(what) }
    if peek == UInt8(ascii: "\"") { return try string() }
    let start = index
    while let c = peek, TextSyntax.isNameByte(c) { index += 1 }
    guard index > start else { throw expected("a name after '\(sigil)'") }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  /// A double-quoted string with the escapes the printer writes.
  mutating func string() throws(IRError) -> String {
    skipTrivia()
    let start = index
    guard peek == UInt8(ascii: "\"") else { throw expected("a string") }
    index += 1
    var out: [UInt8] = []
    while true {
      guard let c = peek else { throw error("unterminated string", at: start) }
      index += 1
      if c == UInt8(ascii: "\"") { break }
      if c == UInt8(ascii: "\n") { throw error("newline in string", at: start) }
      guard c == UInt8(ascii: "\\") else {
        out.append(c)
        continue
      }
      guard let e = peek else { throw error("unterminated string", at: start) }
      index += 1
      switch e {
      case UInt8(ascii: "\""): out.append(e)
      case UInt8(ascii: "\\"): out.append(e)
      case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
      case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
      default:
        guard let e2 = peek, let hi = Scanner.hexValue(e), let lo = Scanner.hexValue(e2) else {
          throw error("invalid escape in string", at: index - 2)
        }
        index += 1
        out.append(hi << 4 | lo)
      }
    }
    guard let text = String(validating: out, as: UTF8.self) else {
      throw error("string is not valid UTF-8", at: start)
    }
    return text
  }

  static func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  /// The text of a number token and whether it is a float.
  ///
  /// Numbers are `-?digits(.digits)?([eE][+-]?digits)?`, `inf`, `-inf` or `nan`.
  mutating func numberText() -> (text: String, isFloat: Bool)? {
    skipTrivia()
    let start = index
    if peek == UInt8(ascii: "-") || peek == UInt8(ascii: "+") { index += 1 }
    for word in ["inf", "nan"] where consumeRaw(word) {
      return (String(decoding: bytes[start..<index], as: UTF8.self), true)
    }
    let digitsStart = index
    while let c = peek, Scanner.isDigit(c) { index += 1 }
    guard index > digitsStart else {
      index = start
      return nil
    }
    var isFloat = false
    if peek == UInt8(ascii: "."), let d = peek(at: 1), Scanner.isDigit(d) {
      isFloat = true
      index += 1
      while let c = peek, Scanner.isDigit(c) { index += 1 }
    }
    if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
      var j = index + 1
      if j < bytes.count, bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+") { j += 1 }
      if j < bytes.count, Scanner.isDigit(bytes[j]) {
        isFloat = true
        index = j
        while let c = peek, Scanner.isDigit(c) { index += 1 }
      }
    }
    return (String(decoding: bytes[start..<index], as: UTF8.self), isFloat)
  }

  private mutating func consumeRaw(_ word: String) -> Bool {
    let w = Array(word.utf8)
    guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else {
      return false
    }
    if let next = peek(at: w.count), TextSyntax.isKeyByte(next, first: false) { return false }
    index += w.count
    return true
  }

  static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

  /// A non-negative decimal integer.
  mutating func unsignedInteger(_ what: String) throws(IRError) -> Int {
    skipTrivia()
    let start = index
    while let c = peek, Scanner.isDigit(c) { index += 1 }
    guard index > start else { throw expected(what) }
    guard let v = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else {
      throw error("\(what) is too large", at: start)
    }
    return v
  }
}
