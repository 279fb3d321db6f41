import DQCIR

#if os(Linux)
/// glibc's `mallopt` (declared in `<malloc.h>`, which no Swift module exports).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` from `<malloc.h>`.
private let trimThreshold: Int32 = -1
private let mmapThreshold: Int32 = -3
#endif

/// The reference interpreter: evaluates any `onnx.*` / `dq.*` module on the CPU.
///
/// Float32 math with float64 accumulation in reductions and normalisations, matrix products
/// through OpenBLAS. Values are freed after their last use; a tap handler can observe chosen
/// instructions' operands, results and attention probabilities as they are computed.
public struct Interpreter: Sendable {
  /// The module run.
  public let module: Module
  let weights: [String: Tensor]
  let lastUse: [String: Int]

  /// Prepares `module`: loads every weight it reads and plans when values can be freed.
  public init(module: Module) throws(InterpreterError) {
    _ = Self.keepFreedBuffersInHeap
    self.module = module
    var weights: [String: Tensor] = [:]
    for inst in module.graph.instructions {
      guard let symbol = inst.weightSymbol else { continue }
      guard let weight = module.weights[symbol] else {
        throw InterpreterError("weight @\(symbol) does not exist", instruction: "dq.weight")
      }
      do {
        weights[symbol] = Tensor(try weight.loadTensor())
      } catch {
        throw InterpreterError(error.description)
      }
    }
    self.weights = weights
    var lastUse: [String: Int] = [:]
    for (i, inst) in module.graph.instructions.enumerated() {
      for name in inst.presentOperands { lastUse[name] = i }
    }
    for name in module.graph.outputs { lastUse[name] = Int.max }
    self.lastUse = lastUse
  }

  /// Serves every op output under 32 MiB from the heap and keeps freed memory for reuse.
  ///
  /// glibc otherwise maps each large buffer afresh and returns it on free, so every op paid for
  /// zero-filling new pages (about a tenth of a forward pass of the bench model).
  static let keepFreedBuffersInHeap: Void = {
    #if os(Linux)
    _ = glibcMallopt(mmapThreshold, 32 << 20)
    _ = glibcMallopt(trimThreshold, 256 << 20)
    #endif
  }()

  /// Sets the number of threads matrix products use (results do not depend on it).
  public static func setThreads(_ count: Int) {
    LinearAlgebra.threads.store(max(count, 1), ordering: .relaxed)
  }

  /// Runs the graph on `inputs` (by argument name) and returns the outputs in order.
  ///
  /// `tap` is called for every instruction `tapFilter` selects: with its operands before it runs,
  /// its results after, and for `dq.attention` its softmax probabilities.
  public func run(
    _ inputs: [String: Tensor], tapFilter: (Instruction) -> Bool = { _ in false },
    tap: ((TapEvent) -> Void)? = nil
  ) throws(InterpreterError) -> [Tensor] {
    var values: [String: Tensor] = [:]
    for arg in module.graph.arguments {
      guard let t = inputs[arg.name] else {
        throw InterpreterError("input %\(arg.name) is missing")
      }
      guard arg.type.element == t.element else {
        throw InterpreterError(
          "input %\(arg.name) has element type \(t.element), expected \(arg.type.element)")
      }
      if let dims = arg.type.dims {
        guard dims.count == t.shape.count else {
          throw InterpreterError("input %\(arg.name) has shape \(t.shape), expected \(arg.type)")
        }
        for (d, n) in zip(dims, t.shape) where d.value != nil && d.value != n {
          throw InterpreterError("input %\(arg.name) has shape \(t.shape), expected \(arg.type)")
        }
      }
      values[arg.name] = t
    }
    for (index, inst) in module.graph.instructions.enumerated() {
      let operands = inst.operands.map { $0.flatMap { values[$0] } }
      let tapped = tap != nil && tapFilter(inst)
      if tapped {
        tap?(TapEvent(instruction: inst, point: .operands, tensors: operands.compactMap { $0 }))
      }
      let results: [Tensor]
      do {
        results = try evaluate(inst, operands, tap: tapped ? tap : nil)
      } catch {
        throw InterpreterError(
          error.message, instruction: "'\(inst.op)' defining %\(inst.result.name)")
      }
      guard results.count == inst.results.count else {
        throw InterpreterError("produced \(results.count) results", instruction: "'\(inst.op)'")
      }
      if tapped { tap?(TapEvent(instruction: inst, point: .results, tensors: results)) }
      for name in inst.presentOperands where (lastUse[name] ?? 0) <= index { values[name] = nil }
      for (value, tensor) in zip(inst.results, results) where lastUse[value.name] != nil {
        values[value.name] = tensor
      }
    }
    var outputs: [Tensor] = []
    for name in module.graph.outputs {
      guard let t = values[name] else { throw InterpreterError("output %\(name) was not computed") }
      outputs.append(t)
    }
    return outputs
  }

  func evaluate(_ inst: Instruction, _ operands: [Tensor?], tap: ((TapEvent) -> Void)?)
    throws(InterpreterError)
    -> [Tensor]
  {
    func operand(_ i: Int) throws(InterpreterError) -> Tensor {
      guard i < operands.count, let t = operands[i] else {
        throw InterpreterError("operand \(i) is missing")
      }
      return t
    }
    switch inst.op {
    case .onnx(let op):
      return try ONNXEvaluator.evaluate(op, inst, operands, operand)
    case .dq(let op):
      let a = inst.attributes
      switch op {
      case .weight:
        guard let symbol = inst.weightSymbol, let t = weights[symbol] else {
          throw InterpreterError("weight is not loaded")
        }
        return [t]
      case .linear:
        return [
          try LinearAlgebra.linear(
            try operand(0), try operand(1), operands.count > 2 ? operands[2] : nil)
        ]
      case .embedding:
        return [try ModelOps.embedding(try operand(0), try operand(1))]
      case .rmsNorm:
        return [
          try Reductions.normalize(
            try operand(0), scale: try operand(1), bias: nil, axis: -1,
            epsilon: a["eps"]?.floatValue ?? 1e-5, rms: true
          ).y
        ]
      case .rope:
        return [
          try ModelOps.rope(
            try operand(0), positions: operands.count > 1 ? operands[1] : nil,
            theta: a["theta"]?.floatValue ?? 10000)
        ]
      case .attention:
        let probabilities: ((String, Tensor) -> Void)? = tap.map { handler in
          { _, p in
            handler(TapEvent(instruction: inst, point: .attentionProbabilities, tensors: [p]))
          }
        }
        return [
          try ModelOps.attention(
            try operand(0), try operand(1), try operand(2),
            mask: operands.count > 3 ? operands[3] : nil,
            scale: a["scale"]?.floatValue, causal: a["causal"]?.boolValue ?? false,
            quantization: AttentionQuantization(
              qkBits: a["qk_bits"]?.intValue.map { Int($0) },
              pBits: a["p_bits"]?.intValue.map { Int($0) },
              vBits: a["v_bits"]?.intValue.map { Int($0) },
              vScales: operands.count > 4 ? operands[4]?.floats : nil),
            tap: probabilities)
        ]
      case .swiglu:
        return [try ModelOps.swiglu(try operand(0), try operand(1))]
      case .qlinear:
        return [
          try QuantizedOps.qlinear(
            try operand(0), try operand(1), scales: try operand(2),
            zeros: operands.count > 3 ? operands[3] : nil,
            bias: operands.count > 4 ? operands[4] : nil,
            actBits: a["act_bits"]?.intValue.map { Int($0) })
        ]
      case .quantize, .dequantize:
        throw InterpreterError(
          "\(inst.op) of activations is not implemented by the interpreter yet")
      }
    case .k:
      throw InterpreterError("kernel ops are not interpreted")
    }
  }
}

/// What a tap sees.
public struct TapEvent: Sendable {
  /// Where in the instruction's execution the tensors were observed.
  public enum Point: Sendable, Hashable {
    /// The operands, before the instruction runs.
    case operands
    /// The results, after it runs.
    case results
    /// The softmax probabilities of a `dq.attention`.
    case attentionProbabilities
  }

  /// The instruction observed.
  public var instruction: Instruction
  /// The point of observation.
  public var point: Point
  /// The tensors (present operands, results, or one probability tensor `[B, H, T, S]`).
  public var tensors: [Tensor]
}
