import DQCIR
import Foundation

/// Reads and writes NumPy `.npy` files (format versions 1.0–3.0, little-endian, C order).
public enum NPYFile {
  /// Why a `.npy` file cannot be read.
  public struct Error: Swift.Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What is wrong.
    public var message: String
    /// `path: error: message`.
    public var description: String { "\(path): error: \(message)" }
  }

  static let dtypes: [String: ScalarType] = [
    "<f4": .f32, "<f8": .f64, "<f2": .f16, "<i8": .i64, "<i4": .i32, "<i2": .i16, "|i1": .i8,
    "|u1": .u8,
    "|b1": .bool,
  ]

  /// Reads a tensor.
  public static func read(_ path: String) throws(NPYFile.Error) -> Tensor {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw Error(path: path, message: "cannot read the file")
    }
    let bytes = [UInt8](data)
    guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
      throw Error(path: path, message: "not a .npy file (missing the \\x93NUMPY magic)")
    }
    let major = bytes[6]
    let headerLength: Int
    let headerStart: Int
    switch major {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      headerStart = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw Error(path: path, message: "truncated header") }
      headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
      headerStart = 12
    default:
      throw Error(path: path, message: "unsupported .npy version \(major)")
    }
    guard headerStart + headerLength <= bytes.count else {
      throw Error(path: path, message: "truncated header")
    }
    let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
    guard let descr = field(header, "descr"), let scalar = dtypes[descr] else {
      throw Error(
        path: path,
        message:
          "unsupported dtype in header \(header.trimmingCharacters(in: .whitespacesAndNewlines)); expected one of \(dtypes.keys.sorted())"
      )
    }
    guard field(header, "fortran_order") == "False" else {
      throw Error(path: path, message: "Fortran-ordered arrays are not supported")
    }
    guard let shapeText = field(header, "shape") else {
      throw Error(path: path, message: "header has no shape")
    }
    let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
      .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    let count = shape.reduce(1, *)
    let type = TensorType(shape: shape, .scalar(scalar))
    let body = Array(bytes[(headerStart + headerLength)...])
    guard let expected = type.byteCount, body.count == expected else {
      throw Error(
        path: path,
        message: "data has \(body.count) bytes, shape \(shape) needs \(type.byteCount ?? 0)")
    }
    guard let dense = ElementCodec.decode(body, type: type) else {
      throw Error(path: path, message: "cannot decode \(count) values")
    }
    return Tensor(dense)
  }

  /// The value of `key` in a `.npy` header dictionary (`'key': value`).
  static func field(_ header: String, _ key: String) -> String? {
    guard let range = header.range(of: "'\(key)':") else { return nil }
    var rest = header[range.upperBound...].drop { $0 == " " }
    if rest.first == "'" {
      rest = rest.dropFirst()
      return String(rest.prefix { $0 != "'" })
    }
    if rest.first == "(" { return String(rest.prefix { $0 != ")" }) + ")" }
    return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
  }

  /// The `.npy` bytes of a tensor (version 1.0).
  public static func encode(_ tensor: Tensor) -> [UInt8] {
    let descr = dtypes.first { $0.value == tensor.element.storageType }?.key ?? "<f4"
    let shape =
      tensor.shape.isEmpty
      ? "()"
      : "(" + tensor.shape.map(String.init).joined(separator: ", ")
        + (tensor.shape.count == 1 ? ",)" : ")")
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    out.append(UInt8(header.utf8.count & 0xff))
    out.append(UInt8(header.utf8.count >> 8))
    out += Array(header.utf8)
    out += ElementCodec.encode(tensor.dense)
    return out
  }
}
