import DQCDriver
import DQCTestSupport
import Foundation
import Testing

/// `dqc eval`'s exact match and its per-quarter committed-token accuracy on the trained fixture.
@Suite(.serialized) struct EvalJobTests {
  static let fixture = Paths.packageRoot + "/Tests/Fixtures/llada-tiny"

  @Test func quartersCountCommittedTokensOnTheLinearSchedule() throws {
    let model = try DiffusionModel(path: Self.fixture)
    var job = EvalJob(taskFile: Self.fixture + "/eval/sort.jsonl")
    job.limit = 8
    let result = try job.run(model: model)
    // gen length 11 and 11 steps, one token a step: quarters end after steps 3, 6, 9 and 11.
    #expect(result.quarters.map(\.committed) == [24, 48, 72, 88])
    #expect(result.total == 8)
    #expect(result.correct == 8, "the fixture solves held-out sorting (docs/fixture.md)")
    #expect(result.quarters.allSatisfy { $0.correct == $0.committed })
  }

  @Test func wrongReferencesAreCountedWrong() throws {
    let model = try DiffusionModel(path: Self.fixture)
    let line = try #require(
      try String(contentsOfFile: Self.fixture + "/eval/add.jsonl", encoding: .utf8)
        .split(separator: "\n").first)
    var record = try #require(
      try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    var answer = try #require(record["answer_ids"] as? [Int])
    answer[0] = answer[0] == 5 ? 6 : 5  // another digit
    record["answer_ids"] = answer
    let file = Paths.temporaryDirectory() + "/wrong.jsonl"
    try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: file))
    let result = try EvalJob(taskFile: file).run(model: model)
    #expect(result.correct == 0)
    #expect(result.quarters[3].committed == answer.count)
    #expect(result.quarters[3].correct == answer.count - 1)
  }
}
