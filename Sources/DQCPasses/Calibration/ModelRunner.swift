import DQCIR
import DQCInterp

/// Runs a module as a diffusion LM for calibration: token batches in, logits out.
struct ModelRunner {
  let module: Module
  let interpreter: Interpreter
  let input: String
  let maskID: Int64

  init(module: Module, maskID: Int64?, pass: String) throws(PassError) {
    guard let input = module.graph.arguments.first?.name else {
      throw .invalidModule(pass: pass, message: "the model has no input")
    }
    guard let mask = maskID ?? module.attributes["model.mask_token_id"]?.intValue else {
      throw .invalidModule(
        pass: pass,
        message: "no mask token id: set the pass's mask-id option or model.mask_token_id")
    }
    self.module = module
    self.input = input
    self.maskID = mask
    do {
      interpreter = try Interpreter(module: module)
    } catch {
      throw .invalidModule(pass: pass, message: error.description)
    }
  }

  func logits(_ batch: [[Int64]]) throws -> Tensor {
    try interpreter.run([
      input: Tensor(shape: [batch.count, batch[0].count], ints: batch.flatMap { $0 })
    ])[0]
  }
}
