/// Index-range rules of ONNX ops, shared by type rules and constant folding.
public enum ONNXShapeRange {
  /// The `[start, end)` range of dimensions `Shape` returns for a tensor of `rank`, after
  /// clamping its `start` and `end` attributes.
  public static func range(rank: Int, attributes: AttributeDictionary) -> (Int, Int) {
    func norm(_ v: Int64) -> Int {
      let a = v < 0 ? Int(v) + rank : Int(v)
      return min(max(a, 0), rank)
    }
    let start = norm(attributes["start"]?.intValue ?? 0)
    let end = norm(attributes["end"]?.intValue ?? Int64(rank))
    return (start, end)
  }

  /// The number of elements ONNX `Slice` takes from a dimension of size `n`.
  public static func sliceLength(n: Int, start: Int64, end: Int64, step: Int64) -> Int {
    let n64 = Int64(n)
    func clamp(_ v: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { min(max(v, lo), hi) }
    var s = start < 0 ? start + n64 : start
    var e = end < 0 ? end + n64 : end
    if step > 0 {
      s = clamp(s, 0, n64)
      e = clamp(e, 0, n64)
      return e > s ? Int((e - s + step - 1) / step) : 0
    }
    s = clamp(s, 0, n64 - 1)
    e = clamp(e, -1, n64 - 1)
    return s > e ? Int((s - e + (-step) - 1) / (-step)) : 0
  }
}
