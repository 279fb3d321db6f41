import DQCIR
import DQCInterp
import DQCKernels

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
    guard k % group == 0 else {
      throw Failure(description: "\(k) columns are not a multiple of the group size \(group)")
    }
    // The diagonal: dead inputs get 1 (and zero weights), then it is permuted and damped; the
    // off-diagonal entries are read from `hessian` through the permutation.
    var diagonal = (0..<k).map { hessian[$0 * k + $0] }
    let dead = diagonal.map { $0 == 0 }
    for i in 0..<k where dead[i] { diagonal[i] = 1 }
    var perm = Array(0..<k)
    if actOrder {
      perm.sort { diagonal[$0] > diagonal[$1] || (diagonal[$0] == diagonal[$1] && $0 < $1) }
      diagonal = perm.map { diagonal[$0] }
    }
    let mean = diagonal.reduce(0, +) / Double(k)
    for i in 0..<k { diagonal[i] += damp * mean }
    let factor = try InverseCholesky.upperFactor(
      of: hessian, k, permutation: perm, diagonal: diagonal)

    // Every element of these is written by the column loop, by the thread that owns its row.
    var work = [Double](unsafeUninitializedCapacity: n * k) { $1 = n * k }
    var dequantized = [Double](unsafeUninitializedCapacity: n * k) { $1 = n * k }
    var codes = [Int64](unsafeUninitializedCapacity: n * k) { $1 = n * k }
    var scales = [Double](repeating: 0, count: n * groups)
    var zeros = [Double](repeating: 0, count: n * groups)
    let settings = Self.RowSettings(
      columns: k, quantizer: quantizer, blockSize: blockSize, group: grouped ? group : nil)
    // Rows are independent given the factor: each chunk of rows runs the whole column loop.
    w.withUnsafeBufferPointer { weightBuffer in
      perm.withUnsafeBufferPointer { permBuffer in
        dead.withUnsafeBufferPointer { deadBuffer in
          work.withUnsafeMutableBufferPointer { workBuffer in
            factor.withUnsafeBufferPointer { factorBuffer in
              dequantized.withUnsafeMutableBufferPointer { dequantizedBuffer in
                codes.withUnsafeMutableBufferPointer { codesBuffer in
                  scales.withUnsafeMutableBufferPointer { scalesBuffer in
                    zeros.withUnsafeMutableBufferPointer { zerosBuffer in
                      nonisolated(unsafe) let buffers = Self.RowBuffers(
                        weight: weightBuffer.baseAddress!, perm: permBuffer.baseAddress!,
                        dead: deadBuffer.baseAddress!, work: workBuffer.baseAddress!,
                        factor: factorBuffer.baseAddress!,
                        dequantized: dequantizedBuffer.baseAddress!,
                        codes: codesBuffer.baseAddress!, scales: scalesBuffer.baseAddress!,
                        zeros: zerosBuffer.baseAddress!)
                      Parallel.forEachChunk(n, grain: Self.rowsPerChunk) { lower, upper in
                        Self.quantizeRows(lower..<upper, settings, buffers)
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Result(dequantized: dequantized, codes: codes, scales: scales, zeros: zeros)
  }

  /// Rows per chunk of the column loop (chunks run in parallel).
  static let rowsPerChunk = 512

  /// What the column loop needs besides the buffers.
  struct RowSettings: Sendable {
    var columns: Int
    var quantizer: WeightQuantizer
    var blockSize: Int
    /// Columns per group; nil for per-channel parameters.
    var group: Int?
  }

  /// The column loop's buffers: inputs `weight [n, k]` (original order), `perm` (processing
  /// order → column), `dead` (per column), `factor [k, k]`; outputs `work` (the permuted working
  /// weight), `dequantized` and `codes` (original order), `scales` and `zeros` (`[n, groups]`,
  /// processing order).
  struct RowBuffers {
    var weight: UnsafePointer<Double>
    var perm: UnsafePointer<Int>
    var dead: UnsafePointer<Bool>
    var work: UnsafeMutablePointer<Double>
    var factor: UnsafePointer<Double>
    var dequantized: UnsafeMutablePointer<Double>
    var codes: UnsafeMutablePointer<Int64>
    var scales: UnsafeMutablePointer<Double>
    var zeros: UnsafeMutablePointer<Double>
  }

  /// The column loop on `rows`.
  static func quantizeRows(_ rows: Range<Int>, _ settings: RowSettings, _ buffers: RowBuffers) {
    let (k, quantizer, blockSize, group) = (
      settings.columns, settings.quantizer, settings.blockSize, settings.group
    )
    let (work, factor) = (buffers.work, buffers.factor)
    let n = rows.count
    let groups = group.map { k / $0 } ?? 1
    var scale = [Double](repeating: 0, count: n)
    var zero = [Double](repeating: 0, count: n)
    for r in 0..<n {
      let row = rows.lowerBound + r
      let original = buffers.weight + row * k
      if group == nil {
        // Per-channel parameters come from the weight as given, before dead columns are zeroed.
        (scale[r], zero[r]) = quantizer.parameters(UnsafeBufferPointer(start: original, count: k))
        buffers.scales[row] = scale[r]
        buffers.zeros[row] = zero[r]
      }
      for j in 0..<k {
        let column = buffers.perm[j]
        work[row * k + j] = buffers.dead[column] ? 0 : original[column]
      }
    }
    var block = [Double](repeating: 0, count: n * blockSize)
    // Err, transposed: `[count, n]`.
    var err = [Double](repeating: 0, count: n * blockSize)
    var i1 = 0
    while i1 < k {
      let i2 = min(i1 + blockSize, k)
      let count = i2 - i1
      // The block works on its own copy; group parameters read the global work, which has the
      // updates of earlier blocks but not those made inside this one (as gptq.py does).
      for r in 0..<n {
        for i in 0..<count { block[r * count + i] = work[(rows.lowerBound + r) * k + i1 + i] }
      }
      block.withUnsafeMutableBufferPointer { blockBuffer in
        err.withUnsafeMutableBufferPointer { errBuffer in
          let (b, e) = (blockBuffer.baseAddress!, errBuffer.baseAddress!)
          for i in 0..<count {
            let col = i1 + i
            if let group, col % group == 0 {
              for r in 0..<n {
                let row = rows.lowerBound + r
                let start = work + row * k + col
                (scale[r], zero[r]) = quantizer.parameters(
                  UnsafeBufferPointer(start: start, count: group))
                buffers.scales[row * groups + col / group] = scale[r]
                buffers.zeros[row * groups + col / group] = zero[r]
              }
            }
            let u = factor + col * k + i1
            let d = u[i]
            let column = buffers.perm[col]
            for r in 0..<n {
              let row = rows.lowerBound + r
              let wv = b[r * count + i]
              let code = quantizer.quantize(wv, scale: scale[r], zero: zero[r])
              let q = scale[r] * (code - zero[r])
              buffers.codes[row * k + column] = Int64(code)
              buffers.dequantized[row * k + column] = q
              e[i * n + r] = (wv - q) / d
            }
            // block[:, i+1:] -= err[:, i] · U[col, i1+i+1 : i2]
            dqc_rank1_sub_f64(
              Int32(n), Int32(count - i - 1), e + i * n, 1, u + i + 1, b + i + 1, Int32(count))
          }
          if i2 < k {
            // work[rows, i2:] -= Err · U[i1:i2, i2:]
            dqc_gemm_f64(
              true, false, Int32(n), Int32(k - i2), Int32(count), -1, e, Int32(n),
              factor + i1 * k + i2, Int32(k), work + rows.lowerBound * k + i2, Int32(k), -n)
          }
        }
      }
      i1 = i2
    }
  }
}
