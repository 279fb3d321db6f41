/// Building blocks for type rules shared by the dialects.
public enum TypeRules {
  /// Broadcasts two dimensions (NumPy rules); throws when both are static, unequal and not 1.
  public static func broadcast(_ a: Dim, _ b: Dim) throws(TypeRuleError) -> Dim {
    switch (a, b) {
    case (.fixed(let x), .fixed(let y)):
      if x == y || y == 1 { return a }
      if x == 1 { return b }
      throw TypeRuleError("dimensions \(x) and \(y) do not broadcast")
    case (.fixed(1), _): return b
    case (_, .fixed(1)): return a
    case (.fixed, _): return a
    case (_, .fixed): return b
    case (.symbol(let x), .symbol(let y)) where x == y: return a
    default: return .dynamic
    }
  }

  /// The largest rank a shape operand may give a result (a 1-D shape tensor's length comes from
  /// the file; a result type of that rank is allocated).
  public static let maximumRank = 64

  /// `count` dynamic dimensions for a result whose rank is a shape operand's length, refusing
  /// more than `maximumRank`.
  public static func dynamicDims(count: Int) throws(TypeRuleError) -> [Dim] {
    guard count <= maximumRank else {
      throw TypeRuleError("a shape of \(count) entries gives a rank over \(maximumRank)")
    }
    return Array(repeating: .dynamic, count: count)
  }

  /// The product of sizes, or nil if it overflows `Int`.
  public static func product(_ sizes: [Int]) -> Int? {
    var p = 1
    for n in sizes {
      let (q, overflow) = p.multipliedReportingOverflow(by: n)
      guard !overflow else { return nil }
      p = q
    }
    return p
  }

  /// Broadcasts shapes multidirectionally (NumPy rules); `nil` if any rank is unknown.
  public static func broadcast(_ shapes: [[Dim]?]) throws(TypeRuleError) -> [Dim]? {
    var result: [Dim] = []
    for case let shape? in shapes.map({ $0 }) {
      let rank = max(result.count, shape.count)
      let a = Array(repeating: Dim.fixed(1), count: rank - result.count) + result
      let b = Array(repeating: Dim.fixed(1), count: rank - shape.count) + shape
      var merged: [Dim] = []
      for i in 0..<rank { merged.append(try broadcast(a[i], b[i])) }
      result = merged
    }
    return shapes.contains { $0 == nil } ? nil : result
  }

  /// Requires operand `index` to be present and returns its type.
  public static func required(_ ctx: TypeRuleContext, _ index: Int) throws(TypeRuleError)
    -> TensorType
  {
    guard let t = ctx.operand(index) else { throw TypeRuleError("operand \(index) is required") }
    return t
  }

  /// Requires operands to share one element type and returns it.
  public static func sameElement(_ ctx: TypeRuleContext, _ indices: [Int])
    throws(TypeRuleError) -> ElementType
  {
    var element: ElementType?
    for i in indices {
      guard let t = ctx.operand(i) else { continue }
      if let e = element, e != t.element {
        throw TypeRuleError(
          "operand \(i) has element type \(t.element), expected \(e) like operand \(indices[0])")
      }
      element = element ?? t.element
    }
    guard let element else { throw TypeRuleError("no operand to take the element type from") }
    return element
  }

  /// Requires `type`'s element to be a floating-point scalar.
  public static func requireFloat(_ type: TensorType, operand index: Int) throws(TypeRuleError) {
    guard type.element.isFloat else {
      throw TypeRuleError(
        "operand \(index) has element type \(type.element), expected a float type")
    }
  }

  /// Requires `type`'s element to be an integer scalar.
  public static func requireInteger(_ type: TensorType, operand index: Int) throws(TypeRuleError) {
    guard type.element.scalar?.isInteger == true else {
      throw TypeRuleError(
        "operand \(index) has element type \(type.element), expected an integer type")
    }
  }

  /// Normalises a possibly negative axis against `rank`.
  public static func axis(_ value: Int64, rank: Int) throws(TypeRuleError) -> Int {
    let a = value < 0 ? Int(value) + rank : Int(value)
    guard a >= 0, a < max(rank, 1) || (rank == 0 && a == 0) else {
      throw TypeRuleError("axis \(value) is out of range for rank \(rank)")
    }
    return a
  }

  /// The rule of an elementwise op over broadcast operands, with the result element given
  /// (or taken from the operands, which must then agree).
  public static func elementwise(
    _ ctx: TypeRuleContext, operands: [Int], result: ElementType? = nil
  ) throws(TypeRuleError) -> [TensorType?] {
    let element: ElementType
    if let result { element = result } else { element = try sameElement(ctx, operands) }
    let shapes = operands.map { ctx.operand($0)?.dims }
    guard let dims = try broadcast(shapes) else { return [TensorType(unrankedOf: element)] }
    return [TensorType(dims, element)]
  }

  /// The rule of an op whose single result has its first operand's type.
  public static func sameAsFirst(_ ctx: TypeRuleContext) throws(TypeRuleError) -> [TensorType?] {
    [try required(ctx, 0)]
  }

  /// A shape given as constant integers (ONNX Reshape / Expand convention), as dims.
  public static func dims(fromConstant values: [Int64]) -> [Dim] {
    values.map { $0 >= 0 ? Dim.fixed(Int($0)) : Dim.dynamic }
  }

  /// An i64 vector of `count` elements (or unknown length).
  public static func int64Vector(_ count: Int?) -> TensorType {
    TensorType([count.map { Dim.fixed($0) } ?? .dynamic], .i64)
  }
}
