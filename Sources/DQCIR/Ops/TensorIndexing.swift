/// Row-major index arithmetic shared by constant folding and the interpreter.
public enum TensorIndexing {
  /// Row-major strides of `shape`.
  public static func strides(_ shape: [Int]) -> [Int] {
    var strides = Array(repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[i] = s
      s *= shape[i]
    }
    return strides
  }

  /// For each flat index of `outShape`, the flat index of the broadcast source of `inShape`.
  public static func broadcastSources(out outShape: [Int], in inShape: [Int]) -> [Int] {
    let rank = outShape.count
    let padded = Array(repeating: 1, count: rank - inShape.count) + inShape
    let inStrides = strides(padded)
    let total = outShape.reduce(1, *)
    var result = [Int](repeating: 0, count: total)
    var index = [Int](repeating: 0, count: rank)
    for flat in 0..<total {
      var source = 0
      for d in 0..<rank where padded[d] != 1 { source += index[d] * inStrides[d] }
      result[flat] = source
      var d = rank - 1
      while d >= 0 {
        index[d] += 1
        if index[d] < outShape[d] { break }
        index[d] = 0
        d -= 1
      }
    }
    return result
  }

  /// For each flat index of the output of `Transpose(perm)` on `shape`, the source flat index.
  public static func transposeSources(shape: [Int], perm: [Int]) -> [Int] {
    let outShape = perm.map { shape[$0] }
    let inStrides = strides(shape)
    let total = shape.reduce(1, *)
    var result = [Int](repeating: 0, count: total)
    var index = [Int](repeating: 0, count: outShape.count)
    for flat in 0..<total {
      var source = 0
      for d in 0..<outShape.count { source += index[d] * inStrides[perm[d]] }
      result[flat] = source
      var d = outShape.count - 1
      while d >= 0 {
        index[d] += 1
        if index[d] < outShape[d] { break }
        index[d] = 0
        d -= 1
      }
    }
    return result
  }

  /// Visits every multi-index of `shape` in row-major order.
  public static func forEachIndex(_ shape: [Int], _ body: ([Int]) -> Void) {
    let total = shape.reduce(1, *)
    guard total > 0 else { return }
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<total {
      body(index)
      var d = shape.count - 1
      while d >= 0 {
        index[d] += 1
        if index[d] < shape[d] { break }
        index[d] = 0
        d -= 1
      }
    }
  }
}
