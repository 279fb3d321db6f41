import DQCDriver
import DQCTestSupport
import Foundation
import Testing

/// `dqc eval --nll` against an independent reference: masked-token NLL recomputed from ONNX
/// Runtime's logits of the fixture with a float64 log-softmax (`Scripts/make_nll_reference.py`,
/// `Tests/Fixtures/nll/`), on the masks dqc draws (which the reference records, so a change in
/// the seeded draws fails here too).
@Suite(.serialized) struct EvalNLLTests {
  static let fixture = Paths.packageRoot + "/Tests/Fixtures/llada-tiny"

  struct Reference: Decodable {
    var problem: Int
    var ratio: Double
    var draw: Int
    var masked: [Int]
    var nats: Double
  }

  static func reference(_ task: String) throws -> [Reference] {
    let text = try String(
      contentsOfFile: Paths.packageRoot + "/Tests/Fixtures/nll/\(task).jsonl", encoding: .utf8)
    return try text.split(separator: "\n").map {
      try JSONDecoder().decode(Reference.self, from: Data($0.utf8))
    }
  }

  @Test(arguments: ["sort", "add"])
  func perSampleNLLMatchesOnnxRuntime(task: String) throws {
    let model = try DiffusionModel(path: Self.fixture)
    var job = EvalJob(taskFile: Self.fixture + "/eval/\(task).jsonl")
    job.limit = 12
    job.nll = true
    job.nllDraws = 2
    let result = try job.run(model: model)
    let reference = try Self.reference(task)
    #expect(result.nllSamples.count == reference.count)
    var worst = 0.0
    for (sample, expected) in zip(result.nllSamples, reference) {
      #expect(sample.problem == expected.problem && sample.draw == expected.draw)
      #expect(abs(sample.ratio - expected.ratio) < 1e-9)
      #expect(sample.masked == expected.masked, "the seeded mask draw changed")
      #expect(sample.tokens == expected.masked.count)
      // Interpreter vs ONNX Runtime logits differ by ~3e-5 at most; NLL = Σ -log softmax.
      let error = abs(sample.nats - expected.nats) / (abs(expected.nats) + 1e-6)
      worst = max(worst, error)
      #expect(
        abs(sample.nats - expected.nats) <= 1e-3 * abs(expected.nats) + 1e-9,
        "problem \(sample.problem) ratio \(sample.ratio) draw \(sample.draw)")
    }
    // The pooled means the report prints are the samples' totals over their tokens.
    for row in result.nll {
      let of = result.nllSamples.filter { abs($0.ratio - row.ratio) < 1e-9 }
      let nats = of.reduce(0.0) { $0 + $1.nats }
      let tokens = of.reduce(0) { $0 + $1.tokens }
      #expect(tokens == row.tokens)
      #expect(abs(nats / Double(tokens) - row.nll) <= 1e-12 * max(1, row.nll))
    }
    print("\(task): worst relative NLL error vs ONNX Runtime \(worst)")
  }

  @Test func drawZeroIsTheSameMaskForAnyDrawCount() throws {
    let model = try DiffusionModel(path: Self.fixture)
    var one = EvalJob(taskFile: Self.fixture + "/eval/sort.jsonl")
    one.limit = 3
    one.nll = true
    var three = one
    three.nllDraws = 3
    let a = try one.run(model: model).nllSamples
    let b = try three.run(model: model).nllSamples.filter { $0.draw == 0 }
    #expect(a.map(\.masked) == b.map(\.masked))
    #expect(a.map(\.nats) == b.map(\.nats))
    let draws = try three.run(model: model).nllSamples.filter { $0.problem == 0 && $0.ratio == 0.5 }
    #expect(Set(draws.map(\.masked)).count > 1, "draws should differ")
  }
}
