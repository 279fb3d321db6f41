import CBLAS
import DQCInterp
import DQCKernels

/// GPTQ's `U`: the upper-triangular factor with `Uᵀ U = H⁻¹` of a symmetric positive-definite
/// `H [k, k]` (row-major), in float64.
///
/// The reference computes `cholesky(cholesky_inverse(cholesky(H)), upper=True)` (three cubic
/// steps). This uses the identity `U = J S⁻ᵀ J`, where `J` reverses the order of rows and
/// columns and `S` is the upper Cholesky factor of `J H J` (`Sᵀ S = J H J`): one factorization
/// and one triangular inversion, half the work, the same `U` up to rounding. Both are blocked:
/// LAPACK/BLAS (OpenBLAS on one thread) on `blockSize`-wide diagonal blocks and panels, and the
/// bulk of the work in `dqc_gemm` tiles spread over `Parallel`'s threads. Every tile's bounds
/// depend only on `k`, so the result is bit-identical for any thread count.
enum InverseCholesky {
  /// Width of the diagonal blocks.
  static let blockSize = 128
  /// Columns per chunk of a panel's triangular solve.
  static let panelChunk = 256
  static let configureBLAS: Void = openblas_set_num_threads(1)

  /// `U` (row-major, zero below the diagonal) for `H [a, b] = h[perm[a], perm[b]]` off the
  /// diagonal and `H [a, a] = diagonal[a]`.
  static func upperFactor(of h: [Double], _ k: Int, permutation perm: [Int], diagonal: [Double])
    throws(GPTQ.Failure) -> [Double]
  {
    _ = configureBLAS
    // S starts as J H J (upper triangle), in parallel row bands.
    var s = [Double](unsafeUninitializedCapacity: k * k) { buffer, initialized in
      h.withUnsafeBufferPointer { hp in
        perm.withUnsafeBufferPointer { pp in
          diagonal.withUnsafeBufferPointer { dp in
            nonisolated(unsafe) let (sp, hp, pp, dp) = (
              buffer.baseAddress!, hp.baseAddress!, pp.baseAddress!, dp.baseAddress!
            )
            Parallel.forEachChunk(k, grain: 64) { lower, upper in
              for i in lower..<upper {
                let row = pp[k - 1 - i] * k
                for j in 0..<i { sp[i * k + j] = 0 }
                sp[i * k + i] = dp[k - 1 - i]
                for j in (i + 1)..<k { sp[i * k + j] = hp[row + pp[k - 1 - j]] }
              }
            }
          }
        }
      }
      initialized = k * k
    }
    let info = factor(&s, k)
    guard info == 0 else {
      throw GPTQ.Failure(
        description: "the damped Hessian is not positive definite (dpotrf info \(info))")
    }
    let v = invertUpper(s, k)
    // U = J Vᵀ J, written over S: U[i, j] = V[k−1−j, k−1−i], in 64×64 tiles, row bands in
    // parallel.
    v.withUnsafeBufferPointer { vBuffer in
      s.withUnsafeMutableBufferPointer { uBuffer in
        nonisolated(unsafe) let (vp, up) = (vBuffer.baseAddress!, uBuffer.baseAddress!)
        Parallel.forEachChunk(k, grain: 64) { lower, upper in
          for i in lower..<upper { for j in 0..<min(i, k) { up[i * k + j] = 0 } }
          for j0 in stride(from: lower, to: k, by: 64) {
            for i in lower..<upper {
              for j in max(i, j0)..<min(j0 + 64, k) {
                up[i * k + j] = vp[(k - 1 - j) * k + (k - 1 - i)]
              }
            }
          }
        }
      }
    }
    return s
  }

  /// Replaces the upper triangle of symmetric `a` by its upper Cholesky factor `S` (`Sᵀ S = a`)
  /// and zeroes the lower one; returns LAPACK's `info` (the 1-based order of the first minor
  /// that is not positive definite, or 0).
  static func factor(_ a: inout [Double], _ k: Int) -> Int {
    let b = blockSize
    return a.withUnsafeMutableBufferPointer { buffer in
      nonisolated(unsafe) let base = buffer.baseAddress!
      for p in stride(from: 0, to: k, by: b) {
        let pb = min(b, k - p)
        var order = Int32(pb)
        var lda = Int32(k)
        var info: Int32 = 0
        var lower = CChar(UInt8(ascii: "L"))
        // Column-major 'L' on the row-major block: its upper triangle.
        dpotrf_(&lower, &order, base + p * k + p, &lda, &info)
        guard info == 0 else { return Int(info) + p }
        let rest = k - p - pb
        guard rest > 0 else { continue }
        // S[p, rest] = S[p, p]⁻ᵀ A[p, rest]
        Parallel.forEachChunk(rest, grain: panelChunk) { lower, upper in
          cblas_dtrsm(
            CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, Int32(pb),
            Int32(upper - lower), 1, base + p * k + p, Int32(k), base + p * k + p + pb + lower,
            Int32(k))
        }
        // A[rest, rest] -= S[p, rest]ᵀ S[p, rest] (upper triangle)
        TiledProducts.symmetricUpdate(
          base + p * k + p + pb, lda: k, t: pb, k: rest, alpha: -1, base + (p + pb) * k + p + pb,
          ldc: k)
      }
      for i in 0..<k { for j in 0..<i { base[i * k + j] = 0 } }
      return 0
    }
  }

  /// The inverse of upper-triangular `s` (nonzero diagonal), upper-triangular, row-major.
  ///
  /// Block column `J` of `V = S⁻¹` needs only `S`: `V[J, J] = S[J, J]⁻¹`, then upwards
  /// `V[I, J] = −S[I, I]⁻¹ Σ_{I < L ≤ J} S[I, L] V[L, J]`; block columns run in parallel.
  static func invertUpper(_ s: [Double], _ k: Int) -> [Double] {
    let b = blockSize
    let blocks = (k + b - 1) / b
    var v = [Double](repeating: 0, count: k * k)
    s.withUnsafeBufferPointer { sBuffer in
      v.withUnsafeMutableBufferPointer { vBuffer in
        nonisolated(unsafe) let (sp, vp) = (sBuffer.baseAddress!, vBuffer.baseAddress!)
        // Largest block columns first, for balance.
        Parallel.forEach(blocks) { index in
          let jc = (blocks - 1 - index) * b
          let jb = min(b, k - jc)
          for i in 0..<jb {
            for j in i..<jb { vp[(jc + i) * k + jc + j] = sp[(jc + i) * k + jc + j] }
          }
          var order = Int32(jb)
          var lda = Int32(k)
          var info: Int32 = 0
          var lower = CChar(UInt8(ascii: "L"))
          var nonUnit = CChar(UInt8(ascii: "N"))
          dtrtri_(&lower, &nonUnit, &order, vp + jc * k + jc, &lda, &info)
          precondition(info == 0, "dtrtri: singular factor (info \(info))")
          var y = [Double](repeating: 0, count: b * jb)
          y.withUnsafeMutableBufferPointer { yBuffer in
            let yp = yBuffer.baseAddress!
            for ic in stride(from: jc - b, through: 0, by: -b) {
              let t = jc + jb - (ic + b)
              yp.update(repeating: 0, count: b * jb)
              dqc_gemm_f64(
                false, false, Int32(b), Int32(jb), Int32(t), 1, sp + ic * k + ic + b, Int32(k),
                vp + (ic + b) * k + jc, Int32(k), yp, Int32(jb), -b)
              cblas_dtrsm(
                CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(b),
                Int32(jb), -1, sp + ic * k + ic, Int32(k), yp, Int32(jb))
              for i in 0..<b { for j in 0..<jb { vp[(ic + i) * k + jc + j] = yp[i * jb + j] } }
            }
          }
        }
      }
    }
    return v
  }
}
