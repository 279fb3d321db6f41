import DQCIR
import Foundation

/// Kernels of the `dq.*` model-level ops.
enum ModelOps {
  static func embedding(_ ids: Tensor, _ table: Tensor) throws(InterpreterError) -> Tensor {
    try ShapeOps.gather(table, ids, axis: 0)
  }

  /// `silu(gate) * up`: `g / (1 + exp(−g)) · u` with the kernels' exp (`KernelArithmetic`).
  static func swiglu(_ gate: Tensor, _ up: Tensor) throws(InterpreterError) -> Tensor {
    try Elementwise.floatBinary(gate, up, element: gate.element) { g, u in
      (g / (1 + KernelArithmetic.exp(-g))) * u
    }
  }

  /// Rotate-half RoPE on `[B, H, T, Dh]` at positions `0..<T` (or the given positions):
  /// `inv_freq[i] = theta^(-2i/Dh)` and angle `p * inv_freq[i]` computed in f32 as PyTorch does.
  static func rope(_ x: Tensor, positions: Tensor?, theta: Double) throws(InterpreterError)
    -> Tensor
  {
    guard x.shape.count == 4 else {
      throw InterpreterError("rope expects [B, H, T, Dh], has \(x.shape)")
    }
    let (b, h, t, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let half = d / 2
    let pos: [Float] = positions.map { $0.ints.map { Float($0) } } ?? (0..<t).map { Float($0) }
    guard pos.count == t else {
      throw InterpreterError("rope has \(pos.count) positions for \(t) tokens")
    }
    var cosTable = [Float](repeating: 0, count: t * half)
    var sinTable = [Float](repeating: 0, count: t * half)
    for i in 0..<half {
      let invFreq = Float(1) / Foundation.powf(Float(theta), Float(2 * i) / Float(d))
      for p in 0..<t {
        let angle = pos[p] * invFreq
        cosTable[p * half + i] = Foundation.cosf(angle)
        sinTable[p * half + i] = Foundation.sinf(angle)
      }
    }
    let (cosines, sines) = (cosTable, sinTable)
    var v = x.floats
    v.withUnsafeMutableBufferPointer { buffer in
      nonisolated(unsafe) let out = buffer
      Parallel.forEach(b * h) { row in
        for p in 0..<t {
          let base = (row * t + p) * d
          for i in 0..<half {
            let c = cosines[p * half + i]
            let s = sines[p * half + i]
            let x1 = out[base + i]
            let x2 = out[base + i + half]
            out[base + i] = x1 * c - x2 * s
            out[base + i + half] = x2 * c + x1 * s
          }
        }
      }
    }
    return Rounding.make(x.shape, x.element, floats: v)
  }

  /// Softmax attention over `[B, H, T, Dh]` queries.
  ///
  /// Key/value heads are shared by `H / Hkv` query heads. A boolean mask keeps `true` positions;
  /// a float mask is added to the scores.
  ///
  /// The runtime's arithmetic (`KernelArithmetic`): scores `(q · k) · scale` with the dot product
  /// one fused chain, the softmax of `softmaxRow`, then P rounded to its grid, then `P · V` as
  /// fused chains over the keys.
  static func attention(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, scale: Double?, causal: Bool,
    quantization: AttentionQuantization = AttentionQuantization(),
    tap: ((String, Tensor) -> Void)? = nil
  ) throws(InterpreterError) -> Tensor {
    let (b, h, t, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (hk, s, dv) = (k.shape[1], k.shape[2], v.shape[3])
    guard hk > 0, h % hk == 0 else {
      throw InterpreterError("query heads \(h) do not share key/value heads \(hk)")
    }
    let group = h / hk
    let alpha = Float(scale ?? 1 / Double(d).squareRoot())
    var qv = q.floats
    var kv = k.floats
    var vv = v.floats
    if let bits = quantization.qkBits {
      AttentionQuantization.fakeQuantizeRows(&qv, width: d, bits: bits)
      AttentionQuantization.fakeQuantizeRows(&kv, width: d, bits: bits)
    }
    if let bits = quantization.vBits {
      try AttentionQuantization.fakeQuantizeHeads(
        &vv, heads: b * hk, kvHeads: hk, bits: bits, scales: quantization.vScales)
    }
    let maskShape = [b, h, t, s]
    let maskIndex = mask.map { TensorIndexing.broadcastSources(out: maskShape, in: $0.shape) }
    let maskValues = mask?.doubles
    let maskIsBool = mask?.element == .bool
    var probabilities = [Float](repeating: 0, count: b * h * t * s)
    var out = [Float](repeating: 0, count: b * h * t * dv)
    let pLevels = quantization.pLevels
    qv.withUnsafeBufferPointer { qp in
      kv.withUnsafeBufferPointer { kp in
        vv.withUnsafeBufferPointer { vp in
          probabilities.withUnsafeMutableBufferPointer { pp in
            out.withUnsafeMutableBufferPointer { op in
              nonisolated(unsafe) let (qs, ks, vs, ps, os) = (qp, kp, vp, pp, op)
              // Heads are independent: each is one thread's work, with serial products.
              Parallel.forEach(b * h) { head in
                let (bi, hi) = head.quotientAndRemainder(dividingBy: h)
                let kh = hi / group
                let kBase = (bi * hk + kh) * s * d
                let vBase = (bi * hk + kh) * s * dv
                let pBase = head * t * s
                KernelArithmetic.gemm(
                  qs.baseAddress! + head * t * d, lda: d, ks.baseAddress! + kBase, ldb: d,
                  transB: true, ps.baseAddress! + pBase, ldc: s, m: t, n: s, k: d)
                for ti in 0..<t {
                  let row = pBase + ti * s
                  for si in 0..<s { ps[row + si] *= alpha }
                  if causal {
                    for si in (ti + 1)..<max(s, ti + 1) { ps[row + si] = -.infinity }
                  }
                  if let maskIndex, let maskValues {
                    for si in 0..<s {
                      let m = maskValues[maskIndex[row + si]]
                      if maskIsBool {
                        if m == 0 { ps[row + si] = -.infinity }
                      } else {
                        ps[row + si] += Float(m)
                      }
                    }
                  }
                  softmaxRow(ps.baseAddress! + row, count: s)
                  if let levels = pLevels {
                    for si in 0..<s {
                      ps[row + si] = (ps[row + si] * levels).rounded(.toNearestOrEven) / levels
                    }
                  }
                }
                KernelArithmetic.gemm(
                  ps.baseAddress! + pBase, lda: s, vs.baseAddress! + vBase, ldb: dv,
                  transB: false, os.baseAddress! + head * t * dv, ldc: dv, m: t, n: dv, k: s)
              }
            }
          }
        }
      }
    }
    tap?("probabilities", Tensor(shape: [b, h, t, s], floats: probabilities))
    return Rounding.make([b, h, t, dv], q.element, floats: out)
  }

  /// Attention's softmax of `count` scores in place, as the runtime's.
  ///
  /// m = max, e = exp(x − m) with the kernels' exp, the sum of the e in float64 lanes
  /// (`KernelArithmetic.laneSum`), p = e · Float(1 / sum). A row of −∞ (all keys masked)
  /// becomes zeros.
  static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for i in 0..<count { m = Swift.max(m, row[i]) }
    if m == -.infinity {
      row.update(repeating: 0, count: count)
      return
    }
    let sum = KernelArithmetic.laneSum(count) { i in
      row[i] = KernelArithmetic.exp(row[i] - m)
      return Double(row[i])
    }
    let inv = Float(1 / sum)
    for i in 0..<count { row[i] *= inv }
  }
}

/// How `dq.attention` quantizes its matmuls' operands (fake quantization: values are rounded to
/// the integer grid and scaled back, so products equal the integer ones up to float rounding).
struct AttentionQuantization {
  /// Bits for q and k, quantized per row (token and head), symmetric, dynamic.
  var qkBits: Int?
  /// Bits for the probabilities P ∈ [0, 1], scale `1 / (2^bits − 1)`.
  var pBits: Int?
  /// Bits for V, per key/value head, symmetric.
  var vBits: Int?
  /// Static V scales per key/value head (IA-AQ); dynamic max-abs scales when absent.
  var vScales: [Float]?

  var pLevels: Float? { pBits.map { Float((1 << $0) - 1) } }

  static func fakeQuantizeRows(_ x: inout [Float], width: Int, bits: Int) {
    let qmax = Float((1 << (bits - 1)) - 1)
    for start in stride(from: 0, to: x.count, by: width) {
      var amax: Float = 0
      for i in start..<(start + width) { amax = max(amax, abs(x[i])) }
      let s = amax > 0 ? amax / qmax : 1
      for i in start..<(start + width) {
        x[i] = min(max((x[i] / s).rounded(.toNearestOrEven), -qmax), qmax) * s
      }
    }
  }

  /// V `[B·Hkv, S, Dv]` quantized per head with `scales[head]` (or the head's max-abs scale).
  static func fakeQuantizeHeads(
    _ v: inout [Float], heads: Int, kvHeads: Int, bits: Int, scales: [Float]?
  ) throws(InterpreterError) {
    let qmax = Float((1 << (bits - 1)) - 1)
    let per = v.count / max(heads, 1)
    if let scales, scales.count != kvHeads {
      throw InterpreterError("V scales have \(scales.count) entries for \(kvHeads) heads")
    }
    for head in 0..<heads {
      let range = (head * per)..<((head + 1) * per)
      var s: Float
      if let scales {
        s = scales[head % kvHeads]
      } else {
        var amax: Float = 0
        for i in range { amax = max(amax, abs(v[i])) }
        s = amax / qmax
      }
      if s <= 0 { s = 1 }
      for i in range { v[i] = min(max((v[i] / s).rounded(.toNearestOrEven), -qmax), qmax) * s }
    }
  }
}
