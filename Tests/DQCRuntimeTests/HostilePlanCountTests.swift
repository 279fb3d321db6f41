import DQCTestSupport
import Foundation
import Testing

/// Head counts and head sizes in a plan's kernels are bounded before the runtime multiplies them
/// (fuzz_bundle found `heads * head_size` overflowing `int64_t` in the rope check).
@Suite struct HostilePlanCountTests {
  typealias Bundle = RuntimeBundleValidationTests

  static let seed = Paths.packageRoot + "/Tests/Fuzz/corpus/bundle/block-w4a8.dqb"

  /// The offset of the first kernel with op code `op` in the plan section of `bytes`.
  static func kernel(_ op: Int, in bytes: [UInt8]) throws -> Int {
    let plan = try #require(Bundle.sections(bytes).first { $0.name == "plan" })
    let values = Bundle.u32(bytes, plan.offset + 8)
    let kernels = Bundle.u32(bytes, plan.offset + 12)
    let first = plan.offset + 64 + 32 * values
    let index = try #require((0..<kernels).first { Bundle.u32(bytes, first + 160 * $0) == op })
    return first + 160 * index
  }

  @Test func theFuzzersInputIsRefused() throws {
    let path =
      Paths.packageRoot + "/Tests/Fuzz/regressions/ubsan-rope-heads-times-head-size-overflow"
    var bytes = try #require(FileManager.default.contents(atPath: path).map { Array($0) })
    Bundle.reseal(&bytes)  // fuzz_bundle reseals every input before opening it
    let message = try #require(try Bundle.refusal(bytes))
    #expect(message.contains("(rope): operands or results do not fit"), "\(message)")
  }

  /// Rope (op 6) heads, attention (op 7) heads, key/value heads and head size.
  @Test(arguments: [(6, 0), (7, 0), (7, 1), (7, 2)])
  func hugeCountsAreRefused(_ op: Int, _ int: Int) throws {
    var bytes = try #require(FileManager.default.contents(atPath: Self.seed).map { Array($0) })
    #expect(try Bundle.refusal(bytes) == nil, "the seed opens")
    let kernel = try Self.kernel(op, in: bytes)
    Bundle.put(UInt64(1) << 62, &bytes, at: kernel + 64 + 8 * int)
    Bundle.reseal(&bytes)
    let message = try #require(try Bundle.refusal(bytes))
    #expect(message.contains("operands or results do not fit"), "\(message)")
  }
}
