import DQCIR
import Foundation

/// A safetensors file: its validated header, with every tensor as a lazily read file slice.
///
/// The header is checked before anything is used: its length lies inside the file and under a
/// sane limit, it is a JSON object, every dtype is known, every shape is non-negative and its
/// byte size (overflow-checked) equals its `data_offsets` range, ranges lie inside the data area
/// and do not overlap. No tensor data is read.
public struct SafetensorsFile: Sendable {
  /// One tensor of the file.
  public struct Entry: Sendable, Hashable {
    /// The tensor's name.
    public var name: String
    /// Its type.
    public var type: TensorType
    /// Where its bytes are (absolute offsets in the file).
    public var slice: FileSlice
  }

  /// The file's path.
  public let path: String
  /// The tensors, in data-offset order.
  public let entries: [Entry]
  /// The `__metadata__` string map, sorted by key.
  public let metadata: [(key: String, value: String)]

  /// The largest header accepted.
  public static let maximumHeaderSize = 100 << 20

  /// Reads and validates the header of the file at `path` (only the header is read).
  public init(path: String) throws(FrontendError) {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw FrontendError(file: path, "cannot open the file")
    }
    defer { try? handle.close() }
    let size: Int
    do {
      size = Int(try handle.seekToEnd())
    } catch {
      throw FrontendError(file: path, "cannot read the file")
    }
    try self.init(path: path, size: size) { offset, count in
      guard (try? handle.seek(toOffset: UInt64(offset))) != nil else { return nil }
      return try? handle.read(upToCount: count)
    }
  }

  /// Validates the header of a safetensors file held in memory: `data` is the whole file, `path`
  /// names it in errors and in the entries' slices (which lie inside `data`).
  public init(data: Data, path: String) throws(FrontendError) {
    try self.init(path: path, size: data.count) { offset, count in
      let start = data.startIndex + offset
      return data.subdata(in: start..<start + count)
    }
  }

  /// Validates the header of a `size`-byte file; `read(offset, count)` gives bytes of it (nil or
  /// fewer bytes on a read error) and is only asked for ranges inside the file.
  init(path: String, size: Int, read: (Int, Int) -> Data?) throws(FrontendError) {
    self.path = path
    guard size >= 8, let lengthBytes = read(0, 8), lengthBytes.count == 8 else {
      throw FrontendError(
        file: path, place: "byte 0",
        "the file is \(size) bytes, too short for a safetensors header length")
    }
    let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) {
      $0 | UInt64($1.element) << (8 * UInt64($1.offset))
    }
    guard headerLength <= UInt64(Self.maximumHeaderSize), headerLength <= UInt64(size - 8) else {
      throw FrontendError(
        file: path, place: "header length",
        "header length \(headerLength) exceeds the file (\(size) bytes) or the \(Self.maximumHeaderSize)-byte limit"
      )
    }
    guard let header = read(8, Int(headerLength)), header.count == Int(headerLength) else {
      throw FrontendError(file: path, place: "header", "cannot read \(headerLength) header bytes")
    }
    guard let json = try? JSONSerialization.jsonObject(with: header),
      let object = json as? [String: Any]
    else {
      throw FrontendError(file: path, place: "header", "the header is not a JSON object")
    }
    let dataStart = 8 + Int(headerLength)
    let dataSize = size - dataStart
    var entries: [Entry] = []
    var metadata: [(String, String)] = []
    for key in object.keys.sorted() {
      let value = object[key]
      if key == "__metadata__" {
        guard let map = value as? [String: Any] else {
          throw FrontendError(file: path, place: "__metadata__", "expected an object of strings")
        }
        for k in map.keys.sorted() {
          guard let v = map[k] as? String else {
            throw FrontendError(file: path, place: "__metadata__.\(k)", "expected a string value")
          }
          metadata.append((k, v))
        }
        continue
      }
      entries.append(
        try Self.entry(key, value, path: path, dataStart: dataStart, dataSize: dataSize))
    }
    entries.sort {
      $0.slice.offset < $1.slice.offset || ($0.slice.offset == $1.slice.offset && $0.name < $1.name)
    }
    for (a, b) in zip(entries, entries.dropFirst())
    where a.slice.offset + a.slice.length > b.slice.offset {
      throw FrontendError(
        file: path, place: "tensor '\(b.name)'", "data_offsets overlap those of '\(a.name)'")
    }
    self.entries = entries
    self.metadata = metadata
  }

  static func entry(_ name: String, _ value: Any?, path: String, dataStart: Int, dataSize: Int)
    throws(FrontendError) -> Entry
  {
    let place = "tensor '\(name)'"
    guard let info = value as? [String: Any] else {
      throw FrontendError(
        file: path, place: place, "expected an object with dtype, shape and data_offsets")
    }
    guard let dtype = info["dtype"] as? String else {
      throw FrontendError(file: path, place: place, "missing dtype")
    }
    guard let scalar = scalarType(dtype) else {
      throw FrontendError(
        file: path, place: place,
        "dtype '\(dtype)' is not supported (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"
      )
    }
    guard let shape = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any],
      offsets.count == 2
    else {
      throw FrontendError(
        file: path, place: place, "expected 'shape' and a two-element 'data_offsets'")
    }
    var dims: [Int] = []
    var count = 1
    for d in shape {
      guard let n = JSONValue.integer(d), n >= 0 else {
        throw FrontendError(
          file: path, place: place, "shape \(shape) has an entry that is not a non-negative integer"
        )
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: n)
      guard !overflow else {
        throw FrontendError(file: path, place: place, "shape \(shape) overflows")
      }
      count = product
      dims.append(n)
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: scalar.bitWidth / 8)
    guard let begin = JSONValue.integer(offsets[0]), let end = JSONValue.integer(offsets[1]),
      begin >= 0, begin <= end
    else {
      throw FrontendError(
        file: path, place: place, "data_offsets \(offsets) are not an increasing pair of integers")
    }
    guard end <= dataSize else {
      throw FrontendError(
        file: path, place: place,
        "data_offsets [\(begin), \(end)] lie outside the data area (\(dataSize) bytes)")
    }
    guard !overflow, bytes == end - begin else {
      throw FrontendError(
        file: path, place: place,
        "data_offsets cover \(end - begin) bytes, shape \(dims) of \(dtype) needs \(overflow ? "more than 2^63" : String(bytes))"
      )
    }
    return Entry(
      name: name, type: TensorType(shape: dims, .scalar(scalar)),
      slice: FileSlice(path: path, offset: dataStart + begin, length: end - begin))
  }

  /// The element type of a safetensors dtype name.
  public static func scalarType(_ dtype: String) -> ScalarType? {
    switch dtype {
    case "F64": .f64
    case "F32": .f32
    case "F16": .f16
    case "BF16": .bf16
    case "I64": .i64
    case "I32": .i32
    case "I16": .i16
    case "I8": .i8
    case "U8": .u8
    case "BOOL": .bool
    default: nil
    }
  }
}
