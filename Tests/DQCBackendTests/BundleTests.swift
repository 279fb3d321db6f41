import DQCBackend
import DQCIR
import DQCRuntime
import Foundation
import Testing

/// The bundle writer and reader: round trip, determinism, and refusal of damaged files with the
/// damaged place named.
@Suite struct BundleTests {
  static let text = """
    dqir version 1

    module @tiny {
      weight @w : tensor<3x4xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -1.0, -2.0, -3.0, -4.0]>
      weight @codes : tensor<2x3xi4> = dense<[1, -2, 7, -8, 0, 3]>

      graph @main(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>) {
        %w = dq.weight() {name = @w} : () -> tensor<3x4xf32>
        %y = dq.linear(%x, %w) : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
        return %y
      }
    }
    """

  static let writer = BundleWriter(
    meta: Array(#"{"format":"dqb"}"#.utf8), recipe: Array(#"{"pipeline":"rtn"}"#.utf8),
    provenance: Array(#"{"source":"tiny.dqir"}"#.utf8), tokenizer: Array("{}".utf8))

  /// A fresh directory for one test.
  static func directory() throws -> String {
    let path = NSTemporaryDirectory() + "dqc-bundle-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  static func write() throws -> (path: String, bytes: [UInt8]) {
    let path = try directory() + "/tiny.dqb"
    try writer.write(try IRParser.parse(text), to: path)
    return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
  }

  static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    Array(bytes).withUnsafeBytes { dqc_fnv1a64($0.baseAddress, $0.count, DQC_FNV1A64_INITIAL) }
  }

  static func store(_ value: UInt64, at offset: Int, in bytes: inout [UInt8]) {
    for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }

  /// Recomputes the table and header checksums after an edit of the table or header fields.
  static func reseal(_ bytes: inout [UInt8]) {
    let count = Int(bytes[20]) | Int(bytes[21]) << 8
    store(checksum(bytes[64..<(64 + 64 * count)]), at: 40, in: &bytes)
    store(checksum(bytes[0..<56]), at: 56, in: &bytes)
  }

  static func error(reading bytes: [UInt8]) throws -> BundleError? {
    let path = try directory() + "/damaged.dqb"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      let bundle = try BundleFile(path: path)
      _ = try bundle.module()
      return nil
    } catch {
      return error
    }
  }

  @Test func roundTripKeepsIRAndWeights() throws {
    let (path, bytes) = try Self.write()
    #expect(Array(bytes[0..<8]) == [0x89, 0x44, 0x51, 0x42, 0x0d, 0x0a, 0x1a, 0x0a])
    let bundle = try BundleFile(path: path)
    #expect(bundle.version.major == 1 && bundle.fileSize == bytes.count)
    #expect(
      bundle.sections.map(\.name) == [
        "meta", "recipe", "provenance", "ir", "tokenizer", "tensor-index", "tensor-data",
      ])
    let data = bundle.sections.last!
    #expect(data.offset % 4096 == 0)
    #expect(bundle.tensors.map(\.name) == ["codes", "w"])
    #expect(bundle.tensors.allSatisfy { $0.offset % 64 == 0 })
    let original = try IRParser.parse(Self.text)
    let loaded = try bundle.module()
    #expect(IRPrinter.print(loaded.withoutWeights) == IRPrinter.print(original.withoutWeights))
    for weight in original.weights {
      #expect(try loaded.weights[weight.name]!.loadBytes() == weight.loadBytes())
    }
    // i4 codes [1, -2, 7, -8, 0, 3]: element 2k in the low nibble.
    let codes = bundle.tensors[0]
    let start = data.offset + codes.offset
    #expect(Array(bytes[start..<(start + 3)]) == [0xE1, 0x87, 0x30])
    #expect(bundle.text(of: .recipe) == #"{"pipeline":"rtn"}"#)
  }

  @Test func sameInputGivesIdenticalBytes() throws {
    #expect(try Self.write().bytes == Self.write().bytes)
  }

  @Test func everyDamagedSectionIsNamed() throws {
    let (path, bytes) = try Self.write()
    let bundle = try BundleFile(path: path)
    for section in bundle.sections where section.size > 0 {
      var damaged = bytes
      damaged[section.offset + section.size / 2] ^= 0x40
      let error = try #require(try Self.error(reading: damaged), "\(section.name) damage accepted")
      #expect(error.place == "section '\(section.name)'", "\(error)")
      #expect(error.message.contains("checksum"))
    }
    for (offset, place) in [(3, "header"), (70, "section table")] {
      var damaged = bytes
      damaged[offset] ^= 0x01
      let error = try #require(try Self.error(reading: damaged))
      #expect(error.place == place, "\(error)")
    }
  }

  @Test func truncationAndTrailingBytesAreRefused() throws {
    let (_, bytes) = try Self.write()
    for length in [0, 10, 63, 200, bytes.count - 1] {
      let error = try #require(try Self.error(reading: Array(bytes[0..<length])))
      #expect(error.place == "header", "\(error)")
    }
    let error = try #require(try Self.error(reading: bytes + [0]))
    #expect(error.message.contains("declares"))
    let truncated = try #require(try Self.error(reading: Array(bytes.dropLast())))
    #expect(truncated.message.contains("truncated"))
  }

  @Test func otherMajorVersionIsRefused() throws {
    var (_, bytes) = try Self.write()
    bytes[8] = 2
    Self.reseal(&bytes)
    let error = try #require(try Self.error(reading: bytes))
    #expect(
      error.place == "header" && error.message.contains("version 2.\(DQC_BUNDLE_VERSION_MINOR)"),
      "\(error)")
    bytes[8] = 1
    bytes[10] = 7  // a newer minor version is read
    Self.reseal(&bytes)
    #expect(try Self.error(reading: bytes) == nil)
  }

  @Test func sectionsPastTheEndOrOverlappingAreNamed() throws {
    let (_, bytes) = try Self.write()
    // Entry 3 is `ir`: point it past the end, then onto the previous section.
    var past = bytes
    Self.store(UInt64(bytes.count + 64), at: 64 + 3 * 64 + 24, in: &past)
    Self.reseal(&past)
    let pastError = try #require(try Self.error(reading: past))
    #expect(pastError.place == "section 'ir'" && pastError.message.contains("past the end"))
    var overlapping = bytes
    let provenanceOffset = bytes[(64 + 2 * 64 + 24)..<(64 + 2 * 64 + 32)]
    overlapping.replaceSubrange((64 + 3 * 64 + 24)..<(64 + 3 * 64 + 32), with: provenanceOffset)
    Self.reseal(&overlapping)
    let overlapError = try #require(try Self.error(reading: overlapping))
    #expect(overlapError.place == "section 'ir'" && overlapError.message.contains("overlaps"))
  }

  @Test func failedWriteLeavesNothing() throws {
    let folder = try Self.directory()
    var module = try IRParser.parse(Self.text)
    module.weights["w"]!.storage = .elided
    #expect(throws: BundleError.self) { try Self.writer.write(module, to: folder + "/x.dqb") }
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
  }
}

extension Module {
  /// The module with its weight declarations dropped (to compare graphs).
  var withoutWeights: Module {
    var copy = self
    copy.weights = WeightStore()
    return copy
  }
}
