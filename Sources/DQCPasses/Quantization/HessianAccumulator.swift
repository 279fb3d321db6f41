import CBLAS

/// Accumulates a layer's Hessian `H = Σ_t x_t x_tᵀ` (float64, `[columns, columns]`, row-major)
/// from batches of (already weighted) input rows, one `dgemm` per batch.
public struct HessianAccumulator: Sendable {
  /// The input width.
  public let columns: Int
  /// The Hessian so far.
  public private(set) var hessian: [Double]

  /// An empty accumulator for inputs of `columns` features.
  public init(columns: Int) {
    self.columns = columns
    hessian = [Double](repeating: 0, count: columns * columns)
  }

  /// Adds `rows` (row-major `[tokens, columns]`): `H += Xᵀ X`.
  public mutating func add(_ rows: [Double]) {
    let k = columns
    let tokens = rows.count / max(k, 1)
    guard tokens > 0 else { return }
    rows.withUnsafeBufferPointer { xp in
      hessian.withUnsafeMutableBufferPointer { hp in
        cblas_dgemm(
          CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(k), Int32(tokens), 1,
          xp.baseAddress!, Int32(k), xp.baseAddress!, Int32(k), 1, hp.baseAddress!, Int32(k))
      }
    }
  }
}
