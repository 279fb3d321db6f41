import DQCIR

/// Rotate-half RoPE as exporters spell it in ONNX:
/// `x · cos + concat(−x[..., h:], x[..., :h]) · sin` with constant `cos`/`sin` tables (after
/// shape specialisation folds the position arithmetic), `h = Dh / 2`.
struct RopeMatch {
  /// The rotated value.
  var input: String
  /// The tables, `[S, Dh]` row-major.
  var cos: [Float]
  var sin: [Float]
  /// The instructions the pattern replaces (besides the final `Add`), by result name.
  var absorbed: [String]
}

enum RopePattern {
  /// Matches the pattern ending at `add`, whose operands are `Mul`s.
  static func match(
    _ add: Instruction, producers: [String: Instruction], constants: ConstantValues,
    uses: [String: Int], headDim: (String) -> Int?
  ) -> RopeMatch? {
    guard add.op == .onnx(.add), add.operands.count == 2, let a = add.operands[0],
      let b = add.operands[1]
    else { return nil }
    for (direct, rotated) in [(a, b), (b, a)] {
      if let m = match(direct: direct, rotated: rotated, producers, constants, uses, headDim) {
        return m
      }
    }
    return nil
  }

  private static func match(
    direct: String, rotated: String, _ producers: [String: Instruction],
    _ constants: ConstantValues, _ uses: [String: Int], _ headDim: (String) -> Int?
  ) -> RopeMatch? {
    guard let mulCos = producers[direct], mulCos.op == .onnx(.mul),
      let mulSin = producers[rotated], mulSin.op == .onnx(.mul)
    else { return nil }
    // x · cos, either order.
    guard let (x, cosName) = constantSplit(mulCos, constants), let dh = headDim(x) else {
      return nil
    }
    guard let (concatName, sinName) = constantSplit(mulSin, constants),
      let concat = producers[concatName], concat.op == .onnx(.concat), concat.operands.count == 2,
      lastAxis(concat.attributes["axis"]?.intValue),
      let negName = concat.operands[0], let firstHalfName = concat.operands[1],
      let neg = producers[negName], neg.op == .onnx(.neg), let secondHalfName = neg.operands[0],
      let firstHalf = producers[firstHalfName], let secondHalf = producers[secondHalfName],
      isSlice(firstHalf, of: x, from: 0, to: dh / 2, constants),
      isSlice(secondHalf, of: x, from: dh / 2, to: dh, constants)
    else { return nil }
    guard let cos = table(constants[cosName], headDim: dh),
      let sin = table(constants[sinName], headDim: dh), cos.count == sin.count
    else { return nil }
    let absorbed = [direct, rotated, concatName, negName, firstHalfName, secondHalfName]
    // Every intermediate value must serve this pattern only.
    for name in absorbed where (uses[name] ?? 0) != 1 { return nil }
    return RopeMatch(input: x, cos: cos, sin: sin, absorbed: absorbed)
  }

  /// `(other, constant)` operands of a binary instruction with one constant operand.
  private static func constantSplit(_ inst: Instruction, _ constants: ConstantValues) -> (
    String, String
  )? {
    guard inst.operands.count == 2, let a = inst.operands[0], let b = inst.operands[1] else {
      return nil
    }
    if constants[b] != nil, constants[a] == nil { return (a, b) }
    if constants[a] != nil, constants[b] == nil { return (b, a) }
    return nil
  }

  private static func lastAxis(_ axis: Int64?) -> Bool { axis == -1 || axis == 3 }

  /// Whether `inst` is `Slice(x, [from], [to...], [last axis], [1])` (ends past Dh count as Dh).
  private static func isSlice(
    _ inst: Instruction, of x: String, from: Int, to: Int, _ constants: ConstantValues
  ) -> Bool {
    guard inst.op == .onnx(.slice), inst.operands.first == x, inst.operands.count >= 3,
      let starts = constants[inst.operands[1]]?.int64s,
      let ends = constants[inst.operands[2]]?.int64s,
      starts.count == 1, ends.count == 1
    else { return false }
    if inst.operands.count > 3, let axesName = inst.operands[3] {
      guard let axes = constants[axesName]?.int64s, axes.count == 1, lastAxis(axes[0]) else {
        return false
      }
    } else {
      return false
    }
    if inst.operands.count > 4, let stepsName = inst.operands[4] {
      guard constants[stepsName]?.int64s == [1] else { return false }
    }
    let end = ends[0] >= Int64(to) ? to : Int(ends[0])
    return starts[0] == Int64(from) && end == to
  }

  /// A constant broadcastable as `[1, 1, S, Dh]` flattened to `[S, Dh]`.
  private static func table(_ tensor: DenseTensor?, headDim: Int) -> [Float]? {
    guard let tensor, tensor.type.element.isFloat, let shape = tensor.type.staticShape,
      shape.last == headDim, shape.dropLast().dropLast().allSatisfy({ $0 == 1 })
    else { return nil }
    return tensor.doubles.map { Float($0) }
  }
}
