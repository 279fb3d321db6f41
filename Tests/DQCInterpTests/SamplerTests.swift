import DQCInterp
import Foundation
import Testing

@Suite struct SamplerTests {
  /// LLaDA's get_num_transfer_tokens: `mask_num // steps`, plus one for the first
  /// `mask_num % steps` steps.
  @Test(arguments: [
    (8, 3, [3, 3, 2]), (4, 4, [1, 1, 1, 1]), (5, 2, [3, 2]), (2, 4, [1, 1, 0, 0]),
  ])
  func transferSchedule(_ masked: Int, _ steps: Int, _ expected: [Int]) {
    #expect(SamplerOptions.transferSchedule(masked: masked, steps: steps) == expected)
  }

  /// A fake model whose confidence at position p is fixed: the sampler must commit the most
  /// confident masked positions of the current block first and never touch the next block.
  @Test func commitsMostConfidentPositionsOfTheCurrentBlock() throws {
    let vocab = 9
    let mask: Int64 = 8
    // Position p (of 6 answer positions after a 2-token prompt) predicts token p with a
    // logit margin growing with a fixed per-position strength.
    let strength: [Float] = [0, 0, 1, 5, 3, 2, 9, 4]
    let forward: ([[Int64]]) throws -> Tensor = { batch in
      var values = [Float](repeating: 0, count: batch.count * batch[0].count * vocab)
      for b in 0..<batch.count {
        for p in 0..<batch[0].count {
          values[(b * batch[0].count + p) * vocab + p % vocab] = strength[p]
        }
      }
      return Tensor(shape: [batch.count, batch[0].count, vocab], floats: values)
    }
    var committedOrder: [[Int]] = []
    let sampler = DiffusionSampler(
      maskID: mask, options: SamplerOptions(steps: 4, genLength: 6, blockLength: 3))
    let out = try sampler.generate(prompts: [[0, 1]], forward: forward) { _, step in
      committedOrder.append(step.committed)
      // Nothing beyond the current block is ever committed.
      let blockEnd = 2 + (step.block + 1) * 3
      #expect(step.output[blockEnd...].allSatisfy { $0 == mask })
    }
    // Block 0 = positions 2, 3, 4 (strengths 1, 5, 3); 2 steps commit 2 then 1.
    // Block 1 = positions 5, 6, 7 (strengths 2, 9, 4).
    #expect(committedOrder == [[3, 4], [2], [6, 7], [5]])
    #expect(out[0] == [0, 1, 2, 3, 4, 5, 6, 7])
  }

  @Test func rejectsIncompatibleOptions() {
    #expect(SamplerOptions(steps: 3, genLength: 8, blockLength: 4).validate() != nil)
    #expect(SamplerOptions(steps: 4, genLength: 8, blockLength: 3).validate() != nil)
    #expect(SamplerOptions(steps: 4, genLength: 8, blockLength: 4).validate() == nil)
  }
}
