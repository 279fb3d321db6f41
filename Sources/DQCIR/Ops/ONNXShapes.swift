/// Type rules of the ONNX ops whose result shapes need more than broadcasting.
enum ONNXShapes {
  static func matMul(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let a = try TypeRules.required(ctx, 0)
    let b = try TypeRules.required(ctx, 1)
    let element = try TypeRules.sameElement(ctx, [0, 1])
    guard var ad = a.dims, var bd = b.dims else { return [TensorType(unrankedOf: element)] }
    guard !ad.isEmpty, !bd.isEmpty else {
      throw TypeRuleError("MatMul operands must not be scalars")
    }
    let promotedA = ad.count == 1
    let promotedB = bd.count == 1
    if promotedA { ad.insert(.fixed(1), at: 0) }
    if promotedB { bd.append(.fixed(1)) }
    let k1 = ad[ad.count - 1]
    let k2 = bd[bd.count - 2]
    if let x = k1.value, let y = k2.value, x != y {
      throw TypeRuleError("MatMul contraction dimensions differ: \(x) and \(y)")
    }
    guard
      let batch = try TypeRules.broadcast([Array(ad.dropLast(2)), Array(bd.dropLast(2))])
    else { return [TensorType(unrankedOf: element)] }
    var dims = batch
    if !promotedA { dims.append(ad[ad.count - 2]) }
    if !promotedB { dims.append(bd[bd.count - 1]) }
    return [TensorType(dims, element)]
  }

  static func gemm(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let a = try TypeRules.required(ctx, 0)
    let b = try TypeRules.required(ctx, 1)
    let element = try TypeRules.sameElement(ctx, [0, 1, 2])
    guard let ad = a.dims, let bd = b.dims else { return [TensorType(unrankedOf: element)] }
    guard ad.count == 2, bd.count == 2 else { throw TypeRuleError("Gemm operands must be 2-D") }
    let transA = (ctx.attributes["transA"]?.intValue ?? 0) != 0
    let transB = (ctx.attributes["transB"]?.intValue ?? 0) != 0
    let m = transA ? ad[1] : ad[0]
    let k1 = transA ? ad[0] : ad[1]
    let k2 = transB ? bd[1] : bd[0]
    let n = transB ? bd[0] : bd[1]
    if let x = k1.value, let y = k2.value, x != y {
      throw TypeRuleError("Gemm contraction dimensions differ: \(x) and \(y)")
    }
    if let c = ctx.operand(2)?.dims {
      _ = try TypeRules.broadcast([[m, n], c])
    }
    return [TensorType([m, n], element)]
  }

  static func normalization(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    try TypeRules.requireFloat(x, operand: 0)
    _ = try TypeRules.sameElement(ctx, [0, 1, 2])
    var results: [TensorType?] = [x]
    if ctx.resultCount > 1, let dims = x.dims {
      let axis = try TypeRules.axis(ctx.attributes["axis"]?.intValue ?? -1, rank: dims.count)
      let reduced = dims.enumerated().map { $0.offset >= axis ? Dim.fixed(1) : $0.element }
      for _ in 1..<ctx.resultCount { results.append(TensorType(reduced, .f32)) }
    }
    return results
  }

  static func gather(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let data = try TypeRules.required(ctx, 0)
    let indices = try TypeRules.required(ctx, 1)
    try TypeRules.requireInteger(indices, operand: 1)
    guard let dd = data.dims, let id = indices.dims else {
      return [TensorType(unrankedOf: data.element)]
    }
    let axis = try TypeRules.axis(ctx.attributes["axis"]?.intValue ?? 0, rank: dd.count)
    return [TensorType(Array(dd[..<axis]) + id + Array(dd[(axis + 1)...]), data.element)]
  }

  static func reshape(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let data = try TypeRules.required(ctx, 0)
    let shape = try TypeRules.required(ctx, 1)
    guard shape.element == .i64 else {
      throw TypeRuleError("operand 1 (shape) has element type \(shape.element), expected i64")
    }
    guard let target = ctx.constantInts(1) else {
      if let n = shape.dims?.first?.value {
        return [TensorType(try TypeRules.dynamicDims(count: n), data.element)]
      }
      return [TensorType(unrankedOf: data.element)]
    }
    let allowZero = (ctx.attributes["allowzero"]?.intValue ?? 0) != 0
    var dims: [Dim] = []
    var inferIndex: Int?
    for (i, v) in target.enumerated() {
      if v == -1 {
        guard inferIndex == nil else { throw TypeRuleError("Reshape shape has more than one -1") }
        inferIndex = i
        dims.append(.dynamic)
      } else if v == 0 && !allowZero {
        guard let input = data.dims, i < input.count else {
          if data.dims == nil {
            dims.append(.dynamic)
            continue
          }
          throw TypeRuleError("Reshape shape copies dimension \(i) the input does not have")
        }
        dims.append(input[i])
      } else if v < 0 {
        throw TypeRuleError("Reshape shape has negative entry \(v)")
      } else {
        dims.append(.fixed(Int(v)))
      }
    }
    if let total = data.elementCount {
      let known = dims.enumerated().filter { $0.offset != inferIndex }.map(\.element.value)
      if known.allSatisfy({ $0 != nil }) {
        guard let product = TypeRules.product(known.compactMap { $0 }) else {
          throw TypeRuleError("Reshape shape \(target) has more elements than fit in 64 bits")
        }
        if let inferIndex {
          guard product > 0, total % product == 0 else {
            throw TypeRuleError("cannot reshape \(total) elements into \(target)")
          }
          dims[inferIndex] = .fixed(total / product)
        } else if product != total {
          throw TypeRuleError("cannot reshape \(total) elements into \(target)")
        }
      }
    } else if let inferIndex, let input = data.dims {
      // With one unknown input dim and every other size known on both sides, the inferred dim
      // is that unknown dim (such as [{seq}, 64] -> [-1, 4, 16] gives [{seq}, 4, 16]).
      let unknown = input.filter { $0.value == nil }
      let others = dims.enumerated().filter { $0.offset != inferIndex }.map(\.element)
      if unknown.count == 1, others.allSatisfy({ $0.value != nil }),
        let product = TypeRules.product(others.compactMap(\.value)),
        product == TypeRules.product(input.compactMap(\.value))
      {
        dims[inferIndex] = unknown[0]
      }
    }
    return [TensorType(dims, data.element)]
  }

  static func transpose(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let dims = x.dims else { return [TensorType(unrankedOf: x.element)] }
    let perm =
      ctx.attributes["perm"]?.intArray.map { $0.map(Int.init) }
      ?? Array((0..<dims.count).reversed())
    guard perm.count == dims.count, Set(perm) == Set(0..<dims.count) else {
      throw TypeRuleError("perm \(perm) is not a permutation of 0..<\(dims.count)")
    }
    return [TensorType(perm.map { dims[$0] }, x.element)]
  }

  static func concat(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let element = try TypeRules.sameElement(ctx, Array(0..<ctx.operands.count))
    let shapes = ctx.operands.compactMap { $0?.dims }
    guard shapes.count == ctx.operands.count, let first = shapes.first else {
      return [TensorType(unrankedOf: element)]
    }
    let axis = try TypeRules.axis(ctx.attributes["axis"]?.intValue ?? 0, rank: first.count)
    var dims = first
    var total: Int? = 0
    for (i, shape) in shapes.enumerated() {
      guard shape.count == first.count else {
        throw TypeRuleError("operand \(i) has rank \(shape.count), expected \(first.count)")
      }
      for d in 0..<shape.count where d != axis {
        if let x = dims[d].value, let y = shape[d].value, x != y {
          throw TypeRuleError("operand \(i) has size \(y) in dimension \(d), expected \(x)")
        }
        if dims[d].value == nil, shape[d].value != nil { dims[d] = shape[d] }
      }
      if let t = total, let n = shape[axis].value { total = t + n } else { total = nil }
    }
    dims[axis] = total.map { .fixed($0) } ?? .dynamic
    return [TensorType(dims, element)]
  }

  static func split(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let dims = x.dims else {
      return Array(repeating: TensorType(unrankedOf: x.element), count: ctx.resultCount)
    }
    let axis = try TypeRules.axis(ctx.attributes["axis"]?.intValue ?? 0, rank: dims.count)
    let sizes = ctx.constantInts(1) ?? ctx.attributes["split"]?.intArray
    var results: [TensorType?] = []
    if sizes == nil, ctx.operand(1) != nil {
      // Sizes given by a value not known until run time.
      var d = dims
      d[axis] = .dynamic
      return Array(repeating: TensorType(d, x.element), count: ctx.resultCount)
    }
    if let sizes {
      guard sizes.count == ctx.resultCount else {
        throw TypeRuleError("split has \(sizes.count) sizes for \(ctx.resultCount) results")
      }
      if let n = dims[axis].value, Int(sizes.reduce(0, +)) != n {
        throw TypeRuleError("split sizes \(sizes) do not add up to dimension size \(n)")
      }
      for s in sizes {
        var d = dims
        d[axis] = .fixed(Int(s))
        results.append(TensorType(d, x.element))
      }
    } else {
      for i in 0..<ctx.resultCount {
        var d = dims
        if let n = dims[axis].value {
          let chunk = (n + ctx.resultCount - 1) / ctx.resultCount
          d[axis] = .fixed(min(chunk, max(0, n - chunk * i)))
        } else {
          d[axis] = .dynamic
        }
        results.append(TensorType(d, x.element))
      }
    }
    return results
  }

  static func slice(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    for i in 1..<ctx.operands.count {
      if let t = ctx.operand(i) { try TypeRules.requireInteger(t, operand: i) }
    }
    guard let dims = x.dims else { return [TensorType(unrankedOf: x.element)] }
    guard let starts = ctx.constantInts(1), let ends = ctx.constantInts(2) else {
      return [TensorType(Array(repeating: .dynamic, count: dims.count), x.element)]
    }
    let axes = ctx.constantInts(3) ?? (0..<Int64(starts.count)).map { $0 }
    let steps = ctx.constantInts(4) ?? Array(repeating: 1, count: starts.count)
    guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count
    else { throw TypeRuleError("Slice starts, ends, axes and steps differ in length") }
    var out = dims
    for i in 0..<starts.count {
      let axis = try TypeRules.axis(axes[i], rank: dims.count)
      guard steps[i] != 0 else { throw TypeRuleError("Slice step must not be 0") }
      guard let n = dims[axis].value else {
        out[axis] = .dynamic
        continue
      }
      out[axis] = .fixed(
        ONNXShapeRange.sliceLength(n: n, start: starts[i], end: ends[i], step: steps[i]))
    }
    return [TensorType(out, x.element)]
  }

  static func axesOperandOrAttribute(_ ctx: TypeRuleContext) -> [Int64]? {
    if ctx.operands.count > 1, ctx.operand(1) != nil { return ctx.constantInts(1) }
    return ctx.attributes["axes"]?.intArray ?? (ctx.operands.count > 1 ? nil : [])
  }

  static func squeeze(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let dims = x.dims, let axes = axesOperandOrAttribute(ctx) else {
      return [TensorType(unrankedOf: x.element)]
    }
    if axes.isEmpty {
      if dims.contains(where: { $0.value == nil }) { return [TensorType(unrankedOf: x.element)] }
      return [TensorType(dims.filter { $0.value != 1 }, x.element)]
    }
    var drop = Set<Int>()
    for a in axes {
      let axis = try TypeRules.axis(a, rank: dims.count)
      if let n = dims[axis].value, n != 1 {
        throw TypeRuleError("cannot squeeze dimension \(axis) of size \(n)")
      }
      drop.insert(axis)
    }
    return [
      TensorType(
        dims.enumerated().filter { !drop.contains($0.offset) }.map(\.element),
        x.element)
    ]
  }

  static func unsqueeze(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let dims = x.dims, let axes = axesOperandOrAttribute(ctx) else {
      return [TensorType(unrankedOf: x.element)]
    }
    let rank = dims.count + axes.count
    var inserted = Set<Int>()
    for a in axes {
      let axis = try TypeRules.axis(a, rank: rank)
      guard inserted.insert(axis).inserted else {
        throw TypeRuleError("Unsqueeze axes repeat \(axis)")
      }
    }
    var out: [Dim] = []
    var next = dims.makeIterator()
    for i in 0..<rank {
      if inserted.contains(i) {
        out.append(.fixed(1))
      } else if let d = next.next() {
        out.append(d)
      }
    }
    return [TensorType(out, x.element)]
  }

  static func expand(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    let shape = try TypeRules.required(ctx, 1)
    try TypeRules.requireInteger(shape, operand: 1)
    guard let target = ctx.constantInts(1) else {
      if let n = shape.dims?.first?.value, let rank = x.rank {
        return [TensorType(try TypeRules.dynamicDims(count: max(n, rank)), x.element)]
      }
      return [TensorType(unrankedOf: x.element)]
    }
    guard let dims = try TypeRules.broadcast([x.dims, TypeRules.dims(fromConstant: target)])
    else { return [TensorType(unrankedOf: x.element)] }
    return [TensorType(dims, x.element)]
  }

  static func flatten(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let dims = x.dims else { return [TensorType([.dynamic, .dynamic], x.element)] }
    let axis = Int(ctx.attributes["axis"]?.intValue ?? 1)
    let a = axis < 0 ? axis + dims.count : axis
    guard a >= 0, a <= dims.count else {
      throw TypeRuleError("axis \(axis) is out of range for rank \(dims.count)")
    }
    func product(_ ds: ArraySlice<Dim>) throws(TypeRuleError) -> Dim {
      var sizes: [Int] = []
      for d in ds {
        guard let n = d.value else { return .dynamic }
        sizes.append(n)
      }
      guard let p = TypeRules.product(sizes) else {
        throw TypeRuleError("Flatten of \(dims) has more elements than fit in 64 bits")
      }
      return .fixed(p)
    }
    return [TensorType([try product(dims[..<a]), try product(dims[a...])], x.element)]
  }

  static func shape(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let rank = x.rank else { return [TypeRules.int64Vector(nil)] }
    let (start, end) = ONNXShapeRange.range(rank: rank, attributes: ctx.attributes)
    return [TypeRules.int64Vector(max(0, end - start))]
  }

  static func range(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let element = try TypeRules.sameElement(ctx, [0, 1, 2])
    for i in 0..<3 {
      if let r = ctx.operand(i)?.rank, r != 0 {
        throw TypeRuleError("operand \(i) of Range must be a scalar, has rank \(r)")
      }
    }
    if let s = ctx.constant(0)?.doubles.first, let l = ctx.constant(1)?.doubles.first,
      let d = ctx.constant(2)?.doubles.first, d != 0
    {
      let n = max(Int(((l - s) / d).rounded(.up)), 0)
      return [TensorType([.fixed(n)], element)]
    }
    return [TensorType([.dynamic], element)]
  }

  static func constantOfShape(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let shape = try TypeRules.required(ctx, 0)
    guard shape.element == .i64 else {
      throw TypeRuleError("operand 0 (shape) has element type \(shape.element), expected i64")
    }
    var element = ElementType.f32
    if case .dense(let value)? = ctx.attributes["value"] {
      guard value.count == 1 else {
        throw TypeRuleError("ConstantOfShape value must hold one element, holds \(value.count)")
      }
      element = value.type.element
    }
    if let target = ctx.constantInts(0) {
      return [TensorType(TypeRules.dims(fromConstant: target), element)]
    }
    if let n = shape.dims?.first?.value {
      return [TensorType(try TypeRules.dynamicDims(count: n), element)]
    }
    return [TensorType(unrankedOf: element)]
  }

  static func constant(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let a = ctx.attributes
    guard a.count == 1 else {
      throw TypeRuleError("Constant needs exactly one value attribute, has \(a.count)")
    }
    if case .dense(let value)? = a["value"] { return [value.type] }
    if a["value_float"] != nil { return [TensorType([], .f32)] }
    if a["value_int"] != nil { return [TensorType([], .i64)] }
    if let v = a["value_floats"]?.floatArray { return [TensorType(shape: [v.count], .f32)] }
    if let v = a["value_ints"]?.intArray { return [TensorType(shape: [v.count], .i64)] }
    throw TypeRuleError("Constant value attribute has the wrong kind")
  }

  static func reduce(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    let keep = (ctx.attributes["keepdims"]?.intValue ?? 1) != 0
    let noopEmpty = (ctx.attributes["noop_with_empty_axes"]?.intValue ?? 0) != 0
    guard let dims = x.dims, let axes = axesOperandOrAttribute(ctx) else {
      return [TensorType(unrankedOf: x.element)]
    }
    if axes.isEmpty && noopEmpty { return [x] }
    var reduced = Set<Int>()
    for a in axes { reduced.insert(try TypeRules.axis(a, rank: dims.count)) }
    if axes.isEmpty { reduced = Set(0..<dims.count) }
    var out: [Dim] = []
    for (i, d) in dims.enumerated() {
      if reduced.contains(i) {
        if keep { out.append(.fixed(1)) }
      } else {
        out.append(d)
      }
    }
    return [TensorType(out, x.element)]
  }

  static func argMax(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard let dims = x.dims else { return [TensorType(unrankedOf: .i64)] }
    let axis = try TypeRules.axis(ctx.attributes["axis"]?.intValue ?? 0, rank: dims.count)
    let keep = (ctx.attributes["keepdims"]?.intValue ?? 1) != 0
    var out = dims
    if keep { out[axis] = .fixed(1) } else { out.remove(at: axis) }
    return [TensorType(out, .i64)]
  }
}
