/// The dialects an instruction's op can belong to.
public enum Dialect: String, Sendable, Hashable, CaseIterable {
  /// One op per imported ONNX node, with ONNX semantics.
  case onnx
  /// Model-level ops the quantization passes reason about.
  case dq
  /// Kernel invocations with static shapes, what back ends consume.
  case k
}

/// A dialect-qualified op name, such as `onnx.MatMul` or `dq.linear`.
///
/// Each dialect is a closed enum with stable spellings, so a typo is a parse error and every op
/// has a schema the verifier checks.
public enum OpName: Sendable, Hashable {
  /// An ONNX op.
  case onnx(ONNXOp)
  /// A dq model-level op.
  case dq(DQOp)
  /// A kernel-level op.
  case k(KernelOp)

  /// Parses a qualified spelling such as `onnx.Add`; `nil` if unknown.
  public init?(_ spelling: String) {
    guard let dot = spelling.firstIndex(of: ".") else { return nil }
    let dialect = spelling[..<dot]
    let name = String(spelling[spelling.index(after: dot)...])
    switch dialect {
    case "onnx":
      guard let op = ONNXOp(rawValue: name) else { return nil }
      self = .onnx(op)
    case "dq":
      guard let op = DQOp(rawValue: name) else { return nil }
      self = .dq(op)
    case "k":
      guard let op = KernelOp(rawValue: name) else { return nil }
      self = .k(op)
    default:
      return nil
    }
  }

  /// The dialect the op belongs to.
  public var dialect: Dialect {
    switch self {
    case .onnx: .onnx
    case .dq: .dq
    case .k: .k
    }
  }

  /// The op's schema: operand and result counts, attributes and type rule.
  public var schema: OpSchema {
    switch self {
    case .onnx(let op): op.schema
    case .dq(let op): op.schema
    case .k(let op): op.schema
    }
  }
}

extension OpName: CustomStringConvertible {
  /// The qualified spelling, such as `onnx.MatMul`.
  public var description: String {
    switch self {
    case .onnx(let op): "onnx.\(op.rawValue)"
    case .dq(let op): "dq.\(op.rawValue)"
    case .k(let op): "k.\(op.rawValue)"
    }
  }
}
