import DQCIR
import DQCRuntime

/// Encodes a kernel plan as the bundle's `plan` section (docs/bundle-format.md).
struct PlanEncoder {
  let plan: KernelPlan

  func encode() -> [UInt8] {
    var values = ByteWriter()
    for value in plan.values {
      values.integer(UInt64(value.offset))
      values.integer(UInt32(value.kind))
      values.integer(UInt32(BundleFormat.elementCode(value.element)))
      values.integer(UInt64(value.width))
      values.zeros(8)
    }
    var kernels = ByteWriter()
    for kernel in plan.kernels {
      let operands = kernel.operands.map { operand -> UInt32 in
        switch operand {
        case .none: 0
        case .value(let v): (UInt32(DQC_PLAN_REF_VALUE) << 24) | UInt32(v)
        case .tensor(let t): (UInt32(DQC_PLAN_REF_TENSOR) << 24) | UInt32(t)
        }
      }
      kernels.integer(kernel.code)
      kernels.integer(UInt32(operands.count))
      kernels.integer(UInt32(kernel.results.count))
      kernels.zeros(4)
      for i in 0..<Int(DQC_PLAN_MAX_OPERANDS) {
        kernels.integer(i < operands.count ? operands[i] : 0)
      }
      for i in 0..<Int(DQC_PLAN_MAX_RESULTS) {
        kernels.integer(i < kernel.results.count ? UInt32(kernel.results[i]) : 0)
      }
      for i in 0..<Int(DQC_PLAN_MAX_INTS) {
        kernels.integer(i < kernel.ints.count ? kernel.ints[i] : 0)
      }
      for i in 0..<Int(DQC_PLAN_MAX_FLOATS) {
        kernels.integer((i < kernel.floats.count ? kernel.floats[i] : 0).bitPattern)
      }
    }
    var header = ByteWriter()
    header.bytes.append(contentsOf: withUnsafeBytes(of: DQC_PLAN_MAGIC) { Array($0) })
    header.integer(UInt32(plan.values.count))
    header.integer(UInt32(plan.kernels.count))
    header.integer(UInt64(plan.arenaBytes))
    header.integer(UInt32(plan.batch))
    header.integer(UInt32(plan.seqLen))
    header.integer(Int64(plan.maskToken))
    header.integer(UInt32(plan.input))
    header.integer(UInt32(plan.output))
    header.integer(UInt64(plan.vocab))
    header.integer(UInt32(DQC_PLAN_VERSION))
    header.zeros(4)
    return header.bytes + values.bytes + kernels.bytes
  }
}

/// The header fields of a bundle's `plan` section, for summaries.
public struct PlanHeader: Sendable, Hashable {
  /// Kernels in the plan.
  public var kernels: Int
  /// Bytes of the activation arena.
  public var arenaBytes: Int
  /// The longest sequence the plan serves.
  public var sequenceLength: Int
  /// Logits per token.
  public var vocabularySize: Int

  /// Reads the header of a plan section; `nil` if it is too short or not a plan.
  public init?(_ bytes: [UInt8]) {
    guard bytes.count >= Int(DQC_PLAN_HEADER_SIZE),
      Array(bytes.prefix(8)) == withUnsafeBytes(of: DQC_PLAN_MAGIC, { Array($0) })
    else { return nil }
    let reader = ByteReader(bytes: bytes)
    kernels = Int(reader.u32(Int(DQC_PLAN_KERNEL_COUNT)))
    arenaBytes = Int(reader.u64(Int(DQC_PLAN_ARENA_BYTES)))
    sequenceLength = Int(reader.u32(Int(DQC_PLAN_SEQ_LEN)))
    vocabularySize = Int(reader.u64(Int(DQC_PLAN_VOCAB)))
  }
}
