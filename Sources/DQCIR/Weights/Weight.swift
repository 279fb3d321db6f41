import Foundation

/// Where a weight's bytes live.
public enum WeightStorage: Sendable, Hashable {
  /// Bytes held in memory (folded constants, quantized weights, small parsed literals),
  /// little-endian, sub-byte elements packed two per byte, low nibble first.
  case bytes([UInt8])
  /// A byte range of a file, read lazily.
  case file(FileSlice)
  /// Data that was elided when the text was printed; the module can be read and verified but
  /// not executed.
  case elided
}

/// A byte range of a file on disk.
public struct FileSlice: Sendable, Hashable {
  /// The file's path: absolute, or relative to the directory of the text that named it.
  public var path: String
  /// The first byte.
  public var offset: Int
  /// The number of bytes.
  public var length: Int

  /// Creates a slice.
  public init(path: String, offset: Int, length: Int) {
    self.path = path
    self.offset = offset
    self.length = length
  }
}

/// A named constant tensor of the module.
public struct Weight: Sendable, Hashable {
  /// The symbol, printed as `@name`.
  public var name: String
  /// The tensor type (static shape).
  public var type: TensorType
  /// Where the bytes are.
  public var storage: WeightStorage
  /// A digest of the bytes (`fnv1a64:<16 hex digits>`), when known; checked when bytes are read.
  public var digest: String?

  /// Creates a weight.
  public init(name: String, type: TensorType, storage: WeightStorage, digest: String? = nil) {
    self.name = name
    self.type = type
    self.storage = storage
    self.digest = digest
  }

  /// Creates an in-memory weight holding `tensor`'s values in `tensor.type`'s encoding.
  public init(name: String, tensor: DenseTensor) {
    self.init(name: name, type: tensor.type, storage: .bytes(ElementCodec.encode(tensor)))
  }

  /// The weight's bytes, read from the file when needed, with size and digest checked.
  public func loadBytes() throws(WeightError) -> [UInt8] {
    let bytes: [UInt8]
    switch storage {
    case .bytes(let b): bytes = b
    case .elided: throw WeightError.elided(weight: name)
    case .file(let slice): bytes = try slice.read(weight: name)
    }
    if let expected = type.byteCount, bytes.count != expected {
      throw WeightError.sizeMismatch(weight: name, expected: expected, actual: bytes.count)
    }
    if let digest, digest != Digest.fnv1a64(bytes) {
      throw WeightError.digestMismatch(
        weight: name, expected: digest, actual: Digest.fnv1a64(bytes))
    }
    return bytes
  }

  /// The digest of the weight's bytes, read in 4 MiB chunks so a large file-backed weight is
  /// never held in memory whole.
  public func computeDigest() throws(WeightError) -> String {
    switch storage {
    case .bytes(let b): return Digest.fnv1a64(b)
    case .elided: throw WeightError.elided(weight: name)
    case .file(let slice):
      var hasher = Digest.FNV1a64()
      try slice.readChunks(weight: name, chunkSize: 4 << 20) { hasher.update($0) }
      return hasher.digest
    }
  }

  /// The weight's values decoded into a dense tensor.
  public func loadTensor() throws(WeightError) -> DenseTensor {
    let bytes = try loadBytes()
    guard let tensor = ElementCodec.decode(bytes, type: type) else {
      throw WeightError.undecodable(weight: name, type: type)
    }
    return tensor
  }
}

extension FileSlice {
  /// Reads the slice's bytes, refusing ranges outside the file.
  public func read(weight: String) throws(WeightError) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(length)
    try readChunks(weight: weight, chunkSize: max(length, 1)) { out.append(contentsOf: $0) }
    return out
  }

  /// Reads the slice in chunks of at most `chunkSize` bytes, refusing ranges outside the file.
  public func readChunks(
    weight: String, chunkSize: Int, _ body: (UnsafeRawBufferPointer) -> Void
  ) throws(WeightError) {
    guard offset >= 0, length >= 0 else {
      throw WeightError.badRange(
        weight: weight, path: path, offset: offset, length: length, fileSize: nil)
    }
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
      throw WeightError.unreadable(weight: weight, path: path)
    }
    guard offset <= size, length <= size - offset else {
      throw WeightError.badRange(
        weight: weight, path: path, offset: offset, length: length,
        fileSize: size)
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw WeightError.unreadable(weight: weight, path: path)
    }
    defer { try? handle.close() }
    do {
      try handle.seek(toOffset: UInt64(offset))
      var remaining = length
      while remaining > 0 {
        let data = try handle.read(upToCount: min(remaining, chunkSize)) ?? Data()
        guard !data.isEmpty else {
          throw WeightError.badRange(
            weight: weight, path: path, offset: offset, length: length, fileSize: size)
        }
        data.withUnsafeBytes { body($0) }
        remaining -= data.count
      }
    } catch let error as WeightError {
      throw error
    } catch {
      throw WeightError.unreadable(weight: weight, path: path)
    }
  }
}

/// Why a weight's data cannot be had.
public enum WeightError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The text elided the data.
  case elided(weight: String)
  /// The file cannot be opened or read.
  case unreadable(weight: String, path: String)
  /// The byte range lies outside the file.
  case badRange(weight: String, path: String, offset: Int, length: Int, fileSize: Int?)
  /// The byte count does not match the type.
  case sizeMismatch(weight: String, expected: Int, actual: Int)
  /// The bytes do not match the recorded digest.
  case digestMismatch(weight: String, expected: String, actual: String)
  /// The bytes cannot be decoded as the type.
  case undecodable(weight: String, type: TensorType)

  /// A one-line message naming the weight, the file and what was expected.
  public var description: String {
    switch self {
    case .elided(let w):
      "weight @\(w): data was elided when the IR was printed; re-run from a complete .dqir"
    case .unreadable(let w, let p):
      "weight @\(w): cannot read '\(p)'"
    case .badRange(let w, let p, let o, let l, let size):
      "weight @\(w): bytes \(o)..<\(o + l) of '\(p)' lie outside the file"
        + (size.map { " (\($0) bytes)" } ?? "")
    case .sizeMismatch(let w, let e, let a):
      "weight @\(w): has \(a) bytes, its type needs \(e)"
    case .digestMismatch(let w, let e, let a):
      "weight @\(w): digest is \(a), expected \(e) (the data changed since the IR was written)"
    case .undecodable(let w, let t):
      "weight @\(w): cannot decode bytes as \(t)"
    }
  }
}
