import DQCIR
import DQCRuntime

/// The section kinds of a `.dqb` bundle (`docs/bundle-format.md`).
public enum BundleSectionKind: UInt32, Sendable, CaseIterable {
  /// Model metadata (JSON).
  case meta = 1
  /// The quantization recipe (JSON).
  case recipe = 2
  /// Where the bundle came from (JSON).
  case provenance = 3
  /// The final module as `.dqir` text with elided weights.
  case ir = 4
  /// The model's `tokenizer.json`.
  case tokenizer = 5
  /// The table of tensors.
  case tensorIndex = 6
  /// The tensors' bytes.
  case tensorData = 7
  /// The execution plan (reserved for the `lower` pass).
  case plan = 8
  /// The plan's CUDA launch code (one translation unit).
  case cudaSource = 9
  /// The launch code compiled for chosen GPU architectures (`dqc compile --cuda-arch`).
  case cudaBinary = 10

  /// The section's name in the table.
  public var name: String {
    switch self {
    case .meta: "meta"
    case .recipe: "recipe"
    case .provenance: "provenance"
    case .ir: "ir"
    case .tokenizer: "tokenizer"
    case .tensorIndex: "tensor-index"
    case .tensorData: "tensor-data"
    case .plan: "plan"
    case .cudaSource: "cuda-source"
    case .cudaBinary: "cuda-binary"
    }
  }

  /// Whether a version 1.0 bundle must contain the section.
  public var isRequired: Bool {
    switch self {
    case .meta, .recipe, .provenance, .ir, .tensorIndex, .tensorData: true
    case .tokenizer, .plan, .cudaSource, .cudaBinary: false
    }
  }
}

/// Format constants, read from `dqc_bundle_format.h` so the runtime and the writer agree.
enum BundleFormat {
  static let magic: [UInt8] = withUnsafeBytes(of: DQC_BUNDLE_MAGIC) { Array($0) }
  static let major = UInt16(DQC_BUNDLE_VERSION_MAJOR)
  static let minor = UInt16(DQC_BUNDLE_VERSION_MINOR)
  static let headerSize = Int(DQC_BUNDLE_HEADER_SIZE)
  static let maxSections = Int(DQC_BUNDLE_MAX_SECTIONS)
  static let entrySize = Int(DQC_SECTION_ENTRY_SIZE)
  static let nameSize = Int(DQC_SECTION_NAME_SIZE)
  static let sectionAlignment = Int(DQC_SECTION_ALIGNMENT)
  static let dataAlignment = Int(DQC_TENSOR_DATA_ALIGNMENT)
  static let tensorIndexHeaderSize = Int(DQC_TENSOR_INDEX_HEADER_SIZE)
  static let tensorEntrySize = Int(DQC_TENSOR_ENTRY_SIZE)
  static let tensorAlignment = Int(DQC_TENSOR_ALIGNMENT)
  static let maxRank = Int(DQC_TENSOR_MAX_RANK)

  /// The checksum of no bytes, where a streamed checksum starts.
  static let initialChecksum = DQC_FNV1A64_INITIAL

  /// `dqc_fnv1a64` continuing from `hash`.
  static func checksum(
    _ bytes: UnsafeRawBufferPointer, continuing hash: UInt64 = initialChecksum
  ) -> UInt64 {
    dqc_fnv1a64(bytes.baseAddress, bytes.count, hash)
  }

  /// `dqc_fnv1a64` of `bytes`.
  static func checksum(_ bytes: [UInt8]) -> UInt64 {
    bytes.withUnsafeBytes { checksum($0) }
  }

  /// `value` rounded up to a multiple of `alignment`.
  static func align(_ value: Int, _ alignment: Int) -> Int {
    (value + alignment - 1) / alignment * alignment
  }

  /// The element code of a scalar type.
  static func elementCode(_ type: ScalarType) -> UInt16 {
    switch type {
    case .f32: 1
    case .f16: 2
    case .bf16: 3
    case .f64: 4
    case .i8: 5
    case .i16: 6
    case .i32: 7
    case .i64: 8
    case .u8: 9
    case .bool: 13
    case .i4: 14
    case .u4: 15
    }
  }

  /// The scalar type of an element code dqc's IR can express.
  static func scalarType(code: UInt16) -> ScalarType? {
    ScalarType.allCases.first { elementCode($0) == code }
  }
}

/// Appends little-endian fields to a byte array.
struct ByteWriter {
  var bytes: [UInt8] = []

  mutating func integer<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func padded(_ text: String, to size: Int) {
    let utf8 = Array(text.utf8.prefix(size))
    bytes.append(contentsOf: utf8)
    bytes.append(contentsOf: [UInt8](repeating: 0, count: size - utf8.count))
  }

  mutating func zeros(_ count: Int) {
    bytes.append(contentsOf: [UInt8](repeating: 0, count: count))
  }

  mutating func pad(to alignment: Int) {
    zeros(BundleFormat.align(bytes.count, alignment) - bytes.count)
  }
}

/// Reads little-endian fields at offsets of a byte array (callers check bounds first).
struct ByteReader {
  let bytes: [UInt8]

  func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    var value = T.zero
    withUnsafeMutableBytes(of: &value) { target in
      for i in 0..<MemoryLayout<T>.size { target[i] = bytes[offset + i] }
    }
    return T(littleEndian: value)
  }

  func u16(_ offset: Int) -> UInt16 { integer(UInt16.self, at: offset) }
  func u32(_ offset: Int) -> UInt32 { integer(UInt32.self, at: offset) }
  func u64(_ offset: Int) -> UInt64 { integer(UInt64.self, at: offset) }
}
