/// Serialises tensors in the safetensors format: an 8-byte little-endian header length, a JSON
/// header (padded with spaces to a multiple of 8 bytes), then the tensors' bytes back to back.
///
/// Types safetensors has no name for (i4, u4, quantized) are stored as `U8` byte vectors and
/// their dqc type is recorded in `__metadata__` under `dqc.type.<name>`.
public struct SafetensorsWriter {
  private var entries: [(name: String, type: TensorType, bytes: [UInt8])] = []

  /// Creates an empty writer.
  public init() {}

  /// Adds a tensor; returns its byte offset from the start of the file once written.
  public mutating func add(name: String, type: TensorType, bytes: [UInt8]) {
    entries.append((name, type, bytes))
  }

  /// The serialised file and, for each tensor in order, the absolute offset of its bytes.
  public func serialize() -> (data: [UInt8], offsets: [Int]) {
    var header = "{"
    var metadata: [String] = []
    var begin = 0
    var relative: [Int] = []
    for (i, entry) in entries.enumerated() {
      let (dtype, shape) = Self.dtypeAndShape(entry.type, byteCount: entry.bytes.count)
      if dtype == "U8", entry.type.element != .scalar(.u8) {
        metadata.append(
          "\(TextSyntax.quoted("dqc.type." + entry.name)):\(TextSyntax.quoted(entry.type.description))"
        )
      }
      let end = begin + entry.bytes.count
      if i > 0 { header += "," }
      header +=
        "\(TextSyntax.quoted(entry.name)):{\"dtype\":\"\(dtype)\",\"shape\":["
        + shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(begin),\(end)]}"
      relative.append(begin)
      begin = end
    }
    if !metadata.isEmpty {
      header +=
        (entries.isEmpty ? "" : ",") + "\"__metadata__\":{" + metadata.joined(separator: ",") + "}"
    }
    header += "}"
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
    var data: [UInt8] = []
    data.reserveCapacity(8 + headerBytes.count + begin)
    let length = UInt64(headerBytes.count)
    for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
    data += headerBytes
    for entry in entries { data += entry.bytes }
    let base = 8 + headerBytes.count
    return (data, relative.map { $0 + base })
  }

  static func dtypeAndShape(_ type: TensorType, byteCount: Int) -> (String, [Int]) {
    let shape = type.staticShape ?? [byteCount]
    switch type.element {
    case .scalar(.f64): return ("F64", shape)
    case .scalar(.f32): return ("F32", shape)
    case .scalar(.f16): return ("F16", shape)
    case .scalar(.bf16): return ("BF16", shape)
    case .scalar(.i64): return ("I64", shape)
    case .scalar(.i32): return ("I32", shape)
    case .scalar(.i16): return ("I16", shape)
    case .scalar(.i8): return ("I8", shape)
    case .scalar(.u8): return ("U8", shape)
    case .scalar(.bool): return ("BOOL", shape)
    default: return ("U8", [byteCount])
    }
  }
}
