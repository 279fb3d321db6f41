import ArgumentParser
import DQCDriver

/// The `dqc` command: a model-conversion compiler for diffusion language models.
@main
struct DQC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dqc",
    abstract: "A model-conversion compiler for diffusion language models.",
    discussion: """
      dqc reads ONNX files and Hugging Face checkpoints into a typed IR (.dqir text), runs passes
      over it (clean-up, raising to model ops, diffusion-aware quantization), and writes the result.

      Start here:
        dqc compile model.onnx -o w4a8.dqir --w4a8 --calib prompts.jsonl   quantize
        dqc import model.onnx -o model.dqir           import an ONNX file or checkpoint folder
        dqc inspect model.onnx                        inputs, outputs, ops, parameters
        dqc verify model.dqir                         check a .dqir file
        dqc opt model.dqir --pipeline canonicalize,cse,dce --print-ir-after-all
        dqc passes                                    list passes and their options
      """,
    version: Driver.version,
    subcommands: [
      Compile.self, Import.self, Inspect.self, Exec.self, Run.self, Eval.self, Opt.self,
      Verify.self, Passes.self, BenchGPTQ.self,
    ]
  )
}
