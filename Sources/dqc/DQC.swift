import ArgumentParser
import DQCDriver

/// The `dqc` command: a model-conversion compiler for diffusion language models.
@main
struct DQC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dqc",
    abstract: "A model-conversion compiler for diffusion language models.",
    discussion: """
      dqc reads models into a typed IR (.dqir text), runs passes over it, and writes the result.

      Start here:
        dqc import model.onnx -o model.dqir           import an ONNX file or checkpoint folder
        dqc inspect model.onnx                        inputs, outputs, ops, parameters
        dqc verify model.dqir                         check a .dqir file
        dqc opt model.dqir --pipeline canonicalize,cse,dce --print-ir-after-all
        dqc passes                                    list passes and their options
      """,
    version: Driver.version,
    subcommands: [
      Import.self, Inspect.self, Exec.self, Run.self, Eval.self, Opt.self, Verify.self, Passes.self,
    ]
  )
}
