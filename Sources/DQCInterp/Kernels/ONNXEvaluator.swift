import DQCIR

/// Evaluates one `onnx.*` instruction.
enum ONNXEvaluator {
  static func evaluate(
    _ op: ONNXOp, _ inst: Instruction, _ operands: [Tensor?],
    _ operand: (Int) throws(InterpreterError) -> Tensor
  ) throws(InterpreterError) -> [Tensor] {
    let a = inst.attributes
    func optional(_ i: Int) -> Tensor? { i < operands.count ? operands[i] : nil }
    func intsOperand(_ i: Int) -> [Int64]? { optional(i)?.ints }
    switch op {
    case .add, .sub, .mul, .div, .pow, .mod:
      return [try Elementwise.arithmetic(op, try operand(0), try operand(1), attributes: a)]
    case .max, .min:
      var result = try operand(0)
      for i in 1..<max(operands.count, 1) {
        result = try Elementwise.arithmetic(op, result, try operand(i), attributes: a)
      }
      return [result]
    case .sqrt, .reciprocal, .neg, .exp, .log, .abs, .erf, .tanh, .sigmoid, .relu, .cos, .sin,
      .floor, .ceil,
      .softplus, .not:
      return [try Elementwise.unary(op, try operand(0))]
    case .identity:
      return [try operand(0)]
    case .dropout:
      let x = try operand(0)
      if let training = optional(2), training.ints.first ?? 0 != 0 {
        throw InterpreterError(
          "training-mode Dropout draws a random mask; dqc evaluates inference graphs only")
      }
      return inst.results.count == 2
        ? [x, Tensor(shape: x.shape, ints: Array(repeating: 1, count: x.count), element: .bool)]
        : [x]
    case .clip:
      var x = try operand(0)
      if let lo = optional(1) { x = try Elementwise.arithmetic(.max, x, lo, attributes: a) }
      if let hi = optional(2) { x = try Elementwise.arithmetic(.min, x, hi, attributes: a) }
      return [x]
    case .equal:
      return [try Elementwise.compare(try operand(0), try operand(1), ==, ints: ==)]
    case .less:
      return [try Elementwise.compare(try operand(0), try operand(1), <, ints: <)]
    case .lessOrEqual:
      return [try Elementwise.compare(try operand(0), try operand(1), <=, ints: <=)]
    case .greater:
      return [try Elementwise.compare(try operand(0), try operand(1), >, ints: >)]
    case .greaterOrEqual:
      return [try Elementwise.compare(try operand(0), try operand(1), >=, ints: >=)]
    case .and:
      return [
        try Elementwise.intBinary(try operand(0), try operand(1), element: .bool) {
          $0 != 0 && $1 != 0 ? 1 : 0
        }
      ]
    case .or:
      return [
        try Elementwise.intBinary(try operand(0), try operand(1), element: .bool) {
          $0 != 0 || $1 != 0 ? 1 : 0
        }
      ]
    case .isNaN:
      let x = try operand(0)
      return [Tensor(shape: x.shape, ints: x.doubles.map { $0.isNaN ? 1 : 0 }, element: .bool)]
    case .where:
      return [try Elementwise.select(try operand(0), try operand(1), try operand(2))]
    case .cast:
      guard case .elementType(let to)? = a["to"] else { throw InterpreterError("Cast has no 'to'") }
      return [try Elementwise.cast(try operand(0), to: to)]
    case .castLike:
      return [try Elementwise.cast(try operand(0), to: try operand(1).element)]
    case .matMul:
      return [try LinearAlgebra.matMul(try operand(0), try operand(1))]
    case .gemm:
      return [try LinearAlgebra.gemmOp(try operand(0), try operand(1), optional(2), attributes: a)]
    case .softmax:
      return [try Reductions.softmax(try operand(0), axis: a["axis"]?.intValue ?? -1)]
    case .layerNormalization, .rmsNormalization:
      let x = try operand(0)
      let axis = a["axis"]?.intValue ?? -1
      let (y, mean, inverse) = try Reductions.normalize(
        x, scale: try operand(1), bias: op == .layerNormalization ? optional(2) : nil, axis: axis,
        epsilon: a["epsilon"]?.floatValue ?? 1e-5, rms: op == .rmsNormalization)
      return Array([y, mean, inverse].prefix(inst.results.count))
    case .gather:
      return [try ShapeOps.gather(try operand(0), try operand(1), axis: a["axis"]?.intValue ?? 0)]
    case .reshape:
      return [
        try ShapeOps.reshape(
          try operand(0), try operand(1).ints, allowZero: (a["allowzero"]?.intValue ?? 0) != 0)
      ]
    case .transpose:
      let x = try operand(0)
      let perm = a["perm"]?.intArray?.map { Int($0) } ?? Array((0..<x.shape.count).reversed())
      return [try ShapeOps.transpose(x, perm: perm)]
    case .concat:
      var parts: [Tensor] = []
      for i in 0..<operands.count { parts.append(try operand(i)) }
      return [try ShapeOps.concat(parts, axis: a["axis"]?.intValue ?? 0)]
    case .split:
      return try ShapeOps.split(
        try operand(0), axis: a["axis"]?.intValue ?? 0,
        sizes: intsOperand(1) ?? a["split"]?.intArray,
        count: inst.results.count)
    case .slice:
      return [
        try ShapeOps.slice(
          try operand(0), starts: try operand(1).ints, ends: try operand(2).ints,
          axes: intsOperand(3), steps: intsOperand(4))
      ]
    case .squeeze:
      let x = try operand(0)
      let axes = intsOperand(1) ?? a["axes"]?.intArray
      var drop = Set<Int>()
      if let axes {
        for v in axes { drop.insert(try ShapeOps.axis(v, rank: x.shape.count)) }
      } else {
        drop = Set(x.shape.enumerated().filter { $0.element == 1 }.map(\.offset))
      }
      return [
        ShapeOps.reshaped(
          x, x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))
      ]
    case .unsqueeze:
      let x = try operand(0)
      let axes = intsOperand(1) ?? a["axes"]?.intArray ?? []
      let rank = x.shape.count + axes.count
      var inserted = Set<Int>()
      for v in axes { inserted.insert(try ShapeOps.axis(v, rank: rank)) }
      var shape: [Int] = []
      var rest = x.shape.makeIterator()
      for i in 0..<rank { shape.append(inserted.contains(i) ? 1 : rest.next() ?? 1) }
      return [ShapeOps.reshaped(x, shape)]
    case .expand:
      return [try ShapeOps.expand(try operand(0), try operand(1).ints)]
    case .flatten:
      let x = try operand(0)
      let raw = Int(a["axis"]?.intValue ?? 1)
      let axis = raw < 0 ? raw + x.shape.count : raw
      return [ShapeOps.reshaped(x, [x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)])]
    case .shape:
      let x = try operand(0)
      let (start, end) = ONNXShapeRange.range(rank: x.shape.count, attributes: a)
      let dims = start < end ? x.shape[start..<end].map { Int64($0) } : []
      return [Tensor(shape: [dims.count], ints: dims)]
    case .size:
      return [Tensor(shape: [], ints: [Int64(try operand(0).count)])]
    case .range:
      return [try ShapeOps.range(try operand(0), try operand(1), try operand(2))]
    case .trilu:
      return [
        ShapeOps.trilu(
          try operand(0), k: optional(1)?.ints.first ?? 0, upper: (a["upper"]?.intValue ?? 1) != 0)
      ]
    case .constantOfShape:
      let shape = try operand(0).ints.map { Int($0) }
      let n = shape.reduce(1, *)
      if case .dense(let v)? = a["value"] {
        let t = Tensor(v)
        return [ShapeOps.pick(t, Array(repeating: 0, count: n), shape: shape)]
      }
      return [Tensor(shape: shape, floats: Array(repeating: 0, count: n))]
    case .constant:
      guard let value = ConstantValues.constantAttribute(inst) else {
        throw InterpreterError("Constant has no value")
      }
      return [Tensor(value)]
    case .reduceMean, .reduceSum, .reduceMax:
      let kind: Reductions.Kind = op == .reduceMean ? .mean : (op == .reduceSum ? .sum : .max)
      return [
        try Reductions.reduce(
          try operand(0), axes: intsOperand(1) ?? a["axes"]?.intArray,
          keepDims: (a["keepdims"]?.intValue ?? 1) != 0,
          noopWithEmpty: (a["noop_with_empty_axes"]?.intValue ?? 0) != 0, kind: kind)
      ]
    case .argMax:
      return [
        try Reductions.argMax(
          try operand(0), axis: a["axis"]?.intValue ?? 0,
          keepDims: (a["keepdims"]?.intValue ?? 1) != 0,
          selectLast: (a["select_last_index"]?.intValue ?? 0) != 0)
      ]
    }
  }
}
