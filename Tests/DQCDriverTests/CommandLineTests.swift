import DQCTestSupport
import Foundation
import Testing

@Suite(.serialized) struct CommandLineTests {
  let example = Paths.packageRoot + "/examples/llada-block.dqir"
  let pipeline = "infer-shapes,canonicalize,cse,dce{aggressive=true}"

  @Test func printingIsIdenticalAcrossProcesses() throws {
    let args = ["opt", example, "--pipeline", pipeline, "--print-weights", "--print-ir-after-all"]
    let first = try runCommand(Paths.dqcBinary, args)
    let second = try runCommand(Paths.dqcBinary, args)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(!first.stdout.isEmpty)
    #expect(first.stdout == second.stdout)
    #expect(first.stderr == second.stderr)
  }

  @Test func writtenModulesAreByteIdentical() throws {
    var outputs: [[Data]] = []
    for _ in 0..<2 {
      let dir = Paths.temporaryDirectory()
      let result = try runCommand(
        Paths.dqcBinary, ["opt", example, "--pipeline", pipeline, "-o", dir + "/out.dqir"])
      #expect(result.status == 0, "\(result.stderr)")
      outputs.append(
        try ["out.dqir", "out.weights.safetensors"].map {
          try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))
        })
      let verified = try runCommand(Paths.dqcBinary, ["verify", dir + "/out.dqir"])
      #expect(verified.status == 0, "\(verified.stderr)")
    }
    #expect(outputs[0] == outputs[1])
  }

  @Test(arguments: [
    (
      ["opt", "/nonexistent/x.dqir", "--pipeline", "dce"],
      "error: cannot read '/nonexistent/x.dqir'"
    ),
    (
      ["opt", "EXAMPLE", "--pipeline", "dce{aggressive=maybe}"],
      "pipeline:16: error: pass 'dce' option 'aggressive': expected a bool (true or false), got 'maybe'"
    ),
    (["opt", "EXAMPLE", "--pipeline", "nope"], "pipeline:1: error: unknown pass 'nope'"),
  ])
  func failuresPrintOneLineAndExitNonZero(_ arguments: [String], _ expectedPrefix: String) throws {
    let args = arguments.map { $0 == "EXAMPLE" ? example : $0 }
    let result = try runCommand(Paths.dqcBinary, args)
    #expect(result.status == 1)
    #expect(result.stdout.isEmpty)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(result.stderr)")
    #expect(result.stderr.hasPrefix(expectedPrefix), "stderr: \(result.stderr)")
  }

  @Test func malformedInputNamesFileLineAndColumnAndWritesNothing() throws {
    let dir = Paths.temporaryDirectory()
    let bad = dir + "/bad.dqir"
    try
      "dqir version 1\n\nmodule @m {\n  graph @main() -> () {\n    %y = onnx.Nope() : () -> tensor<f32>\n"
      .write(toFile: bad, atomically: true, encoding: .utf8)
    let result = try runCommand(
      Paths.dqcBinary, ["opt", bad, "--pipeline", "dce", "-o", dir + "/out.dqir"])
    #expect(result.status == 1)
    #expect(result.stderr == "\(bad):5:10: error: unknown op 'onnx.Nope'\n")
    #expect(!FileManager.default.fileExists(atPath: dir + "/out.dqir"))
  }

  @Test func helpAndPassListing() throws {
    let help = try runCommand(Paths.dqcBinary, ["--help"])
    #expect(help.status == 0)
    #expect(help.stdout.contains("opt") && help.stdout.contains("verify"))
    let optHelp = try runCommand(Paths.dqcBinary, ["opt", "--help"])
    #expect(optHelp.stdout.contains("--dump-ir-dir"))
    let passes = try runCommand(Paths.dqcBinary, ["passes"])
    #expect(passes.stdout.contains("canonicalize") && passes.stdout.contains("fold-limit=<int>"))
  }

  @Test func dumpDirectoryHoldsEveryStage() throws {
    let dir = Paths.temporaryDirectory()
    let result = try runCommand(
      Paths.dqcBinary, ["opt", example, "--pipeline", pipeline, "--dump-ir-dir", dir + "/ir"])
    #expect(result.status == 0, "\(result.stderr)")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/ir").sorted()
    #expect(
      files == [
        "00-input.dqir", "01-infer-shapes.dqir", "02-canonicalize.dqir", "03-cse.dqir",
        "04-dce.dqir",
      ])
  }
}
