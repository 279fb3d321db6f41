import DQCFrontend
import DQCIR
import DQCInterp
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// GPTQ against the independent NumPy implementation of `Scripts/gptq_reference.py` (itself
/// checked against gptq.py run in float64), on a 64×256 layer with correlated, partly scaled
/// and one dead input column.
@Suite struct GPTQTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/gptq"
  static let cases = [
    "b4_g128_asym", "b4_g32_asym", "b4_g32_asym_blk32", "b4_pc_sym_act", "b3_g64_asym_act",
  ]

  struct Params: Decodable {
    let bits: Int
    let groupSize: Int
    let perChannel: Bool
    let sym: Bool
    let actOrder: Bool
    let damp: Double
    let blockSize: Int
    let rows: Int
    let columns: Int

    enum CodingKeys: String, CodingKey {
      case bits, sym, damp
      case groupSize = "group_size"
      case perChannel = "per_channel"
      case actOrder = "act_order"
      case blockSize = "block_size"
      case rows = "N"
      case columns = "K"
    }
  }

  @Test(arguments: cases)
  func matchesNumPyReference(_ name: String) throws {
    let folder = Self.root + "/" + name
    let p = try JSONDecoder().decode(
      Params.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/params.json")))
    let w = try NPYFile.read(Self.root + "/W.npy").doubles
    let h = try NPYFile.read(Self.root + "/H.npy").doubles
    let gptq = GPTQ(
      quantizer: WeightQuantizer(
        bits: p.bits, groupSize: p.perChannel ? 0 : p.groupSize, symmetric: p.sym),
      damp: p.damp, blockSize: p.blockSize, actOrder: p.actOrder)
    let result = try gptq.quantize(w, rows: p.rows, columns: p.columns, hessian: h)
    let codes = try NPYFile.read(folder + "/codes.npy").ints
    let q = try NPYFile.read(folder + "/Q.npy").doubles
    let scales = try NPYFile.read(folder + "/scales.npy").doubles
    let zeros = try NPYFile.read(folder + "/zeros.npy").doubles
    let codeMismatches = zip(result.codes, codes).filter { $0 != $1 }.count
    #expect(codeMismatches == 0, "\(codeMismatches) codes differ")
    #expect(zip(result.dequantized, q).allSatisfy { abs($0 - $1) <= 1e-12 })
    #expect(zip(result.scales, scales).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
    #expect(result.zeros == zeros)
  }

  /// CGQ with every token weight 1 (m = 0 and all confidences 1 on clean calibration text)
  /// builds GPTQ's Hessian, so the quantized model is identical.
  @Test func cgqWithUnitWeightsEqualsGPTQ() throws {
    let dir = Paths.temporaryDirectory()
    var rng = SplitMix64(seed: 3)
    let lines = (0..<6).map { _ in
      let prompt = (0..<5).map { _ in Int(rng.next() % 40) + 3 }
      let answer = (0..<6).map { _ in Int(rng.next() % 40) + 3 }
      return "{\"prompt_ids\": \(prompt), \"answer_ids\": \(answer)}"
    }
    try (lines.joined(separator: "\n") + "\n").write(
      toFile: dir + "/calib.jsonl", atomically: true, encoding: .utf8)
    let model = try ModelImporter.importModel(
      at: Paths.packageRoot + "/Tests/Fixtures/exports/llada")
    func quantize(_ pass: String) throws -> Module {
      var m = model
      var context = PassContext()
      try PassManager(pipeline: "calib-clean{calib=\(dir)/calib.jsonl,samples=6},\(pass)").run(
        &m, context: &context, output: { _ in })
      return m
    }
    let gptq = try quantize("gptq{bits=4,group-size=32}")
    let cgq = try quantize("cgq{bits=4,group-size=32,masked-weight=0.0,decoded-weight=0.0}")
    #expect(!gptq.weights.names.filter { $0.hasSuffix(".q") }.isEmpty)
    for weight in gptq.weights {
      #expect(
        try weight.loadBytes() == cgq.weights[weight.name]?.loadBytes(),
        "weight @\(weight.name) differs")
    }
    #expect(gptq.graph == cgq.graph)
  }
}
