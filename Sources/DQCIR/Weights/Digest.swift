/// Content digests for weight data.
public enum Digest {
  /// The 64-bit FNV-1a hash of `bytes`, spelled `fnv1a64:<16 lowercase hex digits>`.
  ///
  /// - Complexity: O(n).
  public static func fnv1a64(_ bytes: [UInt8]) -> String {
    var hasher = FNV1a64()
    bytes.withUnsafeBytes { hasher.update($0) }
    return hasher.digest
  }

  /// A streaming FNV-1a 64-bit hasher, for data read in chunks.
  public struct FNV1a64: Sendable {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Creates a hasher in its initial state.
    public init() {}

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
      var h = hash
      for byte in bytes {
        h ^= UInt64(byte)
        h = h &* 0x0000_0100_0000_01b3
      }
      hash = h
    }

    /// The digest of everything fed so far, spelled `fnv1a64:<16 hex digits>`.
    public var digest: String {
      let hex = String(hash, radix: 16)
      return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
  }
}
