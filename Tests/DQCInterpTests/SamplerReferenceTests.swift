import DQCFrontend
import DQCIR
import DQCInterp
import DQCTestSupport
import Foundation
import Testing

/// dqc's sampler against LLaDA's `generate` run in PyTorch on the same random-weight model
/// (`Scripts/make_sampler_reference.py`): every step's sequence and committed positions are
/// identical, confidences agree to 1e-5 relative.
@Suite(.serialized) struct SamplerReferenceTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/sampler"

  static let cases: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
    .filter { $0.hasSuffix(".json") }.sorted()

  @Test(arguments: cases)
  func trajectoryMatchesPyTorch(_ file: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/" + file))
    let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let prompt = try #require(reference["prompt"] as? [Int]).map(Int64.init)
    let options = SamplerOptions(
      steps: try #require(reference["steps"] as? Int),
      genLength: try #require(reference["gen_length"] as? Int),
      blockLength: try #require(reference["block_length"] as? Int))
    let module = try ModelImporter.importModel(
      at: Paths.packageRoot + "/" + (reference["model"] as? String ?? ""))
    let interpreter = try Interpreter(module: module)
    let forward: ([[Int64]]) throws -> Tensor = { batch in
      try interpreter.run([
        "input_ids": Tensor(shape: [batch.count, batch[0].count], ints: batch.flatMap { $0 })
      ])[0]
    }
    var steps: [SamplerStep] = []
    let sampler = DiffusionSampler(
      maskID: Int64(reference["mask_id"] as? Int ?? -1), options: options)
    let final = try sampler.generate(prompts: [prompt], forward: forward) { _, step in
      steps.append(step)
    }
    let trajectory = try #require(reference["trajectory"] as? [[String: Any]])
    #expect(steps.count == trajectory.count)
    for (mine, theirs) in zip(steps, trajectory) {
      #expect(
        mine.output == (theirs["tokens"] as? [Int] ?? []).map(Int64.init), "step \(mine.step)")
      let committed = theirs["committed"] as? [Int] ?? []
      #expect(mine.committed == committed.sorted(), "step \(mine.step)")
      let confidences = theirs["confidence"] as? [Double] ?? []
      for (position, expected) in zip(committed, confidences) {
        let actual = mine.confidence[position]
        #expect(abs(actual - expected) <= 1e-5 * expected, "step \(mine.step) position \(position)")
      }
    }
    #expect(final[0] == (reference["final"] as? [Int] ?? []).map(Int64.init))
  }

  @Test func transferScheduleMatchesLLaDA() throws {
    let text = try String(contentsOfFile: Self.root + "/num_transfer_tokens.jsonl", encoding: .utf8)
    var checked = 0
    for line in text.split(separator: "\n") {
      let row = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let masked = try #require(row["mask_count"] as? Int)
      let steps = try #require(row["steps"] as? Int)
      #expect(
        SamplerOptions.transferSchedule(masked: masked, steps: steps) == row["num_transfer_tokens"]
          as? [Int])
      checked += 1
    }
    #expect(checked > 50)
  }
}
