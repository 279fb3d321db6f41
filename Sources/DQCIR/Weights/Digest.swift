/// Content digests for weight data.
public enum Digest {
  /// The 64-bit FNV-1a hash of `bytes`, spelled `fnv1a64:<16 lowercase hex digits>`.
  ///
  /// - Complexity: O(n).
  public static func fnv1a64(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
  }
}
