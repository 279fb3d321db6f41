/// The values of graph values that are compile-time constants: `dq.weight` results whose data
/// is available, and `onnx.Constant` results.
public struct ConstantValues: Sendable {
  /// Constants by value name.
  public private(set) var values: [String: DenseTensor] = [:]

  /// An empty table.
  public init() {}

  /// Collects the constants of `module`.
  ///
  /// Weights are read from memory always, and from their
  /// files when they hold at most `fileElementLimit` elements (shape tensors and scalars).
  public init(_ module: Module, fileElementLimit: Int = 0) {
    for inst in module.graph.instructions {
      record(inst, weights: module.weights, limit: fileElementLimit)
    }
  }

  /// Records the constant `inst` defines, if any.
  public mutating func record(_ inst: Instruction, weights: WeightStore, limit: Int = 0) {
    if let symbol = inst.weightSymbol, let weight = weights[symbol] {
      let readable: Bool
      switch weight.storage {
      case .bytes: readable = true
      case .file: readable = (weight.type.elementCount ?? .max) <= limit
      case .elided: readable = false
      }
      if readable, let tensor = try? weight.loadTensor() { values[inst.result.name] = tensor }
    } else if inst.op == .onnx(.constant), let tensor = Self.constantAttribute(inst) {
      values[inst.result.name] = tensor
    }
  }

  /// The value of `name`, if constant.
  public subscript(name: String?) -> DenseTensor? {
    get { name.flatMap { values[$0] } }
    set { if let name { values[name] = newValue } }
  }

  /// The tensor an `onnx.Constant` instruction holds.
  public static func constantAttribute(_ inst: Instruction) -> DenseTensor? {
    let a = inst.attributes
    if case .dense(let d)? = a["value"] { return d }
    if let v = a["value_float"]?.floatValue { return DenseTensor(shape: [], floats: [v]) }
    if let v = a["value_int"]?.intValue { return DenseTensor(shape: [], ints: [v]) }
    if let v = a["value_floats"]?.floatArray { return DenseTensor(shape: [v.count], floats: v) }
    if let v = a["value_ints"]?.intArray { return DenseTensor(shape: [v.count], ints: v) }
    return nil
  }
}
