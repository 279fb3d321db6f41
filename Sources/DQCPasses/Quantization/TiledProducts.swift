import DQCInterp
import DQCKernels

/// Matrix products for the quantization passes through `dqc_gemm` (`DQCKernels`), split over
/// `Parallel`'s threads in tiles whose bounds depend only on the shapes.
///
/// `dqc_gemm` computes every element of C the same way however C is tiled, and each tile is
/// computed by one thread, so results are bit-identical for any thread count and instruction set.
enum TiledProducts {
  /// Rows of C per tile (a multiple of every kernel's A panel width).
  static let tileRows = 192
  /// Columns of C per tile (a multiple of every kernel's B panel width).
  ///
  /// A 192×256 float64 tile (384 KiB) stays in a core's cache while `dqc_gemm` runs its chunks
  /// of k over it.
  static let tileColumns = 256

  /// The tiles `(row, rows, column, columns)` covering C `[m, n]`; with `upper`, only those
  /// holding elements on or above the diagonal (`m == n`).
  static func tiles(m: Int, n: Int, upper: Bool) -> [(Int, Int, Int, Int)] {
    var tiles: [(Int, Int, Int, Int)] = []
    for row in stride(from: 0, to: m, by: tileRows) {
      let rows = min(tileRows, m - row)
      for column in stride(from: 0, to: n, by: tileColumns) {
        let columns = min(tileColumns, n - column)
        if !upper || column + columns - 1 >= row { tiles.append((row, rows, column, columns)) }
      }
    }
    return tiles
  }

  /// Packed copies of X's columns, reused between updates.
  struct Packs {
    var a: [Float] = []
    var b: [Float] = []
  }

  /// The upper triangle (with the diagonal) of `C [k, k] += alpha · Xᵀ X` for `X [t, k]`.
  ///
  /// `ldx` is X's leading dimension; C's lower triangle is left alone or overwritten with junk.
  /// X is packed once (in `packs`) for all tiles.
  static func symmetricUpdate(
    _ x: UnsafePointer<Float>, ldx: Int, t: Int, k: Int, alpha: Double,
    _ c: UnsafeMutablePointer<Double>, ldc: Int, packs: inout Packs
  ) {
    let sizeA = dqc_gemm_pack_size_f32(Int32(k), Int32(t), false)
    let sizeB = dqc_gemm_pack_size_f32(Int32(k), Int32(t), true)
    if packs.a.count < sizeA { packs.a = [Float](repeating: 0, count: sizeA) }
    if packs.b.count < sizeB { packs.b = [Float](repeating: 0, count: sizeB) }
    packs.a.withUnsafeMutableBufferPointer { aBuffer in
      packs.b.withUnsafeMutableBufferPointer { bBuffer in
        nonisolated(unsafe) let (px, pc) = (x, c)
        nonisolated(unsafe) let (pa, pb) = (aBuffer.baseAddress!, bBuffer.baseAddress!)
        // Lines in ranges of a multiple of every panel width.
        Parallel.forEachChunk(k, grain: 768) { lower, upper in
          dqc_gemm_pack_f32(
            true, false, Int32(k), Int32(t), px, Int32(ldx), pa, Int32(lower), Int32(upper))
          dqc_gemm_pack_f32(
            true, true, Int32(k), Int32(t), px, Int32(ldx), pb, Int32(lower), Int32(upper))
        }
        let tiles = tiles(m: k, n: k, upper: true)
        Parallel.forEach(tiles.count) { index in
          let (i, m, j, n) = tiles[index]
          dqc_gemm_packed_f32(
            Int32(m), Int32(n), Int32(t), alpha, pa, Int32(k), Int32(i), pb, Int32(k), Int32(j),
            pc + i * ldc + j, Int32(ldc), i - j)
        }
      }
    }
  }

  /// The upper triangle of `C [k, k] += alpha · Aᵀ A` for float64 `A [t, k]` (leading
  /// dimension `lda`); C's lower triangle is left alone or overwritten with junk.
  static func symmetricUpdate(
    _ a: UnsafePointer<Double>, lda: Int, t: Int, k: Int, alpha: Double,
    _ c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    nonisolated(unsafe) let (pa, pc) = (a, c)
    let tiles = tiles(m: k, n: k, upper: true)
    Parallel.forEach(tiles.count) { index in
      let (i, m, j, n) = tiles[index]
      dqc_gemm_f64(
        true, false, Int32(m), Int32(n), Int32(t), alpha, pa + i, Int32(lda), pa + j, Int32(lda),
        pc + i * ldc + j, Int32(ldc), i - j)
    }
  }
}
