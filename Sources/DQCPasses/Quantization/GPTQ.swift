import CBLAS
import DQCIR

/// GPTQ (Frantar et al.): column-by-column quantization of a weight `W [N, K]` with error
/// feedback through the inverse Hessian of the layer's inputs, in float64.
///
/// Conventions follow the reference implementation (`gptq.py`, `fasterquant`): dead inputs
/// (`H[i, i] = 0`) get `H[i, i] = 1` and zero weights; optional act-order permutes columns by
/// decreasing `diag(H)`; damping adds `damp · mean(diag(H))` to the diagonal; `U` is the upper
/// Cholesky factor of `H⁻¹`; columns are processed in blocks of `blockSize` with the error of
/// each column spread over the rest of its block, and the block's error applied lazily to the
/// columns after it; group parameters are computed when a group starts, from the weights with
/// the earlier blocks' updates; per-channel parameters from the weights as given.
public struct GPTQ: Sendable {
  /// The quantizer (bits, group size, symmetry).
  public var quantizer: WeightQuantizer
  /// Damping as a fraction of the mean diagonal.
  public var damp: Double
  /// Columns per lazy-update block.
  public var blockSize: Int
  /// Process columns in order of decreasing Hessian diagonal.
  public var actOrder: Bool

  /// Creates the algorithm's settings.
  public init(
    quantizer: WeightQuantizer, damp: Double = 0.01, blockSize: Int = 128, actOrder: Bool = false
  ) {
    self.quantizer = quantizer
    self.damp = damp
    self.blockSize = blockSize
    self.actOrder = actOrder
  }

  /// The result: dequantized weights and codes in the original column order, and the group
  /// parameters `[N, groups]` in processing order.
  public struct Result: Sendable {
    /// `scale · (code − zero)`, `[N, K]`.
    public var dequantized: [Double]
    /// Codes in `[0, maxq]` (not shifted for symmetric types).
    public var codes: [Int64]
    /// Scales `[N, groups]`.
    public var scales: [Double]
    /// Zero points `[N, groups]`.
    public var zeros: [Double]
  }

  /// Why GPTQ cannot run.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var description: String
  }

  /// Quantizes `w` (row-major `[rows, columns]`) given `hessian` (row-major `[columns, columns]`).
  public func quantize(_ w: [Double], rows n: Int, columns k: Int, hessian: [Double])
    throws(Failure) -> Result
  {
    let group = quantizer.groupSize > 0 && quantizer.groupSize < k ? quantizer.groupSize : k
    let grouped = group < k
    let groups = k / group
    var scale = [Double](repeating: 0, count: n)
    var zero = [Double](repeating: 0, count: n)
    var scales = [Double](repeating: 0, count: n * groups)
    var zeros = [Double](repeating: 0, count: n * groups)
    if !grouped {
      // Per-channel parameters come from the weight as given, before dead columns are zeroed.
      for r in 0..<n {
        (scale[r], zero[r]) = quantizer.parameters(w[(r * k)..<((r + 1) * k)])
        scales[r] = scale[r]
        zeros[r] = zero[r]
      }
    }
    var work = w
    var hess = hessian
    for i in 0..<k where hess[i * k + i] == 0 {
      hess[i * k + i] = 1
      for r in 0..<n { work[r * k + i] = 0 }
    }
    var perm = Array(0..<k)
    if actOrder {
      perm.sort {
        hess[$0 * k + $0] > hess[$1 * k + $1] || (hess[$0 * k + $0] == hess[$1 * k + $1] && $0 < $1)
      }
      work = (0..<n).flatMap { r in perm.map { work[r * k + $0] } }
      hess = perm.flatMap { i in perm.map { hess[i * k + $0] } }
    }
    let mean = (0..<k).reduce(0) { $0 + hess[$1 * k + $1] } / Double(k)
    for i in 0..<k { hess[i * k + i] += damp * mean }
    let factor = try Self.upperCholeskyOfInverse(hess, k)

    var dequantized = [Double](repeating: 0, count: n * k)
    var codes = [Int64](repeating: 0, count: n * k)
    var i1 = 0
    while i1 < k {
      let i2 = min(i1 + blockSize, k)
      let count = i2 - i1
      // The block works on its own copy; group parameters read the global work, which has the
      // updates of earlier blocks but not those made inside this one (as gptq.py does).
      var block = [Double](repeating: 0, count: n * count)
      for r in 0..<n { for i in 0..<count { block[r * count + i] = work[r * k + i1 + i] } }
      var err = [Double](repeating: 0, count: n * count)
      for i in 0..<count {
        let col = i1 + i
        if grouped && col % group == 0 {
          for r in 0..<n {
            let start = r * k + col
            (scale[r], zero[r]) = quantizer.parameters(work[start..<(start + group)])
            scales[r * groups + col / group] = scale[r]
            zeros[r * groups + col / group] = zero[r]
          }
        }
        let d = factor[col * k + col]
        for r in 0..<n {
          let wv = block[r * count + i]
          let code = quantizer.quantize(wv, scale: scale[r], zero: zero[r])
          let q = scale[r] * (code - zero[r])
          codes[r * k + col] = Int64(code)
          dequantized[r * k + col] = q
          let e = (wv - q) / d
          err[r * count + i] = e
          for j in (i + 1)..<count { block[r * count + j] -= e * factor[col * k + i1 + j] }
        }
      }
      if i2 < k {
        // work[:, i2:] -= Err · factor[i1:i2, i2:]
        err.withUnsafeBufferPointer { ep in
          factor.withUnsafeBufferPointer { up in
            work.withUnsafeMutableBufferPointer { wp in
              cblas_dgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(k - i2), Int32(count),
                -1,
                ep.baseAddress!, Int32(count), up.baseAddress! + i1 * k + i2, Int32(k), 1,
                wp.baseAddress! + i2, Int32(k))
            }
          }
        }
      }
      i1 = i2
    }
    if actOrder {
      var inverse = [Int](repeating: 0, count: k)
      for (position, column) in perm.enumerated() { inverse[column] = position }
      dequantized = (0..<n).flatMap { r in (0..<k).map { dequantized[r * k + inverse[$0]] } }
      codes = (0..<n).flatMap { r in (0..<k).map { codes[r * k + inverse[$0]] } }
    }
    return Result(dequantized: dequantized, codes: codes, scales: scales, zeros: zeros)
  }

  /// The upper-triangular `U` with `Uᵀ U = H⁻¹`, row-major, through LAPACK.
  static func upperCholeskyOfInverse(_ h: [Double], _ k: Int) throws(Failure) -> [Double] {
    var a = h
    var n = Int32(k)
    var lda = Int32(k)
    var info: Int32 = 0
    var lower = CChar(UInt8(ascii: "L"))
    // Column-major 'L' on a symmetric matrix: the row-major view holds the upper triangle.
    dpotrf_(&lower, &n, &a, &lda, &info)
    guard info == 0 else {
      throw Failure(
        description: "the damped Hessian is not positive definite (dpotrf info \(info))")
    }
    dpotri_(&lower, &n, &a, &lda, &info)
    guard info == 0 else {
      throw Failure(description: "cannot invert the Hessian (dpotri info \(info))")
    }
    // Symmetrize: the inverse sits in the row-major upper triangle.
    for i in 0..<k { for j in 0..<i { a[i * k + j] = a[j * k + i] } }
    dpotrf_(&lower, &n, &a, &lda, &info)
    guard info == 0 else {
      throw Failure(
        description: "the inverse Hessian is not positive definite (dpotrf info \(info))")
    }
    for i in 0..<k { for j in 0..<i { a[i * k + j] = 0 } }
    return a
  }
}
