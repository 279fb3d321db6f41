import DQCIR
import DQCRuntime

/// A lowered (`k.*`) module as its back ends see it.
///
/// Activations are numbered in definition order with their arena placement, kernels refer to
/// them and to the bundle's tensors by index, and each kernel carries its integer and float
/// parameters. The plan section (`PlanEncoder`) and the CUDA launch code (`CUDAEmitter`) are
/// both written from it.
struct KernelPlan {
  struct Failure: Error {
    var message: String
  }

  /// The token-id input or a kernel result.
  struct Value {
    var name: String
    var kind: Int32
    var element: ScalarType
    /// Elements per row.
    var width: Int
    /// Byte offset in the activation arena.
    var offset: Int
  }

  /// What a kernel reads.
  enum Operand: Equatable {
    case none
    case value(Int)
    case tensor(Int)
  }

  struct Kernel {
    var op: KernelOp
    var code: UInt32
    var operands: [Operand]
    var results: [Int]
    var ints: [Int64]
    var floats: [Double]
    /// The name of the kernel's first result, for messages and comments.
    var name: String
  }

  var values: [Value] = []
  var kernels: [Kernel] = []
  /// The type of every tensor a kernel reads, by tensor-index position.
  var tensorTypes: [Int: TensorType] = [:]
  var arenaBytes: Int
  var batch: Int
  var seqLen: Int
  var maskToken: Int
  var vocab: Int
  var input = 0
  var output: Int

  /// Numbers the values and kernels of `module`; `tensorIndex` gives the tensor-index position
  /// of every bundled weight.
  init(module: Module, tensorIndex: [String: Int]) throws(Failure) {
    let graph = module.graph
    guard graph.arguments.count == 1, graph.outputs.count == 1 else {
      throw Failure(message: "a plan takes one token-id input and returns one logits value")
    }
    var valueIndex: [String: Int] = [:]
    var weightSymbol: [String: String] = [:]
    var values: [Value] = []
    func addValue(_ name: String, kind: Int32, element: ScalarType, width: Int, offset: Int) {
      valueIndex[name] = values.count
      values.append(Value(name: name, kind: kind, element: element, width: width, offset: offset))
    }
    addValue(
      graph.arguments[0].name, kind: DQC_PLAN_VALUE_INPUT, element: .i64, width: 1, offset: 0)
    var kernels: [Kernel] = []
    var tensorTypes: [Int: TensorType] = [:]
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
      var operands: [Operand] = []
      for operand in inst.operands {
        guard let name = operand else {
          operands.append(.none)
          continue
        }
        if let v = valueIndex[name] {
          operands.append(.value(v))
        } else if let symbol = weightSymbol[name], let t = tensorIndex[symbol] {
          operands.append(.tensor(t))
          tensorTypes[t] = types[name]
        } else {
          throw Failure(message: "%\(inst.result.name) reads %\(name), which is not planned")
        }
      }
      var results: [Int] = []
      for (result, offset) in zip(inst.results, offsets) {
        guard let shape = result.type.staticShape, let element = result.type.element.scalar else {
          throw Failure(message: "%\(result.name) needs a static shape")
        }
        results.append(values.count)
        addValue(
          result.name, kind: DQC_PLAN_VALUE_ARENA, element: element,
          width: shape.count > 1 ? shape[1...].reduce(1, *) : 1, offset: Int(offset))
      }
      let (code, ints, floats) = try Self.parameters(op, inst, types: types)
      kernels.append(
        Kernel(
          op: op, code: code, operands: operands, results: results, ints: ints, floats: floats,
          name: inst.result.name))
    }
    guard let output = valueIndex[graph.outputs[0]],
      let vocab = graph.outputTypes()[0]?.staticShape?.last
    else { throw Failure(message: "the output is not a planned value") }
    self.values = values
    self.kernels = kernels
    self.tensorTypes = tensorTypes
    self.output = output
    self.vocab = vocab
    arenaBytes = module.attributes["plan.arena_bytes"]?.intValue.map(Int.init) ?? 0
    batch = module.attributes["plan.batch"]?.intValue.map(Int.init) ?? 1
    seqLen = module.attributes["plan.seq_len"]?.intValue.map(Int.init) ?? 0
    maskToken = module.attributes["model.mask_token_id"]?.intValue.map(Int.init) ?? -1
  }

  /// The op code and integer and float parameters of one kernel (docs/bundle-format.md, "plan").
  static func parameters(_ op: KernelOp, _ inst: Instruction, types: [String: TensorType])
    throws(Failure) -> (UInt32, [Int64], [Double])
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
