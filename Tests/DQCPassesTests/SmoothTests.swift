import DQCFrontend
import DQCIR
import DQCInterp
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// `smooth` (SmoothQuant migration): the float model's function is unchanged, and the scales
/// follow `s_j = max|X_j|^α / max_i |W_ij|^(1−α)`, recomputed here in float64 from the case's
/// weights and calibration tokens.
@Suite struct SmoothTests {
  static let golden = Paths.packageRoot + "/Golden/passes/smooth"

  static func run(_ pipeline: String, on module: Module) throws -> (Module, PassContext) {
    var m = module
    var context = PassContext()
    try PassManager(pipeline: pipeline).run(&m, context: &context, output: { _ in })
    return (m, context)
  }

  static func logits(_ module: Module, _ ids: [Int64]) throws -> [Float] {
    let interpreter = try Interpreter(module: module)
    let input = try #require(module.graph.arguments.first?.name)
    return try interpreter.run([input: Tensor(shape: [1, ids.count], ints: ids)])[0].floats
  }

  @Test func theFixtureComputesTheSameAfterSmoothing() throws {
    let fixture = Paths.packageRoot + "/Tests/Fixtures/llada-tiny"
    let imported = try ModelImporter.importModel(at: fixture)
    let prepare =
      "canonicalize,cse,raise,canonicalize,dce{aggressive=true},"
      + "calib-clean{calib=\(fixture)/calib/train_slice.jsonl,samples=8}"
    let (plain, _) = try Self.run(prepare, on: imported)
    let (smoothed, _) = try Self.run(prepare + ",smooth{alpha=0.85}", on: imported)
    // Four blocks: two norms (q/k/v, gate/up) and one SwiGLU (down) each; the head stays float.
    #expect(smoothed.attributes["prec.smoothed_inputs"]?.intValue == 12)
    let ids: [Int64] = [33, 29, 32, 34, 2, 2, 2, 2, 2, 2, 5, 6, 7, 2, 2, 2, 2, 2, 2, 2]
    let a = try Self.logits(plain, ids)
    let b = try Self.logits(smoothed, ids)
    let scale = a.map { abs($0) }.max() ?? 1
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= 1e-5 * scale, "max |Δlogit| \(worst) of \(scale)")
    // And the weights did change.
    let name = try #require(plain.weights.names.first { $0.hasSuffix("blocks.0.q_proj.weight") })
    #expect(
      try plain.weights[name]?.loadBytes() != smoothed.weights[name]?.loadBytes())
  }

  @Test func scalesFollowTheSmoothQuantRule() throws {
    let text = try String(contentsOfFile: Self.golden + "/norm-and-swiglu.dqir", encoding: .utf8)
      .replacingOccurrences(of: "$DIR", with: Self.golden)
    let module = try IRParser.parse(text)
    let (out, context) = try Self.run(
      "calib-clean{calib=\(Self.golden)/calib.jsonl,samples=3},smooth{alpha=0.7}", on: module)
    func w(_ m: Module, _ name: String) throws -> [Double] {
      try #require(m.weights[name]).loadTensor().doubles
    }
    let table = try w(module, "table")
    let gamma = try w(module, "gamma")
    let (gate, up, down) = (try w(module, "wgate"), try w(module, "wup"), try w(module, "wdown"))
    let d = 4
    let tokens = try #require(context.calibration).samples.flatMap(\.tokens)
    #expect(tokens.count == 15)
    // Norm outputs, then the SwiGLU's, per token in float64.
    var normMax = [Double](repeating: 0, count: d)
    var actMax = [Double](repeating: 0, count: d)
    for t in tokens {
      let x = (0..<d).map { table[Int(t) * d + $0] }
      let rms = 1 / (x.map { $0 * $0 }.reduce(0, +) / Double(d) + 1e-5).squareRoot()
      let n = (0..<d).map { x[$0] * rms * gamma[$0] }
      for j in 0..<d { normMax[j] = max(normMax[j], abs(n[j])) }
      for o in 0..<d {
        let g = (0..<d).reduce(0.0) { $0 + n[$1] * gate[o * d + $1] }
        let u = (0..<d).reduce(0.0) { $0 + n[$1] * up[o * d + $1] }
        actMax[o] = max(actMax[o], abs(g / (1 + exp(-g)) * u))
      }
    }
    func columnMax(_ ws: [[Double]]) -> [Double] {
      (0..<d).map { j in ws.flatMap { w in (0..<d).map { abs(w[$0 * d + j]) } }.max() ?? 0 }
    }
    let sNorm = zip(normMax, columnMax([gate, up])).map { pow($0, 0.7) / pow($1, 0.3) }
    let sAct = zip(actMax, columnMax([down])).map { pow($0, 0.7) / pow($1, 0.3) }
    #expect(sNorm[2] > 1.5, "the outlier channel 2 should be scaled down: \(sNorm)")
    func expectClose(_ actual: [Double], _ expected: [Double], _ what: String) {
      for (a, e) in zip(actual, expected) {
        #expect(abs(a - e) <= 1e-5 * max(abs(e), 1e-3), "\(what): \(actual) vs \(expected)")
      }
    }
    expectClose(try w(out, "gamma"), (0..<d).map { gamma[$0] / sNorm[$0] }, "gamma")
    expectClose(
      try w(out, "wgate"), (0..<(d * d)).map { gate[$0] * sNorm[$0 % d] }, "gate columns")
    // up: columns times the norm's scales, rows divided by the SwiGLU's.
    expectClose(
      try w(out, "wup"), (0..<(d * d)).map { up[$0] * sNorm[$0 % d] / sAct[$0 / d] }, "up")
    expectClose(
      try w(out, "wdown"), (0..<(d * d)).map { down[$0] * sAct[$0 % d] }, "down columns")
    // The head's input is not smoothed (the head stays float).
    #expect(try w(out, "gamma_f") == w(module, "gamma_f"))
    #expect(try w(out, "head") == w(module, "head"))
  }

  @Test func badAlphaIsRefused() {
    #expect(throws: PassError.self) { try PassManager(pipeline: "smooth{alpha=1.5}") }
  }
}
