import DQCIR

/// Data-movement ops: every result element is some operand element.
enum ShapeOps {
  /// A tensor of `shape` whose element i is `t`'s element `sources[i]`.
  static func pick(_ t: Tensor, _ sources: [Int], shape: [Int]) -> Tensor {
    switch t.storage {
    case .float(let v):
      Tensor(shape: shape, element: t.element, storage: .float(sources.map { v[$0] }))
    case .double(let v):
      Tensor(shape: shape, element: t.element, storage: .double(sources.map { v[$0] }))
    case .int(let v): Tensor(shape: shape, element: t.element, storage: .int(sources.map { v[$0] }))
    }
  }

  static func reshaped(_ t: Tensor, _ shape: [Int]) -> Tensor {
    Tensor(shape: shape, element: t.element, storage: t.storage)
  }

  static func axis(_ value: Int64, rank: Int) throws(InterpreterError) -> Int {
    let a = value < 0 ? Int(value) + rank : Int(value)
    guard a >= 0, a < max(rank, 1) else {
      throw InterpreterError("axis \(value) is out of range for rank \(rank)")
    }
    return a
  }

  static func reshape(_ t: Tensor, _ target: [Int64], allowZero: Bool) throws(InterpreterError)
    -> Tensor
  {
    var shape: [Int] = []
    var infer: Int?
    for (i, v) in target.enumerated() {
      if v == -1 {
        infer = i
        shape.append(1)
      } else if v == 0 && !allowZero {
        guard i < t.shape.count else {
          throw InterpreterError("Reshape copies a dimension the input lacks")
        }
        shape.append(t.shape[i])
      } else {
        shape.append(Int(v))
      }
    }
    if let infer {
      let known = shape.reduce(1, *)
      guard known > 0, t.count % known == 0 else {
        throw InterpreterError("cannot reshape \(t.shape) into \(target)")
      }
      shape[infer] = t.count / known
    }
    guard shape.reduce(1, *) == t.count else {
      throw InterpreterError("cannot reshape \(t.shape) into \(target)")
    }
    return reshaped(t, shape)
  }

  static func transpose(_ t: Tensor, perm: [Int]) throws(InterpreterError) -> Tensor {
    guard perm.count == t.shape.count, Set(perm) == Set(0..<t.shape.count) else {
      throw InterpreterError("perm \(perm) does not fit rank \(t.shape.count)")
    }
    if perm == Array(0..<perm.count) { return t }
    let outShape = perm.map { t.shape[$0] }
    // Fast path for the attention layout swap [B, T, H, D] <-> [B, H, T, D] on floats.
    if case .float(let v) = t.storage, perm.count == 4, perm == [0, 2, 1, 3] {
      let (b, x, y, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
      var out = [Float](repeating: 0, count: v.count)
      v.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
          for bi in 0..<b {
            for yi in 0..<y {
              for xi in 0..<x {
                let s = ((bi * x + xi) * y + yi) * d
                let o = ((bi * y + yi) * x + xi) * d
                for di in 0..<d { dst[o + di] = src[s + di] }
              }
            }
          }
        }
      }
      return Tensor(shape: outShape, element: t.element, storage: .float(out))
    }
    return pick(t, TensorIndexing.transposeSources(shape: t.shape, perm: perm), shape: outShape)
  }

  static func concat(_ parts: [Tensor], axis value: Int64) throws(InterpreterError) -> Tensor {
    guard let first = parts.first else { throw InterpreterError("Concat of nothing") }
    let axis = try axis(value, rank: first.shape.count)
    let outer = first.shape[..<axis].reduce(1, *)
    var shape = first.shape
    shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
    switch first.storage {
    case .float:
      var out: [Float] = []
      out.reserveCapacity(shape.reduce(1, *))
      let values = parts.map { $0.floats }
      for o in 0..<outer {
        for (p, part) in parts.enumerated() {
          let inner = part.shape[axis...].reduce(1, *)
          out.append(contentsOf: values[p][(o * inner)..<((o + 1) * inner)])
        }
      }
      return Tensor(shape: shape, element: first.element, storage: .float(out))
    default:
      var out: [Int64] = []
      var outD: [Double] = []
      let isDouble = { if case .double = first.storage { return true } else { return false } }()
      for o in 0..<outer {
        for part in parts {
          let inner = part.shape[axis...].reduce(1, *)
          if isDouble {
            outD.append(contentsOf: part.doubles[(o * inner)..<((o + 1) * inner)])
          } else {
            out.append(contentsOf: part.ints[(o * inner)..<((o + 1) * inner)])
          }
        }
      }
      return Tensor(
        shape: shape, element: first.element, storage: isDouble ? .double(outD) : .int(out))
    }
  }

  static func slice(_ t: Tensor, starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?)
    throws(InterpreterError) -> Tensor
  {
    let axes = axes ?? (0..<Int64(starts.count)).map { $0 }
    let steps = steps ?? Array(repeating: 1, count: starts.count)
    var begin = Array(repeating: 0, count: t.shape.count)
    var step = Array(repeating: 1, count: t.shape.count)
    var outShape = t.shape
    for i in 0..<starts.count {
      let a = try axis(axes[i], rank: t.shape.count)
      guard steps[i] != 0 else { throw InterpreterError("Slice step is 0") }
      let n = Int64(t.shape[a])
      var s = starts[i] < 0 ? starts[i] + n : starts[i]
      s = steps[i] > 0 ? min(max(s, 0), n) : min(max(s, 0), n - 1)
      begin[a] = Int(s)
      step[a] = Int(steps[i])
      outShape[a] = ONNXShapeRange.sliceLength(
        n: t.shape[a], start: starts[i], end: ends[i], step: steps[i])
    }
    let strides = TensorIndexing.strides(t.shape)
    if let copied = sliceByRuns(t, begin: begin, step: step, outShape: outShape, strides: strides) {
      return copied
    }
    var sources: [Int] = []
    sources.reserveCapacity(outShape.reduce(1, *))
    TensorIndexing.forEachIndex(outShape) { index in
      var flat = 0
      for d in 0..<index.count { flat += (begin[d] + index[d] * step[d]) * strides[d] }
      sources.append(flat)
    }
    return pick(t, sources, shape: outShape)
  }

  /// A unit-step slice of float values copied as contiguous runs (nil when another path is
  /// needed): everything after the last sliced axis is whole, so each run is one memory copy.
  static func sliceByRuns(
    _ t: Tensor, begin: [Int], step: [Int], outShape: [Int], strides: [Int]
  ) -> Tensor? {
    guard case .float(let values) = t.storage, step.allSatisfy({ $0 == 1 }) else { return nil }
    let count = outShape.reduce(1, *)
    guard count > 0 else { return nil }
    let last = (0..<outShape.count).last(where: { outShape[$0] != t.shape[$0] }) ?? 0
    let run = outShape[last...].reduce(1, *)
    let outer = Array(outShape[..<last])
    var out = [Float](repeating: 0, count: count)
    values.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { target in
        var position = 0
        TensorIndexing.forEachIndex(outer) { index in
          var flat = begin[last] * strides[last]
          for d in 0..<index.count { flat += (begin[d] + index[d]) * strides[d] }
          (target.baseAddress! + position).update(from: source.baseAddress! + flat, count: run)
          position += run
        }
      }
    }
    return Tensor(shape: outShape, element: t.element, storage: .float(out))
  }

  static func gather(_ data: Tensor, _ indices: Tensor, axis value: Int64) throws(InterpreterError)
    -> Tensor
  {
    let axis = try axis(value, rank: data.shape.count)
    let outer = data.shape[..<axis].reduce(1, *)
    let inner = data.shape[(axis + 1)...].reduce(1, *)
    let n = data.shape[axis]
    var sources: [Int] = []
    let idx = indices.ints
    sources.reserveCapacity(outer * idx.count * inner)
    for o in 0..<outer {
      for i in idx {
        let k = i < 0 ? Int(i) + n : Int(i)
        guard k >= 0, k < n else {
          throw InterpreterError("Gather index \(i) is out of range for size \(n)")
        }
        let base = (o * n + k) * inner
        for j in 0..<inner { sources.append(base + j) }
      }
    }
    return pick(
      data, sources,
      shape: Array(data.shape[..<axis]) + indices.shape + Array(data.shape[(axis + 1)...]))
  }

  static func expand(_ t: Tensor, _ target: [Int64]) throws(InterpreterError) -> Tensor {
    let out = try Elementwise.broadcastShape(t.shape, target.map { Int($0) })
    return out == t.shape
      ? t : pick(t, TensorIndexing.broadcastSources(out: out, in: t.shape), shape: out)
  }

  static func split(_ t: Tensor, axis value: Int64, sizes: [Int64]?, count: Int)
    throws(InterpreterError) -> [Tensor]
  {
    let axis = try axis(value, rank: t.shape.count)
    let n = t.shape[axis]
    var lengths: [Int]
    if let sizes {
      lengths = sizes.map { Int($0) }
    } else {
      let chunk = (n + count - 1) / count
      lengths = (0..<count).map { min(chunk, max(0, n - chunk * $0)) }
    }
    guard lengths.reduce(0, +) == n else {
      throw InterpreterError("Split sizes \(lengths) do not add up to \(n)")
    }
    var results: [Tensor] = []
    var start: Int64 = 0
    for l in lengths {
      results.append(
        try slice(t, starts: [start], ends: [start + Int64(l)], axes: [Int64(axis)], steps: nil))
      start += Int64(l)
    }
    return results
  }

  static func trilu(_ t: Tensor, k: Int64, upper: Bool) -> Tensor {
    let rows = t.shape[t.shape.count - 2]
    let cols = t.shape[t.shape.count - 1]
    var keep = [Bool](repeating: false, count: rows * cols)
    for i in 0..<rows {
      for j in 0..<cols {
        keep[i * cols + j] = upper ? Int64(j - i) >= k : Int64(j - i) <= k
      }
    }
    let per = rows * cols
    switch t.storage {
    case .float(let v):
      return Tensor(
        shape: t.shape, element: t.element,
        storage: .float(v.enumerated().map { keep[$0.offset % per] ? $0.element : 0 }))
    case .double(let v):
      return Tensor(
        shape: t.shape, element: t.element,
        storage: .double(v.enumerated().map { keep[$0.offset % per] ? $0.element : 0 }))
    case .int(let v):
      return Tensor(
        shape: t.shape, element: t.element,
        storage: .int(v.enumerated().map { keep[$0.offset % per] ? $0.element : 0 }))
    }
  }

  static func range(_ start: Tensor, _ limit: Tensor, _ delta: Tensor) throws(InterpreterError)
    -> Tensor
  {
    switch start.storage {
    case .int:
      let (s, l, d) = (start.ints[0], limit.ints[0], delta.ints[0])
      guard d != 0 else { throw InterpreterError("Range delta is 0") }
      let n = max(Int((Double(l - s) / Double(d)).rounded(.up)), 0)
      return Tensor(
        shape: [n], element: start.element, storage: .int((0..<n).map { s + Int64($0) * d }))
    default:
      let (s, l, d) = (start.doubles[0], limit.doubles[0], delta.doubles[0])
      guard d != 0 else { throw InterpreterError("Range delta is 0") }
      let n = max(Int(((l - s) / d).rounded(.up)), 0)
      if case .double = start.storage {
        return Tensor(
          shape: [n], element: start.element, storage: .double((0..<n).map { s + Double($0) * d }))
      }
      // ONNX Range accumulates in the input type: start + i * delta in f32.
      let fs = Float(s)
      let fd = Float(d)
      return Rounding.make([n], start.element, floats: (0..<n).map { fs + Float($0) * fd })
    }
  }
}
