import DQCBackend
import DQCIR
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// The C++ runtime's bundle reader and plan decoder refuse damaged and hostile bundles with the
/// file, the section (and kernel) and the reason named, never crashing.
@Suite struct RuntimeBundleValidationTests {
  /// A small W4A8 bundle with a plan, as bytes.
  static let bundle: [UInt8] = (try? makeBundle()) ?? []

  static func makeBundle() throws -> [UInt8] {
    let text = KernelDifferentialTests.linearCase(k: 32, n: 24, seed: 1, bias: true)
    var module = try IRParser.parse(text, file: "case")
    var context = PassContext()
    for pass in try Pipeline(
      parsing: "rtn{bits=4,group-size=16,act-bits=8,quantize-head=true},lower{seq-len=8}"
    ).instantiate() {
      _ = try pass.run(on: &module, context: &context)
    }
    let path = Paths.temporaryDirectory() + "/valid.dqb"
    try BundleWriter(meta: Array("{}".utf8), recipe: Array("{}".utf8), provenance: Array("{}".utf8))
      .write(try #require(context.loweredFrom), plan: module, to: path)
    return try #require(FileManager.default.contents(atPath: path).map { Array($0) })
  }

  static func u32(_ b: [UInt8], _ at: Int) -> Int {
    (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) }
  }

  static func u64(_ b: [UInt8], _ at: Int) -> Int {
    (0..<8).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) }
  }

  static func put(_ value: UInt64, _ b: inout [UInt8], at: Int, width: Int = 8) {
    for i in 0..<width { b[at + i] = UInt8((value >> (8 * UInt64(i))) & 0xff) }
  }

  static func fnv(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
  }

  /// The table entries: name, entry offset, section offset and size.
  static func sections(_ b: [UInt8]) -> [(name: String, entry: Int, offset: Int, size: Int)] {
    (0..<u32(b, 20)).map { i in
      let e = 64 + 64 * i
      let name = String(decoding: b[e..<(e + 16)].prefix { $0 != 0 }, as: UTF8.self)
      return (name, e, u64(b, e + 24), u64(b, e + 32))
    }
  }

  /// Recomputes every section checksum, the table checksum and the header checksum.
  static func reseal(_ b: inout [UInt8]) {
    let entries = sections(b)
    for s in entries { put(fnv(b[s.offset..<(s.offset + s.size)]), &b, at: s.entry + 40) }
    put(fnv(b[64..<(64 + 64 * entries.count)]), &b, at: 40)
    put(fnv(b[0..<56]), &b, at: 56)
  }

  /// The runtime's message for `bytes`, or nil if it opens them.
  static func refusal(_ bytes: [UInt8]) throws -> String? {
    let path = Paths.temporaryDirectory() + "/case.dqb"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      _ = try RuntimeSession(path: path, threads: 1)
      return nil
    } catch {
      #expect(error.message.hasPrefix(path), "names the file: \(error.message)")
      return error.message
    }
  }

  @Test func theValidBundleOpens() throws {
    #expect(Self.bundle.count > 4096, "the test bundle was written")
    #expect(try Self.refusal(Self.bundle) == nil)
  }

  @Test func everyDamagedSectionIsNamed() throws {
    for section in Self.sections(Self.bundle) where section.size > 0 {
      var bytes = Self.bundle
      bytes[section.offset + section.size / 2] ^= 0x40
      let message = try #require(try Self.refusal(bytes), "\(section.name) damage accepted")
      #expect(message.contains("section '\(section.name)'"), "\(message)")
      #expect(message.contains("checksum"), "\(message)")
    }
  }

  @Test func truncationTrailingBytesAndVersionsAreRefused() throws {
    let truncated = try #require(try Self.refusal(Array(Self.bundle.dropLast(100))))
    #expect(truncated.contains("truncated"))
    let trailing = try #require(try Self.refusal(Self.bundle + [0, 0]))
    #expect(trailing.contains("trailing"))
    #expect(try Self.refusal(Array(Self.bundle.prefix(40)))?.contains("header") == true)
    var newer = Self.bundle
    newer[8] = 2
    Self.reseal(&newer)
    #expect(try Self.refusal(newer)?.contains("format version 2.") == true)
    var minor = Self.bundle
    minor[10] = 9
    Self.reseal(&minor)
    #expect(try Self.refusal(minor) == nil, "a newer minor version is read")
  }

  /// Changes bytes of the plan section and reseals every checksum, so the plan decoder (not the
  /// checksum) must catch the damage.
  static func planRefusal(_ edit: (inout [UInt8], Int) -> Void) throws -> String {
    var bytes = bundle
    let plan = try #require(sections(bytes).first { $0.name == "plan" })
    edit(&bytes, plan.offset)
    reseal(&bytes)
    let message = try #require(try refusal(bytes), "the edited plan was accepted")
    #expect(message.contains("section 'plan'"), "\(message)")
    return message
  }

  @Test func hostilePlansAreRefusedWithTheKernelNamed() throws {
    // Header 64 bytes, values of 32 bytes, kernels of 160 bytes.
    let values = Self.u32(
      Self.bundle, Self.sections(Self.bundle).first { $0.name == "plan" }!.offset + 8)
    let kernel0 = 64 + 32 * values
    #expect(try Self.planRefusal { b, p in b[p] = 0x58 }.contains("magic"))
    #expect(
      try Self.planRefusal { b, p in Self.put(1000, &b, at: p + 8, width: 4) }.contains("need"))
    #expect(
      try Self.planRefusal { b, p in Self.put(1 << 41, &b, at: p + 16) }.contains("implausible"))
    // An arena larger than its values need (a session would allocate it all).
    let arena = Self.u64(
      Self.bundle, Self.sections(Self.bundle).first { $0.name == "plan" }!.offset + 16)
    let roomy = try Self.planRefusal { b, p in Self.put(UInt64(arena) + 4096, &b, at: p + 16) }
    #expect(roomy.contains("bytes; its values need \(arena)"), "\(roomy)")
    #expect(
      try Self.planRefusal { b, p in Self.put(1 << 20, &b, at: p + 64 + 32) }.contains("outside"))
    let badOp = try Self.planRefusal { b, p in Self.put(99, &b, at: p + kernel0, width: 4) }
    #expect(badOp.contains("kernel 0") && badOp.contains("unknown op"), "\(badOp)")
    // Kernel 1 reads its table as a tensor reference; point it past the tensor index.
    let badTensor = try Self.planRefusal { b, p in
      Self.put((2 << 24) | 0xfff, &b, at: p + kernel0 + 16 + 4, width: 4)
    }
    #expect(badTensor.contains("names tensor"), "\(badTensor)")
    // A read of a value no kernel has defined yet.
    let early = try Self.planRefusal { b, p in
      Self.put((1 << 24) | 5, &b, at: p + kernel0 + 16, width: 4)
    }
    #expect(early.contains("before it is defined"), "\(early)")
    // The embedding's vocabulary no longer matches its table.
    let shape = try Self.planRefusal { b, p in Self.put(12, &b, at: p + kernel0 + 64) }
    #expect(shape.contains("do not fit"), "\(shape)")
  }
}
