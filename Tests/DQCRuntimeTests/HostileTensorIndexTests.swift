import DQCBackend
import DQCTestSupport
import Foundation
import Testing

/// Sizes in the tensor index that overflow 64-bit arithmetic (checksums resealed, so the index
/// decoders and not the checksums must catch them) are refused by both readers, the C++
/// runtime's and dqc's `BundleFile`, with the file, the tensor and the reason named.
@Suite struct HostileTensorIndexTests {
  typealias Bundle = RuntimeBundleValidationTests

  /// The valid bundle with its first tensor-index entry edited by `edit(bytes, entryOffset)`,
  /// resealed; and the entry's tensor name.
  static func editedBundle(_ edit: (inout [UInt8], Int) -> Void) throws -> (
    bytes: [UInt8], name: String
  ) {
    var bytes = Bundle.bundle
    let index = try #require(Bundle.sections(bytes).first { $0.name == "tensor-index" })
    let count = Bundle.u32(bytes, index.offset)
    try #require(count > 0)
    let entry = index.offset + 16
    let namesStart = index.offset + 16 + 96 * count
    let nameOffset = Bundle.u32(bytes, entry + 16)
    let nameLength = Bundle.u32(bytes, entry + 20)
    let name = String(
      decoding: bytes[(namesStart + nameOffset)..<(namesStart + nameOffset + nameLength)],
      as: UTF8.self)
    edit(&bytes, entry)
    Bundle.reseal(&bytes)
    return (bytes, name)
  }

  /// dqc's reader's message for `bytes`, or nil if it opens them.
  static func swiftRefusal(_ bytes: [UInt8]) throws -> String? {
    let path = Paths.temporaryDirectory() + "/case.dqb"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      _ = try BundleFile(path: path)
      return nil
    } catch {
      #expect(error.file == path)
      return error.description
    }
  }

  @Test func aShapeWhoseBitCountWrapsIsRefused() throws {
    // [2^29, 2^29] of i64: 2^58 elements, 2^64 bits, which wraps to a "0-byte" tensor.
    let (bytes, name) = try Self.editedBundle { b, e in
      Bundle.put(0, &b, at: e + 8)
      Bundle.put(8, &b, at: e + 24, width: 2)
      Bundle.put(0, &b, at: e + 26, width: 2)
      Bundle.put(2, &b, at: e + 28, width: 4)
      Bundle.put(1 << 29, &b, at: e + 32)
      Bundle.put(1 << 29, &b, at: e + 40)
    }
    let runtime = try #require(try Bundle.refusal(bytes))
    #expect(runtime.contains("tensor '\(name)': dimension 536870912 is too large"), "\(runtime)")
    let swift = try #require(try Self.swiftRefusal(bytes))
    #expect(
      swift.contains("tensor '\(name)'")
        && swift.contains("shape [536870912, 536870912] of i64 has more bytes than 2^60"),
      "\(swift)")
  }

  @Test func aNameAreaSizeThatWrapsIsRefused() throws {
    let (bytes, _) = try Self.editedBundle { b, e in Bundle.put(UInt64.max, &b, at: e - 8) }
    let runtime = try #require(try Bundle.refusal(bytes))
    #expect(runtime.contains("18446744073709551615 name bytes do not match"), "\(runtime)")
    let swift = try #require(try Self.swiftRefusal(bytes))
    #expect(
      swift.contains("section 'tensor-index'")
        && swift.contains("18446744073709551615 name bytes do not match"), "\(swift)")
  }

  @Test func anOffsetWhoseEndWrapsIsRefused() throws {
    let (bytes, name) = try Self.editedBundle { b, e in
      Bundle.put(UInt64.max - 63, &b, at: e)
    }
    let runtime = try #require(try Bundle.refusal(bytes))
    #expect(runtime.contains("tensor '\(name)'") && runtime.contains("lie outside"), "\(runtime)")
    let swift = try #require(try Self.swiftRefusal(bytes))
    #expect(
      swift.contains("tensor '\(name)'")
        && swift.contains("bytes 18446744073709551552..<(past 2^64)"), "\(swift)")
  }
}
