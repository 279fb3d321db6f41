import DQCInterp
import DQCKernels

/// Accumulates a layer's Hessian `H = Σ_t w_t² x_t x_tᵀ` (`[columns, columns]`, row-major) from
/// batches of float32 input rows `x_t` and their weights `w_t`.
///
/// Rows are scaled in float64 and rounded once to float32 (`w_t x_t`), and queued; every
/// `batchRows` rows the queue goes through one symmetric rank-k update (upper triangle only) in
/// `TiledProducts`, spread over `Parallel`'s threads. Products are summed in float32 over runs of
/// `DQC_GEMM_KC` (256) consecutive rows of the whole stream of added rows, as standard GPTQ sums
/// them in float32, and each run's sum is added to the float64 Hessian in stream order. So the
/// result depends only on the rows and weights in order, not on how they were split into `add`
/// calls nor on the thread count.
public struct HessianAccumulator: Sendable {
  /// The input width.
  public let columns: Int
  /// Rows per rank-k update: a multiple of `DQC_GEMM_KC`, enough to keep each tile of the
  /// Hessian in cache over several runs.
  static let batchRows = 4 * Int(DQC_GEMM_KC)
  /// Row stride of `upper`: a few elements past `columns`, so that the rows of a tile do not
  /// collide in the cache (as they would with a power-of-two stride).
  private let stride: Int
  /// The upper triangle, `[columns, stride]` (the lower one and the padding hold junk).
  private var upper: [Double]
  /// Weighted rows not yet added, `[queued, columns]` (capacity `batchRows` rows).
  private var queue: [Float]
  private var queued = 0
  /// Packed copies of the queue's columns.
  private var packs = TiledProducts.Packs()

  /// An empty accumulator for inputs of `columns` features.
  public init(columns: Int) {
    self.columns = columns
    stride = columns + 8
    upper = [Double](repeating: 0, count: columns * stride)
    queue = [Float](repeating: 0, count: Self.batchRows * columns)
  }

  /// Adds `rows` (row-major `[weights.count, columns]`) with their weights:
  /// `H += Σ_t (w_t x_t)(w_t x_t)ᵀ`.
  public mutating func add(_ rows: UnsafeBufferPointer<Float>, weights: [Double]) {
    let k = columns
    precondition(rows.count == weights.count * k, "rows and weights disagree")
    var t = 0
    while t < weights.count {
      let take = min(Self.batchRows - queued, weights.count - t)
      let (first, offset) = (t, queued)
      queue.withUnsafeMutableBufferPointer { qp in
        nonisolated(unsafe) let (src, dst) = (rows.baseAddress!, qp.baseAddress!)
        Parallel.forEachChunk(take, grain: 16) { lower, upper in
          for r in lower..<upper {
            let w = weights[first + r]
            let from = src + (first + r) * k
            let to = dst + (offset + r) * k
            for c in 0..<k { to[c] = Float(Double(from[c]) * w) }
          }
        }
      }
      queued += take
      t += take
      if queued == Self.batchRows { flush() }
    }
  }

  /// Adds `rows` (row-major `[weights.count, columns]`) with their weights.
  public mutating func add(_ rows: [Float], weights: [Double]) {
    rows.withUnsafeBufferPointer { add($0, weights: weights) }
  }

  /// The Hessian, symmetric (the accumulator's storage, without a copy).
  public consuming func finish() -> [Double] {
    flush()
    queue = []
    packs = TiledProducts.Packs()
    var h = upper
    upper = []
    let (k, ld) = (columns, stride)
    h.withUnsafeMutableBufferPointer { hp in
      nonisolated(unsafe) let base = hp.baseAddress!
      // Rows to stride k, in order (each moves to a lower address).
      for i in 1..<max(k, 1) { (base + i * k).update(from: base + i * ld, count: k) }
      // Lower triangle from the upper, in 64-row bands.
      Parallel.forEachChunk(k, grain: 64) { lower, upper in
        for j0 in Swift.stride(from: 0, to: upper, by: 64) {
          for i in lower..<upper {
            for j in j0..<min(j0 + 64, i) { base[i * k + j] = base[j * k + i] }
          }
        }
      }
    }
    h.removeLast(h.count - k * k)
    return h
  }

  /// `H += Qᵀ Q` for the queued rows.
  private mutating func flush() {
    guard queued > 0 else { return }
    let (k, t) = (columns, queued)
    queue.withUnsafeBufferPointer { xp in
      upper.withUnsafeMutableBufferPointer { hp in
        TiledProducts.symmetricUpdate(
          xp.baseAddress!, ldx: k, t: t, k: k, alpha: 1, hp.baseAddress!, ldc: stride,
          packs: &packs)
      }
    }
    queued = 0
  }
}
