/// Lexical rules shared by the printer and the parser.
enum TextSyntax {
  /// Whether `byte` may appear in an unquoted value or symbol name.
  static func isNameByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
      UInt8(ascii: "$"), UInt8(ascii: "/"), UInt8(ascii: "-"):
      true
    default: false
    }
  }

  /// Whether `byte` may start or continue an attribute key or bare keyword.
  static func isKeyByte(_ byte: UInt8, first: Bool) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "_"):
      true
    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."): !first
    default: false
    }
  }

  /// `name` as it appears after `%` or `@`: bare when every byte is a name byte, else quoted.
  static func name(_ name: String) -> String {
    let bytes = Array(name.utf8)
    if !bytes.isEmpty && bytes.allSatisfy(isNameByte) { return name }
    return quoted(name)
  }

  /// `text` as a double-quoted string literal with `\"`, `\\`, `\n`, `\t` and `\XX` escapes
  /// (other control bytes); other bytes, UTF-8 included, are kept as they are.
  static func quoted(_ text: String) -> String {
    var bytes: [UInt8] = [UInt8(ascii: "\"")]
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "\""): bytes += Array("\\\"".utf8)
      case UInt8(ascii: "\\"): bytes += Array("\\\\".utf8)
      case UInt8(ascii: "\n"): bytes += Array("\\n".utf8)
      case UInt8(ascii: "\t"): bytes += Array("\\t".utf8)
      case 0..<0x20, 0x7f:
        let hex = String(byte, radix: 16, uppercase: true)
        bytes += Array(("\\" + (hex.count == 1 ? "0" + hex : hex)).utf8)
      default: bytes.append(byte)
      }
    }
    bytes.append(UInt8(ascii: "\""))
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The spelling of a float that always reads back as a float (has `.`, `e`, `inf` or `nan`).
  static func float(_ value: Double) -> String { value.description }

  /// The spelling of a 32-bit float value.
  static func float32(_ value: Float) -> String { value.description }
}
