import DQCIR
import Foundation

/// Quantized linear layers with exact integer semantics.
///
/// A weight element `q` in group `g` stands for `s[g] · (q − z[g])` (z = 0 for symmetric types).
/// With `act_bits = b`, each token's activations are quantized symmetrically,
/// `s_x = max|x| / (2^(b−1) − 1)`, `q_x = round_half_even(x / s_x)`, and the product is
/// `y[t, n] = s_x[t] · Σ_g s[n, g] · Σ_{k∈g} q_x[t, k] · (q[n, k] − z[n, g])`: the inner sums are
/// integers, computed exactly (f32 holds integers below 2^24, and chunks of at most 256 keep them
/// there); the outer sum is the runtime's qgemm arithmetic, in f32 over ascending groups with each
/// product and sum rounded, then times `s_x[t]`, then plus the bias.
public enum QuantizedOps {
  /// Where each weight element's scale lives: per group along K, per output channel, or one.
  static func layout(_ type: QuantizedType, n: Int, k: Int) -> (groups: Int, size: Int) {
    switch type.granularity {
    case .perGroup(_, let size): (k / size, size)
    case .perChannel: (1, k)
    case .perTensor: (1, k)
    }
  }

  /// `(q − z) · s` as f32, `[N, K]`: the float weight a quantized one stands for.
  public static func dequantize(_ w: Tensor, _ type: QuantizedType, scales: Tensor, zeros: Tensor?)
    -> [Float]
  {
    let (n, k) = (w.shape[0], w.shape[1])
    let (groups, size) = layout(type, n: n, k: k)
    let q = w.ints
    let s = scales.floats
    let z = zeros?.ints
    let perTensor = type.granularity == .perTensor
    var out = [Float](repeating: 0, count: n * k)
    for row in 0..<n {
      for col in 0..<k {
        let g = perTensor ? 0 : row * groups + col / size
        out[row * k + col] = Float(q[row * k + col] - (z?[g] ?? 0)) * s[g]
      }
    }
    return out
  }

  static func qlinear(
    _ x: Tensor, _ w: Tensor, scales: Tensor, zeros: Tensor?, bias: Tensor?, actBits: Int?
  ) throws(InterpreterError) -> Tensor {
    guard case .quantized(let type) = w.element, w.shape.count == 2, let k = x.shape.last,
      w.shape[1] == k
    else {
      throw InterpreterError("qlinear: input \(x.shape) and quantized weight \(w.type) do not fit")
    }
    let n = w.shape[0]
    let m = x.count / max(k, 1)
    let outShape = Array(x.shape.dropLast()) + [n]
    guard let bits = actBits else {
      let weights = Tensor(
        shape: [n, k], floats: dequantize(w, type, scales: scales, zeros: zeros))
      return try LinearAlgebra.linear(x, weights, bias)
    }
    guard (2...8).contains(bits) else {
      throw InterpreterError("act_bits must be 2 to 8, is \(bits)")
    }
    let qmax = Float((1 << (bits - 1)) - 1)
    let xv = x.floats
    var qx = [Float](repeating: 0, count: m * k)
    var sx = [Float](repeating: 0, count: m)
    for t in 0..<m {
      var amax: Float = 0
      for c in 0..<k { amax = max(amax, abs(xv[t * k + c])) }
      let scale = amax > 0 ? amax / qmax : 1
      sx[t] = scale
      for c in 0..<k {
        qx[t * k + c] = min(max((xv[t * k + c] / scale).rounded(.toNearestOrEven), -qmax), qmax)
      }
    }
    let (groups, size) = layout(type, n: n, k: k)
    let perTensor = type.granularity == .perTensor
    let q = w.ints
    let z = zeros?.ints
    let s = scales.floats
    // Chunks of at most 256 columns inside each group keep every integer partial sum exact in
    // f32; a group's sum of chunks is exact in float64.
    let chunk = min(size, 256)
    var groupSum = [Double](repeating: 0, count: m * n)
    var acc = [Float](repeating: 0, count: m * n)
    var a = [Float](repeating: 0, count: m * chunk)
    var b = [Float](repeating: 0, count: n * chunk)
    var p = [Float](repeating: 0, count: m * n)
    var start = 0
    while start < k {
      let g = start / size
      let end = min(k, (g + 1) * size, start + chunk)
      let width = end - start
      for t in 0..<m { for c in 0..<width { a[t * width + c] = qx[t * k + start + c] } }
      for row in 0..<n {
        let zero = z.map { $0[perTensor ? 0 : row * groups + g] } ?? 0
        for c in 0..<width { b[row * width + c] = Float(q[row * k + start + c] - zero) }
      }
      a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
          p.withUnsafeMutableBufferPointer { pp in
            LinearAlgebra.gemm(
              ap.baseAddress!, bp.baseAddress!, pp.baseAddress!, m: m, n: n, k: width, transB: true)
          }
        }
      }
      for i in 0..<(m * n) { groupSum[i] += Double(p[i]) }
      start = end
      guard end == k || end % size == 0 else { continue }
      // The group's end: acc += scale · Float(sum), a rounded product and a rounded sum in f32
      // (the runtime's qgemm; Float(sum) rounds the exact integer as its int32-to-float does).
      for row in 0..<n {
        let scale = s[perTensor ? 0 : row * groups + g]
        for t in 0..<m {
          let term = scale * Float(groupSum[t * n + row])
          acc[t * n + row] += term
          groupSum[t * n + row] = 0
        }
      }
    }
    let bv = bias?.floats
    var out = [Float](repeating: 0, count: m * n)
    for t in 0..<m {
      for row in 0..<n {
        let scaled = sx[t] * acc[t * n + row]
        out[t * n + row] = bv.map { scaled + $0[row] } ?? scaled
      }
    }
    return Rounding.make(outShape, x.element, floats: out)
  }
}
