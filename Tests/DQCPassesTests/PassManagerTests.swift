import DQCIR
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// A pass that breaks the IR, to check the verifier runs after each pass.
struct BreakTypes: ModulePass {
  static let name = "break-types"
  static let displayName = "BreakTypes"
  static let summary = "Test only: makes the first result's element type wrong"

  init(options: PassOptions) throws(PassError) {}

  func run(on module: inout Module, context: inout PassContext) throws(PassError) -> PassOutcome {
    module.graph.instructions[0].results[0].type.element = .i64
    return PassOutcome(changed: true)
  }
}

@Suite struct PassManagerTests {
  let text = """
    dqir version 1

    module @m {
      graph @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
        %a = onnx.Identity(%x) : (tensor<4xf32>) -> tensor<4xf32>
        %b = onnx.Exp(%a) : (tensor<4xf32>) -> tensor<4xf32>
        %c = onnx.Exp(%a) : (tensor<4xf32>) -> tensor<4xf32>
        %d = onnx.Add(%b, %c) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
        return %d
      }
    }

    """

  @Test func dumpsEveryStageIntoNumberedFiles() throws {
    var module = try IRParser.parse(text)
    var manager = try PassManager(pipeline: "canonicalize,cse,dce")
    let dir = Paths.temporaryDirectory()
    manager.instrumentation.dumpDirectory = dir
    var context = PassContext()
    try manager.run(&module, context: &context, output: { _ in })
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    #expect(files == ["00-input.dqir", "01-canonicalize.dqir", "02-cse.dqir", "03-dce.dqir"])
    let input = try String(contentsOfFile: dir + "/00-input.dqir", encoding: .utf8)
    #expect(input == text)
    let cse = try String(contentsOfFile: dir + "/02-cse.dqir", encoding: .utf8)
    #expect(cse.hasPrefix("// -----// IR Dump After CSE (cse) //----- //\ndqir version 1\n"))
    #expect(!cse.contains("%c = "))
    // Every dump parses back.
    for file in files {
      _ = try IRParser.parse(try String(contentsOfFile: dir + "/" + file, encoding: .utf8))
    }
  }

  @Test func printsOnlyWhatWasAskedFor() throws {
    var module = try IRParser.parse(text)
    var manager = try PassManager(pipeline: "canonicalize,cse,dce")
    manager.instrumentation.printBefore = ["cse"]
    manager.instrumentation.printAfter = ["dce"]
    var printed = ""
    var context = PassContext()
    try manager.run(&module, context: &context, output: { printed += $0 })
    let headers = printed.split(separator: "\n").filter { $0.hasPrefix("// -----//") }
    #expect(
      headers == [
        "// -----// IR Dump Before CSE (cse) //----- //",
        "// -----// IR Dump After DeadCodeElimination (dce) //----- //",
      ])
  }

  @Test func timingAndStatisticsReports() throws {
    var module = try IRParser.parse(text)
    var manager = try PassManager(pipeline: "cse,dce")
    manager.instrumentation.timePasses = true
    manager.instrumentation.passStatistics = true
    var printed = ""
    var context = PassContext()
    let report = try manager.run(&module, context: &context, output: { printed += $0 })
    #expect(report.entries.map(\.pass) == ["cse", "dce"])
    #expect(printed.contains("... Execution time report ..."))
    #expect(printed.contains("(S) 1 instructions-merged"))
    #expect(printed.contains("Total"))
  }

  @Test func verifierFailureNamesThePass() throws {
    var module = try IRParser.parse(text)
    let manager = PassManager(passes: [try BreakTypes(options: PassOptions(defaults: []))])
    var context = PassContext()
    do {
      try manager.run(&module, context: &context, output: { _ in })
      Issue.record("expected a verifier failure")
    } catch {
      #expect(error.description.contains("IR is invalid after pass 'break-types'"))
      #expect(error.description.contains("5:5:"))
    }
  }
}
