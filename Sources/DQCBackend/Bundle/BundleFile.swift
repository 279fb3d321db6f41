import DQCIR
import Foundation

/// One section table entry of an opened bundle.
public struct BundleSection: Sendable, Hashable {
  /// The name in the table.
  public var name: String
  /// The kind, when this reader knows it.
  public var kind: BundleSectionKind?
  /// The raw kind number.
  public var rawKind: UInt32
  /// Whether a reader that does not know the kind must refuse the bundle.
  public var isRequired: Bool
  /// The first byte, from the start of the file.
  public var offset: Int
  /// The size in bytes.
  public var size: Int
  /// The section's `dqc_fnv1a64` checksum.
  public var checksum: UInt64
}

/// One entry of the tensor index.
public struct BundleTensor: Sendable, Hashable {
  /// The weight's symbol.
  public var name: String
  /// The element storage type.
  public var element: ScalarType
  /// The shape.
  public var shape: [Int]
  /// The first byte, from the start of `tensor-data`.
  public var offset: Int
  /// The size in bytes.
  public var size: Int
  /// How the bytes are laid out.
  public var layout: PackedLayout = .rowMajor
}

/// A `.dqb` bundle opened and checked: header, section table, every section's checksum and the
/// tensor index (`docs/bundle-format.md`).
public struct BundleFile: Sendable {
  /// The bundle's path.
  public let path: String
  /// The format version.
  public let version: (major: UInt16, minor: UInt16)
  /// The file size.
  public let fileSize: Int
  /// The sections in table order.
  public let sections: [BundleSection]
  /// The tensors in index order.
  public let tensors: [BundleTensor]
  /// The small sections' bytes by kind (everything but `tensor-data`).
  let contents: [BundleSectionKind: [UInt8]]

  /// Opens `path` and verifies it; `verifyTensorData: false` skips the (large) `tensor-data`
  /// checksum, whose weights are then still checked against their digests when loaded.
  public init(path: String, verifyTensorData: Bool = true) throws(BundleError) {
    self.path = path
    func fail(_ place: String, _ message: String) -> BundleError {
      BundleError(file: path, place: place, message)
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw fail("file", "cannot open the file")
    }
    defer { try? handle.close() }
    let size: Int
    do {
      size = Int(try handle.seekToEnd())
    } catch {
      throw fail("file", "cannot read the file size")
    }
    func read(_ offset: Int, _ count: Int) throws(BundleError) -> [UInt8] {
      do {
        try handle.seek(toOffset: UInt64(offset))
        let data = try handle.read(upToCount: count) ?? Data()
        guard data.count == count else { throw CocoaError(.fileReadCorruptFile) }
        return [UInt8](data)
      } catch {
        throw fail("file", "cannot read \(count) bytes at offset \(offset)")
      }
    }

    // Header.
    guard size >= BundleFormat.headerSize else {
      throw fail(
        "header",
        "the file has \(size) bytes, fewer than the \(BundleFormat.headerSize)-byte header")
    }
    let header = ByteReader(bytes: try read(0, BundleFormat.headerSize))
    guard Array(header.bytes[0..<8]) == BundleFormat.magic else {
      throw fail("header", "not a .dqb bundle (the magic bytes differ)")
    }
    let stored = header.u64(56)
    let computed = BundleFormat.checksum(Array(header.bytes[0..<56]))
    guard stored == computed else {
      throw fail("header", "checksum mismatch (the header is corrupt)")
    }
    let major = header.u16(8)
    let minor = header.u16(10)
    guard major == BundleFormat.major else {
      throw fail(
        "header",
        "format version \(major).\(minor); this dqc reads version \(BundleFormat.major).x")
    }
    guard header.bytes[12] == 1 else {
      throw fail("header", "byte order \(header.bytes[12]); expected 1 (little-endian)")
    }
    guard header.u32(16) == UInt32(BundleFormat.headerSize) else {
      throw fail("header", "header size \(header.u32(16)); expected \(BundleFormat.headerSize)")
    }
    let count = Int(header.u32(20))
    guard count >= 1, count <= BundleFormat.maxSections else {
      throw fail("header", "\(count) sections; expected 1 to \(BundleFormat.maxSections)")
    }
    let tableOffset = header.u64(24)
    guard tableOffset == UInt64(BundleFormat.headerSize) else {
      throw fail("header", "section table at \(tableOffset); expected \(BundleFormat.headerSize)")
    }
    let declaredSize = header.u64(32)
    guard declaredSize == UInt64(size) else {
      throw fail(
        "header",
        UInt64(size) < declaredSize
          ? "the file is truncated: \(size) bytes, the header declares \(declaredSize)"
          : "the file has \(size) bytes, the header declares \(declaredSize)")
    }
    version = (major, minor)
    fileSize = size

    // Section table.
    let tableSize = count * BundleFormat.entrySize
    guard BundleFormat.headerSize + tableSize <= size else {
      throw fail("section table", "\(count) entries do not fit in the file")
    }
    let table = ByteReader(bytes: try read(BundleFormat.headerSize, tableSize))
    guard BundleFormat.checksum(table.bytes) == header.u64(40) else {
      throw fail("section table", "checksum mismatch (the table is corrupt)")
    }
    var sections: [BundleSection] = []
    var end = BundleFormat.headerSize + tableSize
    for i in 0..<count {
      let base = i * BundleFormat.entrySize
      let nameBytes = table.bytes[base..<(base + BundleFormat.nameSize)].prefix { $0 != 0 }
      let name = String(decoding: nameBytes, as: UTF8.self)
      let rawKind = table.u32(base + 16)
      let kind = BundleSectionKind(rawValue: rawKind)
      let place = name.isEmpty ? "section \(i)" : "section '\(name)'"
      if let kind, kind.name != name {
        throw fail(place, "kind \(rawKind) is '\(kind.name)', not '\(name)'")
      }
      let flags = table.u32(base + 20)
      let offset = table.u64(base + 24)
      let length = table.u64(base + 32)
      guard offset <= UInt64(size), length <= UInt64(size) - offset else {
        throw fail(
          place, "offset \(offset) + size \(length) points past the end of the file (\(size) bytes)"
        )
      }
      let alignment =
        kind == .tensorData ? BundleFormat.dataAlignment : BundleFormat.sectionAlignment
      guard offset % UInt64(alignment) == 0 else {
        throw fail(place, "offset \(offset) is not a multiple of \(alignment)")
      }
      guard Int(offset) >= end else {
        throw fail(place, "overlaps the header, the table or the previous section")
      }
      if let kind, sections.contains(where: { $0.kind == kind }) {
        throw fail(place, "appears twice")
      }
      if kind == nil && flags & 1 != 0 {
        throw fail(place, "unknown required section kind \(rawKind); a newer dqc wrote it")
      }
      end = Int(offset + length)
      sections.append(
        BundleSection(
          name: name, kind: kind, rawKind: rawKind, isRequired: flags & 1 != 0,
          offset: Int(offset), size: Int(length), checksum: table.u64(base + 40)))
    }
    for kind in BundleSectionKind.allCases where kind.isRequired {
      guard sections.contains(where: { $0.kind == kind }) else {
        throw fail("section '\(kind.name)'", "missing")
      }
    }
    self.sections = sections

    // Section checksums; the small sections are kept.
    var contents: [BundleSectionKind: [UInt8]] = [:]
    for section in sections {
      guard let kind = section.kind else { continue }
      let place = "section '\(section.name)'"
      if kind == .tensorData {
        guard verifyTensorData else { continue }
        var hash = BundleFormat.initialChecksum
        var done = 0
        let chunk = 4 << 20
        while done < section.size {
          let piece = try read(section.offset + done, min(chunk, section.size - done))
          hash = piece.withUnsafeBytes { BundleFormat.checksum($0, continuing: hash) }
          done += piece.count
        }
        guard hash == section.checksum else {
          throw fail(place, "checksum mismatch (the tensor data is corrupt)")
        }
        continue
      }
      let bytes = try read(section.offset, section.size)
      guard BundleFormat.checksum(bytes) == section.checksum else {
        throw fail(place, "checksum mismatch (the section is corrupt)")
      }
      contents[kind] = bytes
    }
    self.contents = contents
    let data = sections.first { $0.kind == .tensorData }!
    tensors = try Self.tensorIndex(
      contents[.tensorIndex] ?? [], dataSize: data.size, fail: fail)
  }

  /// The bytes of a small section (nil for `tensor-data` and absent sections).
  public func bytes(of kind: BundleSectionKind) -> [UInt8]? { contents[kind] }

  /// The text of a small section.
  public func text(of kind: BundleSectionKind) -> String? {
    contents[kind].map { String(decoding: $0, as: UTF8.self) }
  }

  /// The bundled module: the `ir` section with every weight read from `tensor-data`.
  public func module() throws(BundleError) -> Module {
    func fail(_ place: String, _ message: String) -> BundleError {
      BundleError(file: path, place: place, message)
    }
    var module: Module
    do {
      module = try IRParser.parse(text(of: .ir) ?? "", file: path + "#ir")
    } catch {
      throw fail("section 'ir'", error.description)
    }
    let data = sections.first { $0.kind == .tensorData }!
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    var byName: [String: BundleTensor] = [:]
    for tensor in tensors { byName[tensor.name] = tensor }
    for var weight in module.weights {
      guard let tensor = byName.removeValue(forKey: weight.name) else {
        throw fail("section 'tensor-index'", "no tensor for weight @\(weight.name)")
      }
      guard weight.type.staticShape == tensor.shape,
        weight.type.element.storageType == tensor.element,
        tensor.layout != .rowMajor || weight.type.byteCount == tensor.size
      else {
        throw fail(
          "tensor '\(tensor.name)'",
          "index says \(tensor.element) \(tensor.shape) (\(tensor.size) bytes), the IR \(weight.type)"
        )
      }
      let slice = FileSlice(
        path: absolute, offset: data.offset + tensor.offset, length: tensor.size)
      if tensor.layout == .rowMajor {
        weight.storage = .file(slice)
      } else {
        // Packed codes are unpacked to the IR's row-major encoding.
        do {
          let packed = try slice.read(weight: weight.name)
          weight.storage = .bytes(
            try tensor.layout.unpack(packed, shape: tensor.shape, element: tensor.element))
        } catch let error as BundleError {
          throw fail("tensor '\(tensor.name)'", error.message)
        } catch {
          throw fail("tensor '\(tensor.name)'", "\(error)")
        }
      }
      module.weights.insert(weight)
    }
    // Tensors that only the plan reads (RoPE tables, converted weights) are not in the IR.
    if contents[.plan] == nil, let extra = byName.keys.sorted().first {
      throw fail("section 'tensor-index'", "tensor '\(extra)' is not a weight of the IR")
    }
    return module
  }

  /// Parses and checks the tensor index against the data section's size.
  static func tensorIndex(
    _ bytes: [UInt8], dataSize: Int, fail: (String, String) -> BundleError
  ) throws(BundleError) -> [BundleTensor] {
    let place = "section 'tensor-index'"
    let reader = ByteReader(bytes: bytes)
    guard bytes.count >= BundleFormat.tensorIndexHeaderSize else {
      throw fail(
        place, "\(bytes.count) bytes; expected at least \(BundleFormat.tensorIndexHeaderSize)")
    }
    let count = Int(reader.u32(0))
    guard reader.u32(4) == UInt32(BundleFormat.tensorEntrySize) else {
      throw fail(place, "entry size \(reader.u32(4)); expected \(BundleFormat.tensorEntrySize)")
    }
    let stringsSize = reader.u64(8)
    let entriesEnd = BundleFormat.tensorIndexHeaderSize + count * BundleFormat.tensorEntrySize
    guard count <= bytes.count / BundleFormat.tensorEntrySize, stringsSize <= UInt64(bytes.count),
      UInt64(entriesEnd) + stringsSize == UInt64(bytes.count)
    else {
      throw fail(
        place,
        "\(count) entries and \(stringsSize) name bytes do not match its \(bytes.count) bytes")
    }
    var tensors: [BundleTensor] = []
    var previousEnd = 0
    for i in 0..<count {
      let base = BundleFormat.tensorIndexHeaderSize + i * BundleFormat.tensorEntrySize
      let offset = reader.u64(base)
      let size = reader.u64(base + 8)
      let nameOffset = Int(reader.u32(base + 16))
      let nameLength = Int(reader.u32(base + 20))
      guard nameOffset + nameLength <= Int(stringsSize) else {
        throw fail(place, "entry \(i)'s name lies outside the name area")
      }
      let nameStart = entriesEnd + nameOffset
      let name = String(decoding: bytes[nameStart..<(nameStart + nameLength)], as: UTF8.self)
      let tensorPlace = "tensor '\(name)'"
      guard let element = BundleFormat.scalarType(code: reader.u16(base + 24)) else {
        throw fail(tensorPlace, "unknown element code \(reader.u16(base + 24))")
      }
      guard let layout = PackedLayout(rawValue: reader.u16(base + 26)) else {
        throw fail(tensorPlace, "layout \(reader.u16(base + 26)); this dqc reads layouts 0 to 3")
      }
      let rank = Int(reader.u32(base + 28))
      guard rank <= BundleFormat.maxRank else {
        throw fail(tensorPlace, "rank \(rank) exceeds \(BundleFormat.maxRank)")
      }
      var shape: [Int] = []
      var elements: UInt64 = 1
      for d in 0..<rank {
        let dim = reader.u64(base + 32 + 8 * d)
        let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
        guard dim <= UInt64(Int32.max), !overflow else {
          throw fail(tensorPlace, "dimension \(dim) is too large")
        }
        elements = product
        shape.append(Int(dim))
      }
      let (bits, bitsOverflow) = elements.multipliedReportingOverflow(by: UInt64(element.bitWidth))
      guard !bitsOverflow, bits <= UInt64(Int.max) else {
        throw fail(tensorPlace, "shape \(shape) of \(element) has more bytes than 2^60")
      }
      var expected = (bits + 7) / 8
      if layout == .f32N16 {
        guard rank == 2, element == .f32 else {
          throw fail(tensorPlace, "layout 3 packs [N, K] f32 weights")
        }
        expected = UInt64(layout.packedSize(shape: shape))
      } else if layout != .rowMajor {
        let bits = layout == .q4N16K8 ? 4 : 8
        guard rank == 2, element.bitWidth == bits, !element.isFloat else {
          throw fail(tensorPlace, "layout \(layout.rawValue) packs [N, K] \(bits)-bit codes")
        }
        expected = UInt64(layout.packedSize(shape: shape))
      }
      guard size == expected else {
        throw fail(tensorPlace, "\(size) bytes; \(element) \(shape) needs \(expected)")
      }
      guard offset % UInt64(BundleFormat.tensorAlignment) == 0, offset >= UInt64(previousEnd),
        offset <= UInt64(dataSize), size <= UInt64(dataSize) - offset
      else {
        throw fail(
          tensorPlace,
          "bytes \(offset)..<\(offset.addingReportingOverflow(size).overflow ? "(past 2^64)" : String(offset + size)) are misaligned, overlap the previous tensor or lie outside tensor-data (\(dataSize) bytes)"
        )
      }
      previousEnd = Int(offset + size)
      tensors.append(
        BundleTensor(
          name: name, element: element, shape: shape, offset: Int(offset), size: Int(size),
          layout: layout))
    }
    return tensors
  }
}
