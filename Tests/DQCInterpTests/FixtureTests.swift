import DQCFrontend
import DQCIR
import DQCInterp
import DQCTestSupport
import Foundation
import Testing

/// The committed trained fixture (`Tests/Fixtures/llada-tiny`): its ONNX export and its
/// safetensors checkpoint compute the same logits in dqc, its tokenizer reproduces the eval
/// sets' token ids, and dqc's sampler solves held-out problems.
@Suite(.serialized) struct FixtureTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/llada-tiny"

  static func records(_ task: String, limit: Int) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: root + "/eval/\(task).jsonl", encoding: .utf8)
    return text.split(separator: "\n").prefix(limit).compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
  }

  static func ints(_ value: Any?) -> [Int64] {
    (value as? [Any])?.compactMap { ($0 as? Int).map(Int64.init) } ?? []
  }

  @Test func onnxAndCheckpointAgree() throws {
    let checkpoint = try Interpreter(module: ModelImporter.importModel(at: Self.root))
    let onnx = try Interpreter(module: ModelImporter.importModel(at: Self.root + "/model.onnx"))
    let record = try #require(try Self.records("sort", limit: 1).first)
    let prompt = Self.ints(record["prompt_ids"])
    let ids = Tensor(shape: [1, prompt.count], ints: prompt)
    let a = try checkpoint.run(["input_ids": ids])[0]
    let b = try onnx.run(["input_ids": ids])[0]
    let error = ExportDifferentialTests.relativeError(a, b)
    #expect(error <= 1e-5, "checkpoint and ONNX differ by \(error)")
  }

  @Test(arguments: ["rev", "sort", "add"])
  func tokenizerReproducesPromptIDs(_ task: String) throws {
    let tokenizer = try Tokenizer(path: Self.root + "/tokenizer.json")
    for record in try Self.records(task, limit: 200) {
      let prompt = try #require(record["prompt"] as? String)
      #expect(try tokenizer.encode(prompt) == Self.ints(record["prompt_ids"]), "\(prompt)")
    }
  }

  @Test(arguments: ["rev", "sort", "add"])
  func samplerSolvesHeldOutProblems(_ task: String) throws {
    let module = try ModelImporter.importModel(at: Self.root)
    let interpreter = try Interpreter(module: module)
    let mask = try #require(module.attributes["model.mask_token_id"]?.intValue)
    let records = try Self.records(task, limit: 32)
    var correct = 0
    for record in records {
      let prompt = Self.ints(record["prompt_ids"])
      let answer = Self.ints(record["answer_ids"])
      let sampler = DiffusionSampler(
        maskID: mask,
        options: SamplerOptions(
          steps: answer.count, genLength: answer.count, blockLength: answer.count))
      let out = try sampler.generate(prompts: [prompt]) { batch in
        try interpreter.run([
          "input_ids": Tensor(shape: [batch.count, batch[0].count], ints: batch.flatMap { $0 })
        ])[0]
      }
      if Array(out[0][prompt.count...]) == answer { correct += 1 }
    }
    // At least 90% (29 of 32); the PyTorch sampler solves all 1000 held-out problems of each
    // task (docs/fixture.md).
    #expect(correct >= 29, "\(task): \(correct)/\(records.count)")
  }
}
