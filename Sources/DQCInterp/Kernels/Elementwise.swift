import DQCIR
import Foundation

/// Elementwise ops with NumPy broadcasting.
enum Elementwise {
  static func broadcastShape(_ a: [Int], _ b: [Int]) throws(InterpreterError) -> [Int] {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for i in 0..<rank {
      if pa[i] == pb[i] || pb[i] == 1 {
        out.append(pa[i])
      } else if pa[i] == 1 {
        out.append(pb[i])
      } else {
        throw InterpreterError("shapes \(a) and \(b) do not broadcast")
      }
    }
    return out
  }

  /// Source indices of `shape` for every element of `out` (nil when no broadcasting is needed).
  static func sources(_ shape: [Int], out: [Int]) -> [Int]? {
    shape == out ? nil : TensorIndexing.broadcastSources(out: out, in: shape)
  }

  /// How an operand's elements line up with a broadcast result's, cheapest first.
  enum Alignment {
    /// Same shape: element i.
    case same
    /// Its shape is the result's trailing dimensions (leading 1s aside): element i % count.
    case suffix(Int)
    /// Its shape is the result's leading dimensions followed by 1s: element i / inner.
    case prefix(Int)
    /// Anything else: a precomputed source index per element.
    case general([Int])

    init(_ shape: [Int], out: [Int]) {
      let total = out.reduce(1, *)
      let count = shape.reduce(1, *)
      if shape == out {
        self = .same
        return
      }
      var trimmed = shape[...]
      while trimmed.first == 1 { trimmed = trimmed.dropFirst() }
      if count > 0, Array(trimmed) == Array(out.suffix(trimmed.count)) {
        self = .suffix(count)
        return
      }
      let padded = Array(repeating: 1, count: out.count - shape.count) + shape
      if let cut = padded.lastIndex(where: { $0 != 1 }).map({ $0 + 1 }) ?? Optional(0),
        padded[..<cut].elementsEqual(out[..<cut]), padded[cut...].allSatisfy({ $0 == 1 }), count > 0
      {
        self = .prefix(total / count)
        return
      }
      self = .general(TensorIndexing.broadcastSources(out: out, in: shape))
    }

    @inline(__always) func index(_ i: Int) -> Int {
      switch self {
      case .same: i
      case .suffix(let n): i % n
      case .prefix(let inner): i / inner
      case .general(let sources): sources[i]
      }
    }
  }

  static func floatBinary(
    _ a: Tensor, _ b: Tensor, element: ElementType, _ f: @Sendable (Float, Float) -> Float
  ) throws(InterpreterError) -> Tensor {
    let out = try broadcastShape(a.shape, b.shape)
    let x = a.floats
    let y = b.floats
    let n = out.reduce(1, *)
    var r = [Float](repeating: 0, count: n)
    let ia = Alignment(a.shape, out: out)
    let ib = Alignment(b.shape, out: out)
    r.withUnsafeMutableBufferPointer { rBuffer in
      x.withUnsafeBufferPointer { xBuffer in
        y.withUnsafeBufferPointer { yBuffer in
          nonisolated(unsafe) let (rp, xp, yp) = (rBuffer, xBuffer, yBuffer)
          Parallel.forEachChunk(n, grain: Parallel.elementGrain) { lower, upper in
            switch (ia, ib) {
            case (.same, .same):
              for i in lower..<upper { rp[i] = f(xp[i], yp[i]) }
            case (.same, .suffix(let m)):
              var j = lower % m
              for i in lower..<upper {
                rp[i] = f(xp[i], yp[j])
                j += 1
                if j == m { j = 0 }
              }
            case (.suffix(let m), .same):
              var j = lower % m
              for i in lower..<upper {
                rp[i] = f(xp[j], yp[i])
                j += 1
                if j == m { j = 0 }
              }
            case (.same, .prefix(let inner)):
              var i = lower
              while i < upper {
                let row = i / inner
                let end = Swift.min(upper, (row + 1) * inner)
                let c = yp[row]
                for e in i..<end { rp[e] = f(xp[e], c) }
                i = end
              }
            case (.prefix(let inner), .same):
              var i = lower
              while i < upper {
                let row = i / inner
                let end = Swift.min(upper, (row + 1) * inner)
                let c = xp[row]
                for e in i..<end { rp[e] = f(c, yp[e]) }
                i = end
              }
            default:
              for i in lower..<upper { rp[i] = f(xp[ia.index(i)], yp[ib.index(i)]) }
            }
          }
        }
      }
    }
    return Rounding.make(out, element, floats: r)
  }

  static func doubleBinary(_ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double)
    throws(InterpreterError)
    -> Tensor
  {
    let out = try broadcastShape(a.shape, b.shape)
    let x = a.doubles
    let y = b.doubles
    let ia = sources(a.shape, out: out)
    let ib = sources(b.shape, out: out)
    let r = (0..<out.reduce(1, *)).map { f(x[ia?[$0] ?? $0], y[ib?[$0] ?? $0]) }
    return Tensor(shape: out, element: .f64, storage: .double(r))
  }

  static func intBinary(
    _ a: Tensor, _ b: Tensor, element: ElementType,
    _ f: (Int64, Int64) throws(InterpreterError) -> Int64
  ) throws(InterpreterError) -> Tensor {
    let out = try broadcastShape(a.shape, b.shape)
    let x = a.ints
    let y = b.ints
    let ia = sources(a.shape, out: out)
    let ib = sources(b.shape, out: out)
    var r: [Int64] = []
    r.reserveCapacity(out.reduce(1, *))
    for i in 0..<out.reduce(1, *) { r.append(try f(x[ia?[i] ?? i], y[ib?[i] ?? i])) }
    return Rounding.make(out, element, ints: r)
  }

  /// Compares two tensors of one kind; the result is bool.
  static func compare(
    _ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Bool, ints g: (Int64, Int64) -> Bool
  )
    throws(InterpreterError) -> Tensor
  {
    if case .int = a.storage {
      return try intBinary(a, b, element: .bool) { x, y in g(x, y) ? 1 : 0 }
    }
    let out = try broadcastShape(a.shape, b.shape)
    let x = a.doubles
    let y = b.doubles
    let ia = sources(a.shape, out: out)
    let ib = sources(b.shape, out: out)
    return Tensor(
      shape: out, element: .bool,
      storage: .int((0..<out.reduce(1, *)).map { f(x[ia?[$0] ?? $0], y[ib?[$0] ?? $0]) ? 1 : 0 }))
  }

  /// Arithmetic by op kind for every representation.
  static func arithmetic(_ op: ONNXOp, _ a: Tensor, _ b: Tensor, attributes: AttributeDictionary)
    throws(InterpreterError) -> Tensor
  {
    switch a.storage {
    case .float:
      let f: @Sendable (Float, Float) -> Float
      switch op {
      case .add: f = (+)
      case .sub: f = (-)
      case .mul: f = (*)
      case .div: f = (/)
      case .pow:
        // x² is exactly x·x rounded once, as a correctly rounded powf gives it.
        if b.count == 1, b.floats[0] == 2 {
          f = { x, _ in x * x }
        } else {
          f = { Foundation.powf($0, $1) }
        }
      case .max: f = { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
      case .min: f = { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
      case .mod:
        let fmodMode = (attributes["fmod"]?.intValue ?? 0) != 0
        f = { x, y in
          let r = Foundation.fmodf(x, y)
          return fmodMode || r == 0 || (r < 0) == (y < 0) ? r : r + y
        }
      default: throw InterpreterError("\(op) is not arithmetic")
      }
      return try floatBinary(a, b, element: a.element, f)
    case .double:
      let f: (Double, Double) -> Double
      switch op {
      case .add: f = (+)
      case .sub: f = (-)
      case .mul: f = (*)
      case .div: f = (/)
      case .pow: f = { Foundation.pow($0, $1) }
      case .max: f = { Swift.max($0, $1) }
      case .min: f = { Swift.min($0, $1) }
      case .mod:
        let fmodMode = (attributes["fmod"]?.intValue ?? 0) != 0
        f = { x, y in
          let r = Foundation.fmod(x, y)
          return fmodMode || r == 0 || (r < 0) == (y < 0) ? r : r + y
        }
      default: throw InterpreterError("\(op) is not arithmetic")
      }
      return try doubleBinary(a, b, f)
    case .int:
      let fmodMode = (attributes["fmod"]?.intValue ?? 0) != 0
      if op == .pow, case .float = b.storage {
        return try floatBinary(Tensor(shape: a.shape, floats: a.floats), b, element: a.element) {
          Foundation.powf($0, $1)
        }
      }
      return try intBinary(a, b, element: a.element) {
        (x: Int64, y: Int64) throws(InterpreterError) -> Int64 in
        switch op {
        case .add: return x &+ y
        case .sub: return x &- y
        case .mul: return x &* y
        case .div:
          guard y != 0 else { throw InterpreterError("integer division by zero") }
          return x / y
        case .mod:
          guard y != 0 else { throw InterpreterError("integer modulo by zero") }
          let r = x % y
          return fmodMode || r == 0 || (r < 0) == (y < 0) ? r : r + y
        case .pow:
          var r: Int64 = 1
          if y > 0 { for _ in 0..<y { r = r &* x } }
          return r
        case .max: return Swift.max(x, y)
        case .min: return Swift.min(x, y)
        default: throw InterpreterError("\(op) is not arithmetic")
        }
      }
    }
  }

  /// Unary float math.
  static func unary(_ op: ONNXOp, _ a: Tensor) throws(InterpreterError) -> Tensor {
    if case .int(let v) = a.storage {
      switch op {
      case .neg: return Rounding.make(a.shape, a.element, ints: v.map { 0 &- $0 })
      case .abs: return Rounding.make(a.shape, a.element, ints: v.map { $0 < 0 ? 0 &- $0 : $0 })
      case .not: return Rounding.make(a.shape, a.element, ints: v.map { $0 == 0 ? 1 : 0 })
      case .relu: return Rounding.make(a.shape, a.element, ints: v.map { Swift.max($0, 0) })
      case .identity: return a
      default: throw InterpreterError("\(op) needs a float operand, has \(a.element)")
      }
    }
    if case .double(let v) = a.storage {
      let f = doubleFunction(op)
      guard let f else { throw InterpreterError("\(op) is not unary math") }
      return Tensor(shape: a.shape, element: .f64, storage: .double(v.map(f)))
    }
    let x = a.floats
    var r = [Float](repeating: 0, count: x.count)
    let f: @Sendable (Float) -> Float
    switch op {
    case .neg: f = { -$0 }
    case .sqrt: f = { $0.squareRoot() }
    case .reciprocal: f = { 1 / $0 }
    case .exp: f = { Foundation.expf($0) }
    case .log: f = { Foundation.logf($0) }
    case .abs: f = { Swift.abs($0) }
    case .erf: f = { Foundation.erff($0) }
    case .tanh: f = { Foundation.tanhf($0) }
    case .sigmoid:
      f = {
        $0 >= 0 ? 1 / (1 + Foundation.expf(-$0)) : Foundation.expf($0) / (1 + Foundation.expf($0))
      }
    case .relu: f = { $0 > 0 ? $0 : 0 }
    case .cos: f = { Foundation.cosf($0) }
    case .sin: f = { Foundation.sinf($0) }
    case .floor: f = { $0.rounded(.down) }
    case .ceil: f = { $0.rounded(.up) }
    case .softplus: f = { $0 > 20 ? $0 : Foundation.log1pf(Foundation.expf($0)) }
    case .identity: return a
    default: throw InterpreterError("\(op) is not unary math")
    }
    x.withUnsafeBufferPointer { xBuffer in
      r.withUnsafeMutableBufferPointer { rBuffer in
        nonisolated(unsafe) let (xp, rp) = (xBuffer, rBuffer)
        Parallel.forEachChunk(xp.count, grain: Parallel.elementGrain) { lower, upper in
          for i in lower..<upper { rp[i] = f(xp[i]) }
        }
      }
    }
    return Rounding.make(a.shape, a.element, floats: r)
  }

  static func doubleFunction(_ op: ONNXOp) -> ((Double) -> Double)? {
    switch op {
    case .neg: { -$0 }
    case .sqrt: { $0.squareRoot() }
    case .reciprocal: { 1 / $0 }
    case .exp: { Foundation.exp($0) }
    case .log: { Foundation.log($0) }
    case .abs: { Swift.abs($0) }
    case .erf: { Foundation.erf($0) }
    case .tanh: { Foundation.tanh($0) }
    case .sigmoid: { 1 / (1 + Foundation.exp(-$0)) }
    case .relu: { Swift.max($0, 0) }
    case .cos: { Foundation.cos($0) }
    case .sin: { Foundation.sin($0) }
    case .floor: { $0.rounded(.down) }
    case .ceil: { $0.rounded(.up) }
    case .softplus: { Foundation.log1p(Foundation.exp($0)) }
    case .identity: { $0 }
    default: nil
    }
  }

  /// ONNX Cast (round to nearest even for floats, truncation toward zero for float → int).
  static func cast(_ a: Tensor, to element: ElementType) throws(InterpreterError) -> Tensor {
    guard let target = element.scalar else { throw InterpreterError("cannot cast to \(element)") }
    if target == .f64 {
      return Tensor(shape: a.shape, element: element, storage: .double(a.doubles))
    }
    if target.isFloat {
      switch a.storage {
      case .double(let v): return Rounding.make(a.shape, element, floats: v.map { Float($0) })
      default: return Rounding.make(a.shape, element, floats: a.floats)
      }
    }
    if target == .bool {
      return Tensor(
        shape: a.shape, element: element, storage: .int(a.doubles.map { $0 != 0 ? 1 : 0 }))
    }
    switch a.storage {
    case .int(let v): return Rounding.make(a.shape, element, ints: v)
    default:
      return Rounding.make(
        a.shape, element,
        ints: a.doubles.map(Rounding.int64))
    }
  }

  /// ONNX Where.
  static func select(_ c: Tensor, _ a: Tensor, _ b: Tensor) throws(InterpreterError) -> Tensor {
    let out = try broadcastShape(try broadcastShape(c.shape, a.shape), b.shape)
    let n = out.reduce(1, *)
    let ic = sources(c.shape, out: out)
    let ia = sources(a.shape, out: out)
    let ib = sources(b.shape, out: out)
    let cond = c.ints
    switch (a.storage, b.storage) {
    case (.float(let x), .float(let y)):
      return Tensor(
        shape: out, element: a.element,
        storage: .float(
          (0..<n).map {
            cond[ic?[$0] ?? $0] != 0 ? x[ia?[$0] ?? $0] : y[ib?[$0] ?? $0]
          }))
    case (.double(let x), .double(let y)):
      return Tensor(
        shape: out, element: a.element,
        storage: .double(
          (0..<n).map {
            cond[ic?[$0] ?? $0] != 0 ? x[ia?[$0] ?? $0] : y[ib?[$0] ?? $0]
          }))
    default:
      let x = a.ints
      let y = b.ints
      return Tensor(
        shape: out, element: a.element,
        storage: .int(
          (0..<n).map {
            cond[ic?[$0] ?? $0] != 0 ? x[ia?[$0] ?? $0] : y[ib?[$0] ?? $0]
          }))
    }
  }
}
