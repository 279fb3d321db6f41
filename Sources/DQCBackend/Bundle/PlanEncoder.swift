import DQCIR
import DQCRuntime

/// Encodes a lowered (`k.*`) module as the bundle's `plan` section (docs/bundle-format.md).
///
/// Values are the graph's token-id input and every kernel result, in definition order; kernels
/// refer to values by index and to weights by their index in the bundle's tensor index.
struct PlanEncoder {
  let module: Module
  /// Tensor-index position of every bundled weight.
  let tensorIndex: [String: Int]

  struct Failure: Error {
    var message: String
  }

  func encode() throws(Failure) -> [UInt8] {
    let graph = module.graph
    guard graph.arguments.count == 1, graph.outputs.count == 1 else {
      throw Failure(message: "a plan takes one token-id input and returns one logits value")
    }
    var values = ByteWriter()
    var valueIndex: [String: Int] = [:]
    var weightSymbol: [String: String] = [:]
    func addValue(_ name: String, kind: Int32, element: ScalarType, width: Int, offset: Int) {
      valueIndex[name] = valueIndex.count
      values.integer(UInt64(offset))
      values.integer(UInt32(kind))
      values.integer(UInt32(BundleFormat.elementCode(element)))
      values.integer(UInt64(width))
      values.zeros(8)
    }
    let input = graph.arguments[0]
    addValue(
      input.name, kind: DQC_PLAN_VALUE_INPUT, element: .i64, width: 1, offset: 0)
    var kernels = ByteWriter()
    var kernelCount = 0
    let types = graph.valueTypes()
    for inst in graph.instructions {
      if let symbol = inst.weightSymbol {
        weightSymbol[inst.result.name] = symbol
        continue
      }
      guard case .k(let op) = inst.op else {
        throw Failure(message: "'\(inst.op)' defining %\(inst.result.name) is not a kernel")
      }
      let offsets = inst.attributes["arena"]?.intArray ?? []
      guard offsets.count == inst.results.count else {
        throw Failure(message: "%\(inst.result.name) has no arena placement")
      }
      var operands: [UInt32] = []
      for operand in inst.operands {
        guard let name = operand else {
          operands.append(0)
          continue
        }
        if let v = valueIndex[name] {
          operands.append((UInt32(DQC_PLAN_REF_VALUE) << 24) | UInt32(v))
        } else if let symbol = weightSymbol[name], let t = tensorIndex[symbol] {
          operands.append((UInt32(DQC_PLAN_REF_TENSOR) << 24) | UInt32(t))
        } else {
          throw Failure(message: "%\(inst.result.name) reads %\(name), which is not planned")
        }
      }
      var results: [UInt32] = []
      for (result, offset) in zip(inst.results, offsets) {
        guard let shape = result.type.staticShape, let element = result.type.element.scalar else {
          throw Failure(message: "%\(result.name) needs a static shape")
        }
        results.append(UInt32(valueIndex.count))
        addValue(
          result.name, kind: DQC_PLAN_VALUE_ARENA, element: element,
          width: shape.count > 1 ? shape[1...].reduce(1, *) : 1, offset: Int(offset))
      }
      let (code, ints, floats) = try parameters(op, inst, types: types)
      kernels.integer(code)
      kernels.integer(UInt32(operands.count))
      kernels.integer(UInt32(results.count))
      kernels.zeros(4)
      for i in 0..<Int(DQC_PLAN_MAX_OPERANDS) {
        kernels.integer(i < operands.count ? operands[i] : 0)
      }
      for i in 0..<Int(DQC_PLAN_MAX_RESULTS) { kernels.integer(i < results.count ? results[i] : 0) }
      for i in 0..<Int(DQC_PLAN_MAX_INTS) { kernels.integer(i < ints.count ? ints[i] : 0) }
      for i in 0..<Int(DQC_PLAN_MAX_FLOATS) {
        kernels.integer((i < floats.count ? floats[i] : 0).bitPattern)
      }
      kernelCount += 1
    }
    guard let output = valueIndex[graph.outputs[0]],
      let vocab = graph.outputTypes()[0]?.staticShape?.last
    else { throw Failure(message: "the output is not a planned value") }
    var header = ByteWriter()
    header.bytes.append(contentsOf: withUnsafeBytes(of: DQC_PLAN_MAGIC) { Array($0) })
    header.integer(UInt32(valueIndex.count))
    header.integer(UInt32(kernelCount))
    header.integer(UInt64(module.attributes["plan.arena_bytes"]?.intValue ?? 0))
    header.integer(UInt32(module.attributes["plan.batch"]?.intValue ?? 1))
    header.integer(UInt32(module.attributes["plan.seq_len"]?.intValue ?? 0))
    header.integer(module.attributes["model.mask_token_id"]?.intValue ?? -1)
    header.integer(UInt32(0))
    header.integer(UInt32(output))
    header.integer(UInt64(vocab))
    header.integer(UInt32(DQC_PLAN_VERSION))
    header.zeros(4)
    return header.bytes + values.bytes + kernels.bytes
  }

  /// The op code and integer and float parameters of one kernel.
  func parameters(_ op: KernelOp, _ inst: Instruction, types: [String: TensorType])
    throws(Failure) -> (
      UInt32, [Int64], [Double]
    )
  {
    func shape(_ i: Int) throws(Failure) -> [Int] {
      guard i < inst.operands.count, let name = inst.operands[i],
        let shape = types[name]?.staticShape
      else { throw Failure(message: "%\(inst.result.name): operand \(i) needs a static shape") }
      return shape
    }
    func int(_ key: String) -> Int64 { inst.attributes[key]?.intValue ?? 0 }
    let width = Int64(inst.result.type.staticShape?.last ?? 0)
    switch op {
    case .embedding:
      let table = try shape(1)
      return (DQC_OP_EMBEDDING.rawValue, table.map(Int64.init), [])
    case .rmsNorm:
      return (DQC_OP_RMS_NORM.rawValue, [width], [inst.attributes["eps"]?.floatValue ?? 1e-5])
    case .quantize:
      let k = Int64(try shape(0).last ?? 0)
      let padded = Int64(inst.results[0].type.staticShape?.last ?? 0)
      return (DQC_OP_QUANTIZE.rawValue, [k, int("bits"), int("group"), padded], [])
    case .qlinear:
      let codes = try shape(3)
      return (DQC_OP_QLINEAR.rawValue, codes.map(Int64.init) + [int("group")], [])
    case .linear:
      return (DQC_OP_LINEAR.rawValue, try shape(1).map(Int64.init), [])
    case .rope:
      return (DQC_OP_ROPE.rawValue, [int("heads"), int("head_dim")], [])
    case .attention:
      return (
        DQC_OP_ATTENTION.rawValue,
        [
          int("heads"), int("kv_heads"), int("head_dim"), int("qk_bits"), int("p_bits"),
          int("v_bits"),
        ],
        [inst.attributes["scale"]?.floatValue ?? 0]
      )
    case .swiglu:
      return (DQC_OP_SWIGLU.rawValue, [width], [])
    case .add:
      return (DQC_OP_ADD.rawValue, [width], [])
    }
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
