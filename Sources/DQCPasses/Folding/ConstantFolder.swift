import DQCIR
import Foundation

/// Evaluates ONNX instructions whose operands are all known constants, for `canonicalize`.
///
/// Float arithmetic is done in `Double` and rounded to the result's element type when encoded
/// (exact for +, -, ×, ÷ and √ of f32 inputs). Integer division truncates toward zero as ONNX
/// specifies. Returns `nil` for ops it does not fold or results larger than the limit.
struct ConstantFolder {
  /// The largest result, in elements, worth folding into a weight.
  var elementLimit: Int

  /// The folded results of `inst`, or `nil`.
  func fold(_ inst: Instruction, operands: [DenseTensor?], operandTypes: [TensorType?])
    -> [DenseTensor]?
  {
    guard case .onnx(let op) = inst.op else { return nil }
    // Ops that need only the operand's static type.
    switch op {
    case .shape:
      guard let shape = operandTypes.first??.staticShape else { return nil }
      let (start, end) = ONNXShapeRange.range(rank: shape.count, attributes: inst.attributes)
      let dims = start < end ? shape[start..<end].map(Int64.init) : []
      return [DenseTensor(shape: [dims.count], ints: dims)]
    case .size:
      guard let n = operandTypes.first??.elementCount else { return nil }
      return [DenseTensor(shape: [], ints: [Int64(n)])]
    case .constant:
      return ConstantValues.constantAttribute(inst).map { [$0] }
    default:
      break
    }
    let present = operands.enumerated().filter { inst.operands[$0.offset] != nil }
    guard present.allSatisfy({ $0.element != nil }) else { return nil }
    let values = operands
    guard let resultType = resultStaticType(inst) else { return nil }
    guard let count = resultType.elementCount, count <= elementLimit else { return nil }
    let result: DenseTensor?
    switch op {
    case .add, .sub, .mul, .div, .pow, .max, .min, .mod, .equal, .less, .lessOrEqual, .greater,
      .greaterOrEqual, .and, .or:
      guard values.count == 2 else { return nil }
      result = binary(op, values[0]!, values[1]!, resultType: resultType, inst: inst)
    case .neg, .sqrt, .reciprocal, .exp, .log, .abs, .erf, .tanh, .sigmoid, .relu, .cos, .sin,
      .floor, .ceil, .not, .identity, .softplus:
      result = unary(op, values[0]!, resultType: resultType)
    case .cast, .castLike:
      result = cast(values[0]!, to: resultType)
    case .`where`:
      result = whereOp(values[0]!, values[1]!, values[2]!, resultType: resultType)
    case .reshape, .squeeze, .unsqueeze, .flatten:
      result = DenseTensor(type: resultType, values: values[0]!.values)
    case .expand:
      result = gatherBy(
        values[0]!,
        TensorIndexing.broadcastSources(
          out: resultType.staticShape!, in: values[0]!.type.staticShape!), resultType: resultType)
    case .transpose:
      let shape = values[0]!.type.staticShape!
      let perm =
        inst.attributes["perm"]?.intArray?.map(Int.init)
        ?? Array((0..<shape.count).reversed())
      result = gatherBy(
        values[0]!, TensorIndexing.transposeSources(shape: shape, perm: perm),
        resultType: resultType)
    case .concat:
      result = concat(values.compactMap { $0 }, inst: inst, resultType: resultType)
    case .gather:
      result = gather(values[0]!, values[1]!, inst: inst, resultType: resultType)
    case .slice:
      result = slice(values, resultType: resultType)
    case .range:
      result = range(values[0]!, values[1]!, values[2]!, resultType: resultType)
    case .constantOfShape:
      result = constantOfShape(inst, resultType: resultType)
    default:
      result = nil
    }
    return result.map { [$0] }
  }

  /// The result type when it is static (declared, or inferred from the constants).
  func resultStaticType(_ inst: Instruction) -> TensorType? {
    guard inst.results.count == 1 else { return nil }
    return inst.result.type.staticShape != nil ? inst.result.type : nil
  }

  func gatherBy(_ x: DenseTensor, _ sources: [Int], resultType: TensorType) -> DenseTensor {
    switch x.values {
    case .floats(let v): DenseTensor(type: resultType, values: .floats(sources.map { v[$0] }))
    case .ints(let v): DenseTensor(type: resultType, values: .ints(sources.map { v[$0] }))
    }
  }

  func binary(
    _ op: ONNXOp, _ a: DenseTensor, _ b: DenseTensor, resultType: TensorType,
    inst: Instruction
  ) -> DenseTensor? {
    guard let outShape = resultType.staticShape, let aShape = a.type.staticShape,
      let bShape = b.type.staticShape
    else { return nil }
    let ai = TensorIndexing.broadcastSources(out: outShape, in: aShape)
    let bi = TensorIndexing.broadcastSources(out: outShape, in: bShape)
    let isFloat = a.type.element.isFloat
    let comparison: Set<ONNXOp> = [.equal, .less, .lessOrEqual, .greater, .greaterOrEqual]
    if isFloat {
      let x = a.doubles
      let y = b.doubles
      if comparison.contains(op) {
        return DenseTensor(
          type: resultType,
          values: .ints(
            zip(ai, bi).map { (i, j) in
              compare(op, x[i], y[j]) ? 1 : 0
            }))
      }
      var out: [Double] = []
      out.reserveCapacity(ai.count)
      for (i, j) in zip(ai, bi) {
        let p = x[i]
        let q = y[j]
        switch op {
        case .add: out.append(p + q)
        case .sub: out.append(p - q)
        case .mul: out.append(p * q)
        case .div: out.append(p / q)
        case .pow: out.append(Foundation.pow(p, q))
        case .max: out.append(Swift.max(p, q))
        case .min: out.append(Swift.min(p, q))
        case .mod:
          let r = fmod(p, q)
          let fmodMode = (inst.attributes["fmod"]?.intValue ?? 0) != 0
          out.append(fmodMode || r == 0 || (r < 0) == (q < 0) ? r : r + q)
        default: return nil
        }
      }
      return DenseTensor(type: resultType, values: .floats(out))
    }
    guard let x = a.int64s, let y = b.int64s else { return nil }
    var out: [Int64] = []
    out.reserveCapacity(ai.count)
    for (i, j) in zip(ai, bi) {
      let p = x[i]
      let q = y[j]
      switch op {
      case .add: out.append(p &+ q)
      case .sub: out.append(p &- q)
      case .mul: out.append(p &* q)
      case .div:
        guard q != 0 else { return nil }
        out.append(p / q)
      case .mod:
        guard q != 0 else { return nil }
        let fmodMode = (inst.attributes["fmod"]?.intValue ?? 0) != 0
        let r = p % q
        out.append(fmodMode || r == 0 || (r < 0) == (q < 0) ? r : r + q)
      case .pow:
        guard q >= 0 else { return nil }
        var r: Int64 = 1
        for _ in 0..<q { r = r &* p }
        out.append(r)
      case .max: out.append(Swift.max(p, q))
      case .min: out.append(Swift.min(p, q))
      case .and: out.append((p != 0 && q != 0) ? 1 : 0)
      case .or: out.append((p != 0 || q != 0) ? 1 : 0)
      case .equal, .less, .lessOrEqual, .greater, .greaterOrEqual:
        out.append(compare(op, Double(p), Double(q)) && (op != .equal || p == q) ? 1 : 0)
      default: return nil
      }
    }
    return DenseTensor(type: resultType, values: .ints(out))
  }

  func compare(_ op: ONNXOp, _ p: Double, _ q: Double) -> Bool {
    switch op {
    case .equal: p == q
    case .less: p < q
    case .lessOrEqual: p <= q
    case .greater: p > q
    case .greaterOrEqual: p >= q
    default: false
    }
  }

  func unary(_ op: ONNXOp, _ a: DenseTensor, resultType: TensorType) -> DenseTensor? {
    if case .ints(let v) = a.values {
      switch op {
      case .neg: return DenseTensor(type: resultType, values: .ints(v.map { 0 &- $0 }))
      case .abs:
        return DenseTensor(type: resultType, values: .ints(v.map { $0 < 0 ? 0 &- $0 : $0 }))
      case .not: return DenseTensor(type: resultType, values: .ints(v.map { $0 == 0 ? 1 : 0 }))
      case .identity, .relu:
        return DenseTensor(
          type: resultType, values: .ints(op == .relu ? v.map { Swift.max($0, 0) } : v))
      default: return nil
      }
    }
    let f: (Double) -> Double
    switch op {
    case .neg: f = { -$0 }
    case .sqrt: f = { $0.squareRoot() }
    case .reciprocal: f = { 1 / $0 }
    case .exp: f = { Foundation.exp($0) }
    case .log: f = { Foundation.log($0) }
    case .abs: f = { Swift.abs($0) }
    case .erf: f = { Foundation.erf($0) }
    case .tanh: f = { Foundation.tanh($0) }
    case .sigmoid: f = { 1 / (1 + Foundation.exp(-$0)) }
    case .relu: f = { Swift.max($0, 0) }
    case .cos: f = { Foundation.cos($0) }
    case .sin: f = { Foundation.sin($0) }
    case .floor: f = { $0.rounded(.down) }
    case .ceil: f = { $0.rounded(.up) }
    case .softplus: f = { Foundation.log(1 + Foundation.exp($0)) }
    case .identity: f = { $0 }
    default: return nil
    }
    // Round the input through the element type first so the result matches f32 evaluation.
    return DenseTensor(type: resultType, values: .floats(a.doubles.map(f)))
  }

  func cast(_ a: DenseTensor, to resultType: TensorType) -> DenseTensor? {
    guard let target = resultType.element.scalar else { return nil }
    if target.isFloat { return DenseTensor(type: resultType, values: .floats(a.doubles)) }
    if target == .bool {
      return DenseTensor(type: resultType, values: .ints(a.doubles.map { $0 != 0 ? 1 : 0 }))
    }
    switch a.values {
    case .ints(let v):
      return DenseTensor(type: resultType, values: .ints(v.map { wrap($0, to: target) }))
    case .floats(let v):
      guard v.allSatisfy({ $0.isFinite && Swift.abs($0) < 9.2e18 }) else { return nil }
      return DenseTensor(type: resultType, values: .ints(v.map { wrap(Int64($0), to: target) }))
    }
  }

  func wrap(_ v: Int64, to type: ScalarType) -> Int64 {
    let bits = Int64(type.bitWidth)
    guard bits < 64 else { return v }
    let mask: Int64 = (1 << bits) - 1
    let low = v & mask
    if type.isSignedInteger, low >= (1 << (bits - 1)) { return low - (1 << bits) }
    return low
  }

  func whereOp(_ c: DenseTensor, _ a: DenseTensor, _ b: DenseTensor, resultType: TensorType)
    -> DenseTensor?
  {
    guard let out = resultType.staticShape, let cs = c.type.staticShape,
      let ashape = a.type.staticShape, let bshape = b.type.staticShape, let cond = c.int64s
    else { return nil }
    let ci = TensorIndexing.broadcastSources(out: out, in: cs)
    let ai = TensorIndexing.broadcastSources(out: out, in: ashape)
    let bi = TensorIndexing.broadcastSources(out: out, in: bshape)
    switch (a.values, b.values) {
    case (.floats(let x), .floats(let y)):
      return DenseTensor(
        type: resultType,
        values: .floats(
          (0..<ci.count).map {
            cond[ci[$0]] != 0 ? x[ai[$0]] : y[bi[$0]]
          }))
    case (.ints(let x), .ints(let y)):
      return DenseTensor(
        type: resultType,
        values: .ints(
          (0..<ci.count).map {
            cond[ci[$0]] != 0 ? x[ai[$0]] : y[bi[$0]]
          }))
    default:
      return nil
    }
  }

  func concat(_ parts: [DenseTensor], inst: Instruction, resultType: TensorType) -> DenseTensor? {
    guard let outShape = resultType.staticShape, let first = parts.first?.type.staticShape,
      let axisValue = inst.attributes["axis"]?.intValue
    else { return nil }
    let axis = axisValue < 0 ? Int(axisValue) + first.count : Int(axisValue)
    let outer = first[..<axis].reduce(1, *)
    var floats: [Double] = []
    var ints: [Int64] = []
    let isFloat = resultType.element.isFloat
    for o in 0..<outer {
      for part in parts {
        guard let shape = part.type.staticShape else { return nil }
        let inner = shape[axis...].reduce(1, *)
        let range = (o * inner)..<((o + 1) * inner)
        switch part.values {
        case .floats(let v): floats += v[range]
        case .ints(let v): ints += v[range]
        }
      }
    }
    guard (isFloat ? floats.count : ints.count) == outShape.reduce(1, *) else { return nil }
    return DenseTensor(type: resultType, values: isFloat ? .floats(floats) : .ints(ints))
  }

  func gather(
    _ data: DenseTensor, _ indices: DenseTensor, inst: Instruction,
    resultType: TensorType
  ) -> DenseTensor? {
    guard let shape = data.type.staticShape, let idx = indices.int64s else { return nil }
    let rawAxis = Int(inst.attributes["axis"]?.intValue ?? 0)
    let axis = rawAxis < 0 ? rawAxis + shape.count : rawAxis
    guard axis >= 0, axis < shape.count else { return nil }
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    let n = shape[axis]
    var sources: [Int] = []
    for o in 0..<outer {
      for i in idx {
        let k = i < 0 ? Int(i) + n : Int(i)
        guard k >= 0, k < n else { return nil }
        for j in 0..<inner { sources.append((o * n + k) * inner + j) }
      }
    }
    return gatherBy(data, sources, resultType: resultType)
  }

  func slice(_ values: [DenseTensor?], resultType: TensorType) -> DenseTensor? {
    guard let data = values[0], let shape = data.type.staticShape,
      let starts = values[1]?.int64s, let ends = values[2]?.int64s
    else { return nil }
    let axes = (values.count > 3 ? values[3]?.int64s : nil) ?? (0..<Int64(starts.count)).map { $0 }
    let steps =
      (values.count > 4 ? values[4]?.int64s : nil) ?? Array(repeating: 1, count: starts.count)
    var begin = Array(repeating: 0, count: shape.count)
    var step = Array(repeating: 1, count: shape.count)
    var outShape = shape
    for i in 0..<starts.count {
      let a = axes[i] < 0 ? Int(axes[i]) + shape.count : Int(axes[i])
      guard a >= 0, a < shape.count, steps[i] != 0 else { return nil }
      let n = Int64(shape[a])
      var s = starts[i] < 0 ? starts[i] + n : starts[i]
      s = steps[i] > 0 ? Swift.min(Swift.max(s, 0), n) : Swift.min(Swift.max(s, 0), n - 1)
      begin[a] = Int(s)
      step[a] = Int(steps[i])
      outShape[a] = ONNXShapeRange.sliceLength(
        n: shape[a], start: starts[i], end: ends[i], step: steps[i])
    }
    guard outShape == resultType.staticShape else { return nil }
    let strides = TensorIndexing.strides(shape)
    var sources: [Int] = []
    TensorIndexing.forEachIndex(outShape) { index in
      var flat = 0
      for d in 0..<shape.count { flat += (begin[d] + index[d] * step[d]) * strides[d] }
      sources.append(flat)
    }
    return gatherBy(data, sources, resultType: resultType)
  }

  func range(
    _ start: DenseTensor, _ limit: DenseTensor, _ delta: DenseTensor,
    resultType: TensorType
  ) -> DenseTensor? {
    guard let n = resultType.elementCount else { return nil }
    if let s = start.int64s?.first, let d = delta.int64s?.first {
      return DenseTensor(type: resultType, values: .ints((0..<n).map { s + Int64($0) * d }))
    }
    guard let s = start.doubles.first, let d = delta.doubles.first else { return nil }
    _ = limit
    return DenseTensor(type: resultType, values: .floats((0..<n).map { s + Double($0) * d }))
  }

  func constantOfShape(_ inst: Instruction, resultType: TensorType) -> DenseTensor? {
    guard let n = resultType.elementCount else { return nil }
    if case .dense(let v)? = inst.attributes["value"] {
      switch v.values {
      case .floats(let f):
        return DenseTensor(type: resultType, values: .floats(Array(repeating: f[0], count: n)))
      case .ints(let i):
        return DenseTensor(type: resultType, values: .ints(Array(repeating: i[0], count: n)))
      }
    }
    return DenseTensor(type: resultType, values: .floats(Array(repeating: 0, count: n)))
  }
}
