import DQCIR
import Foundation

/// Reductions, softmax and normalisations; sums accumulate in `Double`.
enum Reductions {
  /// Splits `shape` around the reduced axes into (outer, reduced, inner) loops when the reduced
  /// axes are contiguous; otherwise returns nil.
  static func contiguous(_ shape: [Int], _ axes: [Int]) -> (outer: Int, reduced: Int, inner: Int)? {
    let sorted = axes.sorted()
    guard let first = sorted.first, let last = sorted.last, last - first + 1 == sorted.count else {
      return nil
    }
    return (
      shape[..<first].reduce(1, *), shape[first...last].reduce(1, *),
      shape[(last + 1)...].reduce(1, *)
    )
  }

  enum Kind { case sum, mean, max }

  static func reduce(
    _ t: Tensor, axes rawAxes: [Int64]?, keepDims: Bool, noopWithEmpty: Bool, kind: Kind
  )
    throws(InterpreterError) -> Tensor
  {
    let rank = t.shape.count
    var axes: [Int] = []
    if let rawAxes, !rawAxes.isEmpty {
      for a in rawAxes { axes.append(try ShapeOps.axis(a, rank: rank)) }
    } else {
      if noopWithEmpty { return t }
      axes = Array(0..<rank)
    }
    let axisSet = Set(axes)
    var outShape: [Int] = []
    for (i, d) in t.shape.enumerated() {
      if axisSet.contains(i) { if keepDims { outShape.append(1) } } else { outShape.append(d) }
    }
    let values = t.doubles
    var result: [Double]
    if let (outer, reduced, inner) = contiguous(t.shape, axes) {
      result = [Double](repeating: kind == .max ? -.infinity : 0, count: outer * inner)
      values.withUnsafeBufferPointer { v in
        for o in 0..<outer {
          for r in 0..<reduced {
            let base = (o * reduced + r) * inner
            for i in 0..<inner {
              let x = v[base + i]
              if kind == .max {
                result[o * inner + i] = Swift.max(result[o * inner + i], x)
              } else {
                result[o * inner + i] += x
              }
            }
          }
        }
      }
    } else {
      let keptShape = t.shape.enumerated().map { axisSet.contains($0.offset) ? 1 : $0.element }
      let strides = TensorIndexing.strides(keptShape)
      result = [Double](repeating: kind == .max ? -.infinity : 0, count: keptShape.reduce(1, *))
      var flat = 0
      TensorIndexing.forEachIndex(t.shape) { index in
        var o = 0
        for d in 0..<index.count where !axisSet.contains(d) { o += index[d] * strides[d] }
        if kind == .max {
          result[o] = Swift.max(result[o], values[flat])
        } else {
          result[o] += values[flat]
        }
        flat += 1
      }
    }
    if kind == .mean {
      let n = Double(axes.reduce(1) { $0 * t.shape[$1] })
      result = result.map { $0 / n }
    }
    switch t.storage {
    case .float: return Rounding.make(outShape, t.element, floats: result.map { Float($0) })
    case .double: return Tensor(shape: outShape, element: t.element, storage: .double(result))
    case .int:
      // An empty max is the type's minimum (false for bool), as ONNX specifies.
      let lowest =
        t.element.storageType == .bool ? 0 : t.element.storageType.integerRange?.lowerBound ?? .min
      return Rounding.make(
        outShape, t.element, ints: result.map { $0 == -.infinity ? lowest : Rounding.int64($0) })
    }
  }

  static func argMax(_ t: Tensor, axis value: Int64, keepDims: Bool, selectLast: Bool)
    throws(InterpreterError) -> Tensor
  {
    let axis = try ShapeOps.axis(value, rank: t.shape.count)
    let outer = t.shape[..<axis].reduce(1, *)
    let n = t.shape[axis]
    let inner = t.shape[(axis + 1)...].reduce(1, *)
    let v = t.doubles
    var out = [Int64](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var best = -Double.infinity
        var at = 0
        for k in 0..<n {
          let x = v[(o * n + k) * inner + i]
          if x > best || (selectLast && x == best) || (k == 0) {
            best = x
            at = k
          }
        }
        out[o * inner + i] = Int64(at)
      }
    }
    var shape = t.shape
    if keepDims { shape[axis] = 1 } else { shape.remove(at: axis) }
    return Tensor(shape: shape, ints: out)
  }

  /// Softmax along `axis` (max-subtracted, sum in Double).
  static func softmax(_ t: Tensor, axis value: Int64) throws(InterpreterError) -> Tensor {
    let axis = try ShapeOps.axis(value, rank: t.shape.count)
    let outer = t.shape[..<axis].reduce(1, *)
    let n = t.shape[axis]
    let inner = t.shape[(axis + 1)...].reduce(1, *)
    var v = t.floats
    v.withUnsafeMutableBufferPointer { buffer in
      nonisolated(unsafe) let p = buffer
      Parallel.forEachChunk(outer, grain: max(1, Parallel.elementGrain / max(n * inner, 1))) {
        lower, upper in
        for o in lower..<upper {
          if inner == 1 {
            softmaxRow(p.baseAddress! + o * n, count: n)
            continue
          }
          for i in 0..<inner {
            let base = o * n * inner + i
            var m = -Float.infinity
            for k in 0..<n { m = Swift.max(m, p[base + k * inner]) }
            var sum = 0.0
            for k in 0..<n {
              let e = Foundation.expf(p[base + k * inner] - m)
              p[base + k * inner] = e
              sum += Double(e)
            }
            let inv = Float(1 / sum)
            for k in 0..<n { p[base + k * inner] *= inv }
          }
        }
      }
    }
    return Rounding.make(t.shape, t.element, floats: v)
  }

  /// Softmax of `count` contiguous values in place, with a float64 sum (ONNX Softmax: a row
  /// whose values are all −∞ becomes NaN).
  static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for i in 0..<count { m = Swift.max(m, row[i]) }
    var sum = 0.0
    for i in 0..<count {
      let e = Foundation.expf(row[i] - m)
      row[i] = e
      sum += Double(e)
    }
    let inv = Float(1 / sum)
    for i in 0..<count { row[i] *= inv }
  }

  /// Normalises over the axes from `axis` to the end: LayerNormalization (mean and variance) or
  /// RMSNormalization (mean square), scaled (and shifted).
  ///
  /// Sums are float64; RMS's sum of squares in the runtime's lane order, so that `dq.rms_norm`
  /// gives the runtime's bits: `y = Float(x · inv) · w`, `inv = 1 / sqrt(Σx² / n + eps)`.
  ///
  /// Also returns the mean (zero for RMS) and the inverse standard deviation, each of the input's
  /// shape with the normalised axes set to 1 (ONNX's optional outputs, in f32).
  static func normalize(
    _ x: Tensor, scale: Tensor, bias: Tensor?, axis value: Int64, epsilon: Double, rms: Bool
  )
    throws(InterpreterError) -> (y: Tensor, mean: Tensor, inverse: Tensor)
  {
    let axis = try ShapeOps.axis(value, rank: x.shape.count)
    let rows = x.shape[..<axis].reduce(1, *)
    let n = x.shape[axis...].reduce(1, *)
    let inShape = Array(x.shape[axis...])
    let sIdx = TensorIndexing.broadcastSources(out: inShape, in: scale.shape)
    let s = scale.floats
    let bIdx = bias.map { TensorIndexing.broadcastSources(out: inShape, in: $0.shape) }
    let b = bias?.floats
    var v = x.floats
    var means = [Float](repeating: 0, count: rows)
    var inverses = [Float](repeating: 0, count: rows)
    v.withUnsafeMutableBufferPointer { vp in
      means.withUnsafeMutableBufferPointer { mp in
        inverses.withUnsafeMutableBufferPointer { ip in
          nonisolated(unsafe) let (p, meanOut, inverseOut) = (vp, mp, ip)
          Parallel.forEachChunk(rows, grain: max(1, Parallel.elementGrain / max(n, 1))) {
            lower, upper in
            for r in lower..<upper {
              let base = r * n
              var mean = 0.0
              if !rms {
                for k in 0..<n { mean += Double(p[base + k]) }
                mean /= Double(n)
              }
              var sq = 0.0
              if rms {
                // The runtime's order (`KernelArithmetic.laneSum`); the squares are exact.
                sq = KernelArithmetic.laneSum(n) { k in Double(p[base + k]) * Double(p[base + k]) }
              } else {
                for k in 0..<n {
                  let d = Double(p[base + k]) - mean
                  sq += d * d
                }
              }
              let inv = 1 / (sq / Double(n) + epsilon).squareRoot()
              meanOut[r] = Float(mean)
              inverseOut[r] = Float(inv)
              for k in 0..<n {
                var y = Float((Double(p[base + k]) - mean) * inv) * s[sIdx[k]]
                if let b, let bIdx { y += b[bIdx[k]] }
                p[base + k] = y
              }
            }
          }
        }
      }
    }
    let statShape = Array(x.shape[..<axis]) + Array(repeating: 1, count: x.shape.count - axis)
    return (
      Rounding.make(x.shape, x.element, floats: v), Tensor(shape: statShape, floats: means),
      Tensor(shape: statShape, floats: inverses)
    )
  }
}
