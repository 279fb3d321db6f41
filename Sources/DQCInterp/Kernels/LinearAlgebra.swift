import CBLAS
import DQCIR
import Dispatch
import Synchronization

/// Matrix products through OpenBLAS `sgemm` (f32 accumulation, as ONNX Runtime does).
///
/// OpenBLAS runs single-threaded; parallelism comes from splitting C into blocks whose bounds
/// depend only on the shapes: blocks of columns when C is at least as wide as it is tall (the
/// usual activation × weight product, so each thread packs only its own slice of the weight,
/// once), blocks of rows otherwise. Every block is computed the same way whatever the thread
/// count, so results are bit-identical with 1 or N threads.
enum LinearAlgebra {
  /// Threads used for blocks (and by `Parallel`).
  static let threads = Atomic<Int>(1)
  /// Rows per block when splitting rows.
  static let blockRows = 128
  /// Columns per block when splitting columns.
  static let blockColumns = 256
  static let configureBLAS: Void = openblas_set_num_threads(1)

  /// Computes `C[m×n] = alpha · A[m×k] · op(B) + beta · C` for row-major buffers.
  ///
  /// `transB` reads B as `[n×k]`. `parallel: false` makes one OpenBLAS call on the calling
  /// thread (for callers that already spread independent products over the threads).
  static func gemm(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, n: Int, k: Int, transB: Bool, alpha: Float = 1, beta: Float = 0, parallel: Bool = true
  ) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      if beta == 0 { c.update(repeating: 0, count: m * n) }
      return
    }
    _ = configureBLAS
    nonisolated(unsafe) let (pa, pb, pc) = (a, b, c)
    let ldb = Int32(transB ? k : n)
    @Sendable func block(row: Int, rows: Int, column: Int, columns: Int) {
      let bStart = transB ? pb + column * k : pb + column
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(rows),
        Int32(columns), Int32(k), alpha, pa + row * k, Int32(k), bStart, ldb, beta,
        pc + row * n + column, Int32(n))
    }
    guard parallel else {
      block(row: 0, rows: m, column: 0, columns: n)
      return
    }
    if n >= m {
      Parallel.forEachChunk(n, grain: blockColumns) { lower, upper in
        block(row: 0, rows: m, column: lower, columns: upper - lower)
      }
    } else {
      Parallel.forEachChunk(m, grain: blockRows) { lower, upper in
        block(row: lower, rows: upper - lower, column: 0, columns: n)
      }
    }
  }

  /// ONNX MatMul with NumPy semantics (1-D promotion, broadcast batch dimensions).
  static func matMul(_ a: Tensor, _ b: Tensor) throws(InterpreterError) -> Tensor {
    guard case .float = a.storage, case .float = b.storage else {
      return try matMulDouble(a, b)
    }
    var ash = a.shape
    var bsh = b.shape
    guard !ash.isEmpty, !bsh.isEmpty else { throw InterpreterError("MatMul of a scalar") }
    let promoteA = ash.count == 1
    let promoteB = bsh.count == 1
    if promoteA { ash.insert(1, at: 0) }
    if promoteB { bsh.append(1) }
    let m = ash[ash.count - 2]
    let k = ash[ash.count - 1]
    let n = bsh[bsh.count - 1]
    guard bsh[bsh.count - 2] == k else {
      throw InterpreterError("MatMul contraction dimensions differ: \(k) and \(bsh[bsh.count - 2])")
    }
    let batchA = Array(ash.dropLast(2))
    let batchB = Array(bsh.dropLast(2))
    let batch = try Elementwise.broadcastShape(batchA, batchB)
    let count = batch.reduce(1, *)
    let ia = TensorIndexing.broadcastSources(out: batch, in: batchA)
    let ib = TensorIndexing.broadcastSources(out: batch, in: batchB)
    var out = [Float](repeating: 0, count: count * m * n)
    let x = a.floats
    let y = b.floats
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeBufferPointer { yp in
        out.withUnsafeMutableBufferPointer { op in
          // A shared right operand with a broadcast left batch is one tall product.
          if batchB.reduce(1, *) == 1, batchA == batch, count > 1 {
            gemm(
              xp.baseAddress!, yp.baseAddress!, op.baseAddress!, m: count * m, n: n, k: k,
              transB: false)
            return
          }
          for i in 0..<count {
            gemm(
              xp.baseAddress! + ia[i] * m * k, yp.baseAddress! + ib[i] * k * n,
              op.baseAddress! + i * m * n, m: m, n: n, k: k, transB: false)
          }
        }
      }
    }
    var shape = batch
    if !promoteA { shape.append(m) }
    if !promoteB { shape.append(n) }
    return Rounding.make(shape, a.element, floats: out)
  }

  /// MatMul for f64 and integer operands (plain loops, exact accumulation).
  static func matMulDouble(_ a: Tensor, _ b: Tensor) throws(InterpreterError) -> Tensor {
    guard a.shape.count == 2, b.shape.count == 2, a.shape[1] == b.shape[0] else {
      throw InterpreterError("MatMul on \(a.element) supports 2-D operands only")
    }
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    let x = a.doubles
    let y = b.doubles
    var out = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for p in 0..<k {
        let v = x[i * k + p]
        for j in 0..<n { out[i * n + j] += v * y[p * n + j] }
      }
    }
    if case .int = a.storage {
      return Rounding.make([m, n], a.element, ints: out.map(Rounding.int64))
    }
    return Tensor(shape: [m, n], element: a.element, storage: .double(out))
  }

  /// ONNX Gemm: `alpha · op(A) · op(B) + beta · C`.
  static func gemmOp(_ a: Tensor, _ b: Tensor, _ c: Tensor?, attributes: AttributeDictionary)
    throws(InterpreterError) -> Tensor
  {
    let alpha = Float(attributes["alpha"]?.floatValue ?? 1)
    let beta = Float(attributes["beta"]?.floatValue ?? 1)
    var x = a
    if (attributes["transA"]?.intValue ?? 0) != 0 { x = try ShapeOps.transpose(a, perm: [1, 0]) }
    let transB = (attributes["transB"]?.intValue ?? 0) != 0
    let (m, k) = (x.shape[0], x.shape[1])
    let n = transB ? b.shape[0] : b.shape[1]
    guard (transB ? b.shape[1] : b.shape[0]) == k else {
      throw InterpreterError("Gemm contraction dimensions differ")
    }
    var out = [Float](repeating: 0, count: m * n)
    if let c, beta != 0 {
      let src = TensorIndexing.broadcastSources(out: [m, n], in: c.shape)
      let cv = c.floats
      for i in 0..<(m * n) { out[i] = beta * cv[src[i]] }
    }
    let xv = x.floats
    let bv = b.floats
    xv.withUnsafeBufferPointer { xp in
      bv.withUnsafeBufferPointer { bp in
        out.withUnsafeMutableBufferPointer { op in
          gemm(
            xp.baseAddress!, bp.baseAddress!, op.baseAddress!, m: m, n: n, k: k, transB: transB,
            alpha: alpha, beta: c != nil && beta != 0 ? 1 : 0)
        }
      }
    }
    return Rounding.make([m, n], a.element, floats: out)
  }

  /// `dq.linear`: `x[..., K] · W[N, K]ᵀ (+ b)`.
  static func linear(_ x: Tensor, _ w: Tensor, _ bias: Tensor?) throws(InterpreterError) -> Tensor {
    guard w.shape.count == 2, let k = x.shape.last, w.shape[1] == k else {
      throw InterpreterError("linear: input \(x.shape) and weight \(w.shape) do not fit")
    }
    let n = w.shape[0]
    let m = x.count / max(k, 1)
    var out = [Float](repeating: 0, count: m * n)
    if let bias {
      let bv = bias.floats
      for i in 0..<m { for j in 0..<n { out[i * n + j] = bv[j] } }
    }
    let xv = x.floats
    let wv = w.floats
    xv.withUnsafeBufferPointer { xp in
      wv.withUnsafeBufferPointer { wp in
        out.withUnsafeMutableBufferPointer { op in
          gemm(
            xp.baseAddress!, wp.baseAddress!, op.baseAddress!, m: m, n: n, k: k, transB: true,
            beta: bias == nil ? 0 : 1)
        }
      }
    }
    return Rounding.make(Array(x.shape.dropLast()) + [n], x.element, floats: out)
  }
}
