/// The ONNX ops dqc imports (default domain), spelled as ONNX spells them.
///
/// Each imported node becomes one `onnx.<OpType>` instruction with ONNX semantics. The list covers
/// what PyTorch's exporters emit for LLaMA-style bidirectional transformers.
public enum ONNXOp: String, Sendable, Hashable, CaseIterable {
  // Elementwise arithmetic and math.
  case add = "Add"
  case sub = "Sub"
  case mul = "Mul"
  case div = "Div"
  case pow = "Pow"
  case max = "Max"
  case min = "Min"
  case mod = "Mod"
  case sqrt = "Sqrt"
  case reciprocal = "Reciprocal"
  case neg = "Neg"
  case exp = "Exp"
  case log = "Log"
  case abs = "Abs"
  case erf = "Erf"
  case tanh = "Tanh"
  case sigmoid = "Sigmoid"
  case relu = "Relu"
  case cos = "Cos"
  case sin = "Sin"
  case floor = "Floor"
  case ceil = "Ceil"
  case softplus = "Softplus"
  case clip = "Clip"
  // Comparison and logic.
  case equal = "Equal"
  case less = "Less"
  case lessOrEqual = "LessOrEqual"
  case greater = "Greater"
  case greaterOrEqual = "GreaterOrEqual"
  case not = "Not"
  case and = "And"
  case or = "Or"
  case `where` = "Where"
  case isNaN = "IsNaN"
  // Type and identity.
  case cast = "Cast"
  case castLike = "CastLike"
  case identity = "Identity"
  case dropout = "Dropout"
  // Linear algebra and normalisation.
  case matMul = "MatMul"
  case gemm = "Gemm"
  case softmax = "Softmax"
  case layerNormalization = "LayerNormalization"
  case rmsNormalization = "RMSNormalization"
  // Shape and data movement.
  case gather = "Gather"
  case reshape = "Reshape"
  case transpose = "Transpose"
  case concat = "Concat"
  case split = "Split"
  case slice = "Slice"
  case squeeze = "Squeeze"
  case unsqueeze = "Unsqueeze"
  case expand = "Expand"
  case flatten = "Flatten"
  case shape = "Shape"
  case size = "Size"
  case range = "Range"
  case trilu = "Trilu"
  case constantOfShape = "ConstantOfShape"
  case constant = "Constant"
  // Reductions.
  case reduceMean = "ReduceMean"
  case reduceSum = "ReduceSum"
  case reduceMax = "ReduceMax"
  case argMax = "ArgMax"
}

extension ONNXOp {
  /// The op's schema.
  public var schema: OpSchema {
    switch self {
    case .add, .sub, .mul, .div:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in
        try TypeRules.elementwise(ctx, operands: [0, 1])
      }
    case .max, .min:
      OpSchema(operands: 1...Int.max) { ctx throws(TypeRuleError) in
        try TypeRules.elementwise(ctx, operands: Array(0..<ctx.operands.count))
      }
    case .mod:
      OpSchema(operands: 2...2, attributes: [.init("fmod", .int)]) { ctx throws(TypeRuleError) in
        try TypeRules.elementwise(ctx, operands: [0, 1])
      }
    case .pow:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in
        let base = try TypeRules.required(ctx, 0)
        return try TypeRules.elementwise(ctx, operands: [0, 1], result: base.element)
      }
    case .sqrt, .reciprocal, .neg, .exp, .log, .abs, .erf, .tanh, .sigmoid, .relu, .cos, .sin,
      .floor, .ceil, .softplus, .identity:
      OpSchema(operands: 1...1) { ctx throws(TypeRuleError) in try TypeRules.sameAsFirst(ctx) }
    case .clip:
      OpSchema(operands: 1...3) { ctx throws(TypeRuleError) in
        _ = try TypeRules.sameElement(ctx, [0, 1, 2])
        return try TypeRules.sameAsFirst(ctx)
      }
    case .equal, .less, .lessOrEqual, .greater, .greaterOrEqual:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in
        _ = try TypeRules.sameElement(ctx, [0, 1])
        return try TypeRules.elementwise(ctx, operands: [0, 1], result: .bool)
      }
    case .and, .or:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in
        try TypeRules.elementwise(ctx, operands: [0, 1], result: .bool)
      }
    case .not:
      OpSchema(operands: 1...1) { ctx throws(TypeRuleError) in try TypeRules.sameAsFirst(ctx) }
    case .isNaN:
      OpSchema(operands: 1...1) { ctx throws(TypeRuleError) in
        [try TypeRules.required(ctx, 0).with(element: .bool)]
      }
    case .`where`:
      OpSchema(operands: 3...3) { ctx throws(TypeRuleError) in
        let cond = try TypeRules.required(ctx, 0)
        guard cond.element == .bool else {
          throw TypeRuleError("operand 0 has element type \(cond.element), expected bool")
        }
        let element = try TypeRules.sameElement(ctx, [1, 2])
        return try TypeRules.elementwise(ctx, operands: [0, 1, 2], result: element)
      }
    case .cast:
      OpSchema(
        operands: 1...1,
        attributes: [
          .init("to", .elementType, required: true),
          .init("saturate", .int), .init("round_mode", .string),
        ]
      ) { ctx throws(TypeRuleError) in
        guard case .elementType(let to)? = ctx.attributes["to"] else { return [nil] }
        return [try TypeRules.required(ctx, 0).with(element: to)]
      }
    case .castLike:
      OpSchema(operands: 2...2, attributes: [.init("saturate", .int)]) {
        ctx throws(TypeRuleError) in
        let target = try TypeRules.required(ctx, 1)
        return [try TypeRules.required(ctx, 0).with(element: target.element)]
      }
    case .dropout:
      OpSchema(
        operands: 1...3, results: 1...2, attributes: [.init("seed", .int), .init("ratio", .float)]
      ) { ctx throws(TypeRuleError) in
        let x = try TypeRules.required(ctx, 0)
        return ctx.resultCount == 2 ? [x, x.with(element: .bool)] : [x]
      }
    case .matMul:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in try ONNXShapes.matMul(ctx) }
    case .gemm:
      OpSchema(
        operands: 2...3,
        attributes: [
          .init("alpha", .float), .init("beta", .float), .init("transA", .int),
          .init("transB", .int),
        ]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.gemm(ctx) }
    case .softmax:
      OpSchema(operands: 1...1, attributes: [.init("axis", .int)]) {
        ctx throws(TypeRuleError) in
        let x = try TypeRules.required(ctx, 0)
        try TypeRules.requireFloat(x, operand: 0)
        if let rank = x.rank {
          _ = try TypeRules.axis(ctx.attributes["axis"]?.intValue ?? -1, rank: rank)
        }
        return [x]
      }
    case .layerNormalization:
      OpSchema(
        operands: 2...3, results: 1...3,
        attributes: [.init("axis", .int), .init("epsilon", .float), .init("stash_type", .int)]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.normalization(ctx) }
    case .rmsNormalization:
      OpSchema(
        operands: 2...2,
        attributes: [.init("axis", .int), .init("epsilon", .float), .init("stash_type", .int)]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.normalization(ctx) }
    case .gather:
      OpSchema(operands: 2...2, attributes: [.init("axis", .int)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.gather(ctx)
      }
    case .reshape:
      OpSchema(operands: 2...2, attributes: [.init("allowzero", .int)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.reshape(ctx)
      }
    case .transpose:
      OpSchema(operands: 1...1, attributes: [.init("perm", .array)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.transpose(ctx)
      }
    case .concat:
      OpSchema(operands: 1...Int.max, attributes: [.init("axis", .int, required: true)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.concat(ctx)
      }
    case .split:
      OpSchema(
        operands: 1...2, results: 1...Int.max,
        attributes: [.init("axis", .int), .init("num_outputs", .int), .init("split", .array)]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.split(ctx) }
    case .slice:
      OpSchema(operands: 3...5) { ctx throws(TypeRuleError) in try ONNXShapes.slice(ctx) }
    case .squeeze:
      OpSchema(operands: 1...2, attributes: [.init("axes", .array)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.squeeze(ctx)
      }
    case .unsqueeze:
      OpSchema(operands: 1...2, attributes: [.init("axes", .array)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.unsqueeze(ctx)
      }
    case .expand:
      OpSchema(operands: 2...2) { ctx throws(TypeRuleError) in try ONNXShapes.expand(ctx) }
    case .flatten:
      OpSchema(operands: 1...1, attributes: [.init("axis", .int)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.flatten(ctx)
      }
    case .shape:
      OpSchema(operands: 1...1, attributes: [.init("start", .int), .init("end", .int)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.shape(ctx)
      }
    case .size:
      OpSchema(operands: 1...1) { _ throws(TypeRuleError) in [TensorType([], .i64)] }
    case .range:
      OpSchema(operands: 3...3) { ctx throws(TypeRuleError) in try ONNXShapes.range(ctx) }
    case .trilu:
      OpSchema(operands: 1...2, attributes: [.init("upper", .int)]) {
        ctx throws(TypeRuleError) in try TypeRules.sameAsFirst(ctx)
      }
    case .constantOfShape:
      OpSchema(operands: 1...1, attributes: [.init("value", .dense)]) {
        ctx throws(TypeRuleError) in try ONNXShapes.constantOfShape(ctx)
      }
    case .constant:
      OpSchema(
        operands: 0...0,
        attributes: [
          .init("value", .dense), .init("value_float", .float),
          .init("value_floats", .array), .init("value_int", .int),
          .init("value_ints", .array),
        ]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.constant(ctx) }
    case .reduceMean, .reduceSum, .reduceMax:
      OpSchema(
        operands: 1...2,
        attributes: [
          .init("axes", .array), .init("keepdims", .int),
          .init("noop_with_empty_axes", .int),
        ]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.reduce(ctx) }
    case .argMax:
      OpSchema(
        operands: 1...1,
        attributes: [
          .init("axis", .int), .init("keepdims", .int),
          .init("select_last_index", .int),
        ]
      ) { ctx throws(TypeRuleError) in try ONNXShapes.argMax(ctx) }
    }
  }
}
