import DQCIR
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

@Suite("Golden pass cases")
struct PassGoldenTests {
  @Test("pass output matches", arguments: GoldenCases.passes)
  func passCase(_ file: String) throws {
    let path = GoldenCases.path(file)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let written = try #require(
      GoldenCases.pipeline(of: text), "\(file) must start with '// pipeline: <passes>'")
    // `$DIR` in the pipeline stands for the case's folder (calibration files live there).
    let pipeline = written.replacingOccurrences(
      of: "$DIR",
      with: URL(fileURLWithPath: GoldenCases.path(file)).deletingLastPathComponent().path)
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let stem = String(path.dropLast(".dqir".count))
    var output: String
    do {
      var module = try IRParser.parse(text, file: file, baseDirectory: directory)
      try Verifier.verify(module)
      var context = PassContext()
      try PassManager(pipeline: pipeline).run(&module, context: &context, output: { _ in })
      output =
        "// pipeline: \(written)\n"
        + IRPrinter.print(
          module, options: PrintOptions(printWeights: true, baseDirectory: directory))
    } catch {
      output = "\(error)\n"
      Golden.assertMatches(output, expectedPath: stem + ".expected-error")
      return
    }
    Golden.assertMatches(output, expectedPath: stem + ".expected.dqir")
  }

  @Test("every registered pass has a unique name and golden cases")
  func registryCoverage() {
    let names = PassRegistry.names
    #expect(Set(names).count == names.count, "duplicate pass names: \(names)")
    for name in names {
      let cases = GoldenCases.passes.filter { $0.hasPrefix("Golden/passes/\(name)/") }
      #expect(!cases.isEmpty, "pass '\(name)' has no cases under Golden/passes/\(name)/")
      #expect(name == name.lowercased() && !name.contains(" "), "'\(name)' is not kebab-case")
    }
  }
}
