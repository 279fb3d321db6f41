import DQCBackend
import DQCIR
import DQCInterp
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// Each kernel of the runtime's CPU back end against the reference interpreter.
///
/// A one-op model on random shapes is quantized, lowered and bundled, then run by both. Where
/// every linear layer is integer the two compute the same bits (docs/interpreter.md, "Kernel
/// arithmetic") and must agree exactly; float linear layers sum in other orders (OpenBLAS against
/// `sgemm_packed`), so there outputs must agree to relative 1e-4 (1e-3 where quantized attention
/// rounds probabilities).
@Suite struct KernelDifferentialTests {
  /// A random token-id sequence and a model whose first op is an embedding of width `width`.
  static func header(vocab: Int, width: Int, seed: UInt64, output: String) -> String {
    var rng = SplitMix64(seed: seed)
    let table = (0..<(vocab * width)).map { _ in String(format: "%.4f", rng.nextUnit() * 2 - 1) }
    return """
      dqir version 1

      module @k attributes {model.mask_token_id = 0} {
        weight @table : tensor<\(vocab)x\(width)xf32> = dense<[\(table.joined(separator: ", "))]>
      \(output)
      """
  }

  static func dense(_ count: Int, _ rng: inout SplitMix64, scale: Double = 1, offset: Double = 0)
    -> String
  {
    "dense<["
      + (0..<count).map { _ in String(format: "%.4f", offset + scale * (rng.nextUnit() * 2 - 1)) }
      .joined(separator: ", ") + "]>"
  }

  /// Lowers and bundles `text` after `pipeline`, then compares runtime and interpreter on
  /// `tokens` random ids.
  static func compare(
    _ text: String, pipeline: String, tokens: Int, vocab: Int, tolerance: Double, threads: Int = 2
  ) throws {
    var module = try IRParser.parse(text, file: "kernel-case")
    var context = PassContext()
    let passes = try Pipeline(parsing: pipeline + ",lower{seq-len=\(tokens + 3)}").instantiate()
    for pass in passes {
      _ = try pass.run(on: &module, context: &context)
      try Verifier.verify(module)
    }
    let source = try #require(context.loweredFrom)
    let path = Paths.temporaryDirectory() + "/k.dqb"
    try BundleWriter(meta: Array("{}".utf8), recipe: Array("{}".utf8), provenance: Array("{}".utf8))
      .write(source, plan: module, to: path)
    var rng = SplitMix64(seed: UInt64(tokens * 31 + vocab))
    let ids = (0..<tokens).map { _ in Int64(rng.next() % UInt64(vocab)) }
    let reference = try Interpreter(module: source).run([
      "input_ids": Tensor(shape: [1, tokens], ints: ids)
    ])[0].floats
    let session = try RuntimeSession(path: path, threads: threads)
    let actual = try session.forward(ids)
    #expect(actual.count == reference.count)
    let scale = max(reference.map { abs($0) }.max() ?? 1, 1e-6)
    let worst = zip(actual, reference).map { Double(abs($0 - $1)) }.max() ?? 0
    #expect(worst / Double(scale) <= tolerance, "max |Δ| \(worst) against max |ref| \(scale)")
  }

  static func linearCase(k: Int, n: Int, seed: UInt64, bias: Bool) -> String {
    var rng = SplitMix64(seed: seed)
    let w = dense(n * k, &rng, scale: 0.5)
    let b = dense(n, &rng)
    let biasWeight = bias ? "  weight @b : tensor<\(n)xf32> = \(b)\n" : ""
    let biasRead = bias ? "    %b = dq.weight() {name = @b} : () -> tensor<\(n)xf32>\n" : ""
    let biasOperand = bias ? ", %b" : ""
    let biasType = bias ? ", tensor<\(n)xf32>" : ""
    return header(
      vocab: 11, width: k, seed: seed,
      output: """
          weight @w : tensor<\(n)x\(k)xf32> = \(w)
        \(biasWeight)
          graph @main(%input_ids: tensor<{batch}x{seq}xi64>) -> (tensor<{batch}x{seq}x\(n)xf32>) {
            %table = dq.weight() {name = @table} : () -> tensor<11x\(k)xf32>
            %x = dq.embedding(%input_ids, %table) : (tensor<{batch}x{seq}xi64>, tensor<11x\(k)xf32>) -> tensor<{batch}x{seq}x\(k)xf32>
            %w = dq.weight() {name = @w} : () -> tensor<\(n)x\(k)xf32>
        \(biasRead)    %y = dq.linear(%x, %w\(biasOperand)) : (tensor<{batch}x{seq}x\(k)xf32>, tensor<\(n)x\(k)xf32>\(biasType)) -> tensor<{batch}x{seq}x\(n)xf32>
            return %y
          }
        }
        """)
  }

  @Test(arguments: [
    (k: 16, n: 5, group: 8, bits: 4, act: 8, symmetric: false),
    (k: 384, n: 37, group: 128, bits: 4, act: 8, symmetric: false),
    (k: 256, n: 48, group: 32, bits: 4, act: 4, symmetric: true),
    (k: 64, n: 21, group: 0, bits: 8, act: 8, symmetric: true),
    (k: 128, n: 16, group: 64, bits: 8, act: 8, symmetric: false),
    // K not a multiple of 8, per channel: lowering pads the codes with zero columns.
    (k: 12, n: 7, group: 0, bits: 4, act: 8, symmetric: false),
    (k: 20, n: 33, group: 0, bits: 4, act: 4, symmetric: true),
    (k: 12, n: 18, group: 0, bits: 8, act: 8, symmetric: false),
    (k: 44, n: 16, group: 0, bits: 8, act: 8, symmetric: true),
  ])
  func quantizedLinear(k: Int, n: Int, group: Int, bits: Int, act: Int, symmetric: Bool) throws {
    let text = Self.linearCase(k: k, n: n, seed: UInt64(k * n), bias: group == 0)
    let options =
      "bits=\(bits),group-size=\(group),act-bits=\(act),symmetric=\(symmetric),half-scales=true,quantize-head=true"
    for tokens in [1, 7, 29] {
      try Self.compare(text, pipeline: "rtn{\(options)}", tokens: tokens, vocab: 11, tolerance: 0)
    }
  }

  @Test func floatLinearAndWeightOnlyQuantization() throws {
    let text = Self.linearCase(k: 40, n: 19, seed: 3, bias: true)
    try Self.compare(text, pipeline: "dce", tokens: 9, vocab: 11, tolerance: 1e-5)
    try Self.compare(
      text, pipeline: "rtn{bits=4,group-size=8,act-bits=0,quantize-head=true}", tokens: 9,
      vocab: 11, tolerance: 1e-5)
  }

  static func blockCase(heads: Int, kvHeads: Int, dim: Int, bits: String, seed: UInt64) -> String {
    var rng = SplitMix64(seed: seed)
    let d = heads * dim
    let dkv = kvHeads * dim
    let out = """
        weight @norm : tensor<\(d)xf32> = \(dense(d, &rng, scale: 0.2, offset: 1))
        weight @wq : tensor<\(d)x\(d)xf32> = \(dense(d * d, &rng, scale: 0.4))
        weight @wk : tensor<\(dkv)x\(d)xf32> = \(dense(dkv * d, &rng, scale: 0.4))
        weight @wv : tensor<\(dkv)x\(d)xf32> = \(dense(dkv * d, &rng, scale: 0.4))
        weight @qs : tensor<4xi64> = dense<[0, 0, \(heads), \(dim)]>
        weight @kvs : tensor<4xi64> = dense<[0, 0, \(kvHeads), \(dim)]>
        weight @merged : tensor<3xi64> = dense<[0, 0, \(d)]>
        weight @wg : tensor<\(2 * d)x\(d)xf32> = \(dense(2 * d * d, &rng, scale: 0.4))
        weight @wu : tensor<\(2 * d)x\(d)xf32> = \(dense(2 * d * d, &rng, scale: 0.4))

        graph @main(%input_ids: tensor<{batch}x{seq}xi64>) -> (tensor<{batch}x{seq}x\(2 * d)xf32>) {
          %table = dq.weight() {name = @table} : () -> tensor<13x\(d)xf32>
          %x = dq.embedding(%input_ids, %table) : (tensor<{batch}x{seq}xi64>, tensor<13x\(d)xf32>) -> tensor<{batch}x{seq}x\(d)xf32>
          %norm = dq.weight() {name = @norm} : () -> tensor<\(d)xf32>
          %h = dq.rms_norm(%x, %norm) {eps = 1.0e-05} : (tensor<{batch}x{seq}x\(d)xf32>, tensor<\(d)xf32>) -> tensor<{batch}x{seq}x\(d)xf32>
          %wq = dq.weight() {name = @wq} : () -> tensor<\(d)x\(d)xf32>
          %wk = dq.weight() {name = @wk} : () -> tensor<\(dkv)x\(d)xf32>
          %wv = dq.weight() {name = @wv} : () -> tensor<\(dkv)x\(d)xf32>
          %q = dq.linear(%h, %wq) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<\(d)x\(d)xf32>) -> tensor<{batch}x{seq}x\(d)xf32>
          %k = dq.linear(%h, %wk) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<\(dkv)x\(d)xf32>) -> tensor<{batch}x{seq}x\(dkv)xf32>
          %v = dq.linear(%h, %wv) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<\(dkv)x\(d)xf32>) -> tensor<{batch}x{seq}x\(dkv)xf32>
          %qs = dq.weight() {name = @qs} : () -> tensor<4xi64>
          %kvs = dq.weight() {name = @kvs} : () -> tensor<4xi64>
          %q4 = onnx.Reshape(%q, %qs) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<4xi64>) -> tensor<{batch}x{seq}x\(heads)x\(dim)xf32>
          %k4 = onnx.Reshape(%k, %kvs) : (tensor<{batch}x{seq}x\(dkv)xf32>, tensor<4xi64>) -> tensor<{batch}x{seq}x\(kvHeads)x\(dim)xf32>
          %v4 = onnx.Reshape(%v, %kvs) : (tensor<{batch}x{seq}x\(dkv)xf32>, tensor<4xi64>) -> tensor<{batch}x{seq}x\(kvHeads)x\(dim)xf32>
          %qt = onnx.Transpose(%q4) {perm = [0, 2, 1, 3]} : (tensor<{batch}x{seq}x\(heads)x\(dim)xf32>) -> tensor<{batch}x\(heads)x{seq}x\(dim)xf32>
          %kt = onnx.Transpose(%k4) {perm = [0, 2, 1, 3]} : (tensor<{batch}x{seq}x\(kvHeads)x\(dim)xf32>) -> tensor<{batch}x\(kvHeads)x{seq}x\(dim)xf32>
          %vt = onnx.Transpose(%v4) {perm = [0, 2, 1, 3]} : (tensor<{batch}x{seq}x\(kvHeads)x\(dim)xf32>) -> tensor<{batch}x\(kvHeads)x{seq}x\(dim)xf32>
          %qr = dq.rope(%qt) {theta = 10000.0} : (tensor<{batch}x\(heads)x{seq}x\(dim)xf32>) -> tensor<{batch}x\(heads)x{seq}x\(dim)xf32>
          %kr = dq.rope(%kt) {theta = 10000.0} : (tensor<{batch}x\(kvHeads)x{seq}x\(dim)xf32>) -> tensor<{batch}x\(kvHeads)x{seq}x\(dim)xf32>
          %a = dq.attention(%qr, %kr, %vt) {\(bits)} : (tensor<{batch}x\(heads)x{seq}x\(dim)xf32>, tensor<{batch}x\(kvHeads)x{seq}x\(dim)xf32>, tensor<{batch}x\(kvHeads)x{seq}x\(dim)xf32>) -> tensor<{batch}x\(heads)x{seq}x\(dim)xf32>
          %at = onnx.Transpose(%a) {perm = [0, 2, 1, 3]} : (tensor<{batch}x\(heads)x{seq}x\(dim)xf32>) -> tensor<{batch}x{seq}x\(heads)x\(dim)xf32>
          %merged = dq.weight() {name = @merged} : () -> tensor<3xi64>
          %am = onnx.Reshape(%at, %merged) : (tensor<{batch}x{seq}x\(heads)x\(dim)xf32>, tensor<3xi64>) -> tensor<{batch}x{seq}x\(d)xf32>
          %r = onnx.Add(%x, %am) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<{batch}x{seq}x\(d)xf32>) -> tensor<{batch}x{seq}x\(d)xf32>
          %wg = dq.weight() {name = @wg} : () -> tensor<\(2 * d)x\(d)xf32>
          %wu = dq.weight() {name = @wu} : () -> tensor<\(2 * d)x\(d)xf32>
          %g = dq.linear(%r, %wg) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<\(2 * d)x\(d)xf32>) -> tensor<{batch}x{seq}x\(2 * d)xf32>
          %u = dq.linear(%r, %wu) : (tensor<{batch}x{seq}x\(d)xf32>, tensor<\(2 * d)x\(d)xf32>) -> tensor<{batch}x{seq}x\(2 * d)xf32>
          %y = dq.swiglu(%g, %u) : (tensor<{batch}x{seq}x\(2 * d)xf32>, tensor<{batch}x{seq}x\(2 * d)xf32>) -> tensor<{batch}x{seq}x\(2 * d)xf32>
          return %y
        }
      }
      """
    return header(vocab: 13, width: d, seed: seed, output: out)
  }

  @Test(arguments: [
    (heads: 2, kvHeads: 2, dim: 8, bits: "scale = 0.35"),
    (heads: 4, kvHeads: 2, dim: 16, bits: "qk_bits = 8, p_bits = 8, v_bits = 8"),
    (heads: 3, kvHeads: 1, dim: 4, bits: "qk_bits = 4, p_bits = 8, v_bits = 4"),
  ])
  func normRopeAttentionSwiGLU(heads: Int, kvHeads: Int, dim: Int, bits: String) throws {
    let text = Self.blockCase(heads: heads, kvHeads: kvHeads, dim: dim, bits: bits, seed: 5)
    let quantizedAttention = bits.contains("p_bits")
    for tokens in [1, 6, 23] {
      try Self.compare(
        text, pipeline: "dce", tokens: tokens, vocab: 13,
        tolerance: quantizedAttention ? 1e-3 : 1e-4)
      // With integer linear layers (W8A8 per channel) nothing is left to sum in another order:
      // norm, RoPE, attention and SwiGLU give the interpreter's bits (also at width 12, whose
      // per-channel codes lowering pads with zero columns to 16).
      try Self.compare(
        text, pipeline: "rtn{bits=8,group-size=0,act-bits=8,symmetric=true,quantize-head=true}",
        tokens: tokens, vocab: 13, tolerance: 0)
    }
  }

  /// Logits for chosen rows (what the sampler asks for) equal those rows of a full pass, bit for
  /// bit, with a float head and with a quantized one.
  @Test(arguments: ["dce", "rtn{bits=4,group-size=16,act-bits=8,quantize-head=true}"])
  func selectedRowsEqualTheFullPass(pipeline: String) throws {
    var module = try IRParser.parse(
      Self.linearCase(k: 48, n: 40, seed: 8, bias: true), file: "case")
    var context = PassContext()
    for pass in try Pipeline(parsing: pipeline + ",lower{seq-len=20}").instantiate() {
      _ = try pass.run(on: &module, context: &context)
    }
    let path = Paths.temporaryDirectory() + "/rows.dqb"
    try BundleWriter(meta: Array("{}".utf8), recipe: Array("{}".utf8), provenance: Array("{}".utf8))
      .write(try #require(context.loweredFrom), plan: module, to: path)
    let session = try RuntimeSession(path: path, threads: 2)
    let ids: [Int64] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]
    let full = try session.forward(ids)
    let rows: [Int64] = [13, 0, 7, 8]
    let some = try session.forward(ids, rows: rows)
    for (j, row) in rows.enumerated() {
      let expected = full[(Int(row) * 40)..<(Int(row) * 40 + 40)]
      #expect(Array(some[(j * 40)..<(j * 40 + 40)]) == Array(expected), "row \(row)")
    }
    #expect(throws: RuntimeError.self) { try session.forward(ids, rows: [14]) }
  }

  @Test func resultsDoNotDependOnThreads() throws {
    let text = Self.blockCase(
      heads: 4, kvHeads: 4, dim: 8, bits: "qk_bits = 8, p_bits = 8, v_bits = 8", seed: 9)
    for threads in [1, 3] {
      try Self.compare(
        text, pipeline: "rtn{bits=4,group-size=32,act-bits=8,quantize-head=true}", tokens: 17,
        vocab: 13, tolerance: 0, threads: threads)
    }
  }
}
