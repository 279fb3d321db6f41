/// Type rules of the `dq.*` ops.
enum DQShapes {
  static func linear(_ ctx: TypeRuleContext, weightElement: ElementType?) throws(TypeRuleError)
    -> [TensorType?]
  {
    let x = try TypeRules.required(ctx, 0)
    let w = try TypeRules.required(ctx, 1)
    try TypeRules.requireFloat(x, operand: 0)
    if weightElement == nil { _ = try TypeRules.sameElement(ctx, [0, 1, 2]) }
    guard let wd = w.dims else { return [TensorType(unrankedOf: x.element)] }
    guard wd.count == 2 else {
      throw TypeRuleError("weight must be 2-D [N, K], has rank \(wd.count)")
    }
    if let b = ctx.operand(2)?.dims {
      guard b.count == 1 else { throw TypeRuleError("bias must be 1-D [N], has rank \(b.count)") }
      if let n = wd[0].value, let m = b[0].value, n != m {
        throw TypeRuleError("bias has \(m) elements, weight has \(n) output features")
      }
    }
    guard var xd = x.dims else { return [TensorType(unrankedOf: x.element)] }
    guard let k = xd.last else { throw TypeRuleError("input must have rank at least 1") }
    if let a = k.value, let b = wd[1].value, a != b {
      throw TypeRuleError("input has \(a) features, weight expects \(b)")
    }
    xd[xd.count - 1] = wd[0]
    return [TensorType(xd, x.element)]
  }

  static func qlinear(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let w = try TypeRules.required(ctx, 1)
    guard case .quantized(let q) = w.element else {
      throw TypeRuleError("operand 1 has element type \(w.element), expected a quantized type")
    }
    let scales = try TypeRules.required(ctx, 2)
    guard scales.element == .scalar(q.expressed) || scales.element.isFloat else {
      throw TypeRuleError("operand 2 (scales) has element type \(scales.element), expected float")
    }
    if let shape = w.staticShape, shape.count == 2 {
      let expected: [Int]
      switch q.granularity {
      case .perTensor: expected = [1, 1]
      case .perChannel(let axis):
        guard axis == 0 else {
          throw TypeRuleError("per-channel weights are quantized along axis 0")
        }
        expected = [shape[0], 1]
      case .perGroup(let axis, let size):
        guard axis == 1, shape[1] % size == 0 else {
          throw TypeRuleError(
            "groups of \(size) along axis \(axis) do not tile a [\(shape[0]), \(shape[1])] weight")
        }
        expected = [shape[0], shape[1] / size]
      }
      if let s = scales.staticShape, s != expected {
        throw TypeRuleError("scales have shape \(s), expected \(expected)")
      }
      if let zp = ctx.operand(3) {
        guard !q.isSymmetric else { throw TypeRuleError("a symmetric weight takes no zero points") }
        if let z = zp.staticShape, z != expected {
          throw TypeRuleError("zero points have shape \(z), expected \(expected)")
        }
      } else if !q.isSymmetric {
        throw TypeRuleError("an asymmetric weight needs zero points (operand 3)")
      }
    }
    var noBias = ctx
    noBias.operands = [ctx.operand(0), w, ctx.operand(4)]
    return try linear(noBias, weightElement: w.element)
  }

  static func embedding(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let ids = try TypeRules.required(ctx, 0)
    let table = try TypeRules.required(ctx, 1)
    try TypeRules.requireInteger(ids, operand: 0)
    guard let td = table.dims, let idd = ids.dims else {
      return [TensorType(unrankedOf: table.element)]
    }
    guard td.count == 2 else {
      throw TypeRuleError("table must be 2-D [V, D], has rank \(td.count)")
    }
    return [TensorType(idd + [td[1]], table.element)]
  }

  static func rmsNorm(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    let w = try TypeRules.required(ctx, 1)
    try TypeRules.requireFloat(x, operand: 0)
    _ = try TypeRules.sameElement(ctx, [0, 1])
    if let wd = w.dims {
      guard wd.count == 1 else { throw TypeRuleError("scale must be 1-D, has rank \(wd.count)") }
      if let n = wd[0].value, let d = x.dims?.last?.value, n != d {
        throw TypeRuleError("scale has \(n) elements, input has \(d) features")
      }
    }
    return [x]
  }

  static func rope(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    try TypeRules.requireFloat(x, operand: 0)
    if let dims = x.dims {
      guard dims.count == 4 else {
        throw TypeRuleError("input must be 4-D [B, H, T, Dh], has rank \(dims.count)")
      }
      if let d = dims[3].value, d % 2 != 0 {
        throw TypeRuleError("head dimension \(d) must be even")
      }
    }
    if let p = ctx.operand(1) { try TypeRules.requireInteger(p, operand: 1) }
    return [x]
  }

  static func attention(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let q = try TypeRules.required(ctx, 0)
    let k = try TypeRules.required(ctx, 1)
    let v = try TypeRules.required(ctx, 2)
    try TypeRules.requireFloat(q, operand: 0)
    _ = try TypeRules.sameElement(ctx, [0, 1, 2])
    guard let qd = q.dims, let kd = k.dims, let vd = v.dims else { return [q] }
    for (i, d) in [(0, qd), (1, kd), (2, vd)] where d.count != 4 {
      throw TypeRuleError("operand \(i) must be 4-D [B, H, T, Dh], has rank \(d.count)")
    }
    if let a = qd[3].value, let b = kd[3].value, a != b {
      throw TypeRuleError("query head dimension \(a) differs from key head dimension \(b)")
    }
    if let a = kd[2].value, let b = vd[2].value, a != b {
      throw TypeRuleError("key length \(a) differs from value length \(b)")
    }
    if let h = qd[1].value, let hk = kd[1].value, hk == 0 || h % hk != 0 {
      throw TypeRuleError("query heads \(h) are not a multiple of key/value heads \(hk)")
    }
    if let mask = ctx.operand(3)?.dims {
      _ = try TypeRules.broadcast([[qd[0], qd[1], qd[2], kd[2]], mask])
    }
    if let scales = ctx.operand(4) {
      guard scales.element.isFloat, scales.rank == 1 else {
        throw TypeRuleError("operand 4 (V scales) must be a 1-D float tensor [Hkv], is \(scales)")
      }
      if let n = scales.dims?.first?.value, let hk = kd[1].value, n != hk {
        throw TypeRuleError("V scales have \(n) entries for \(hk) key/value heads")
      }
    }
    return [TensorType([qd[0], qd[1], qd[2], vd[3]], q.element)]
  }

  static func quantize(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    try TypeRules.requireFloat(x, operand: 0)
    let scale = try TypeRules.required(ctx, 1)
    try TypeRules.requireFloat(scale, operand: 1)
    return [nil]
  }

  static func dequantize(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    let x = try TypeRules.required(ctx, 0)
    guard case .quantized(let q) = x.element else {
      throw TypeRuleError("operand 0 has element type \(x.element), expected a quantized type")
    }
    return [x.with(element: .scalar(q.expressed))]
  }
}
