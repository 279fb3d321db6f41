import DQCIR
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

@Suite("Golden IR files")
struct IRGoldenTests {
  @Test("print(parse(x)) == x", arguments: GoldenCases.roundTrip)
  func roundTrip(_ file: String) throws {
    let text = try String(contentsOfFile: GoldenCases.path(file), encoding: .utf8)
    let body = GoldenCases.strippingLeadingComments(text)
    let directory = URL(fileURLWithPath: GoldenCases.path(file)).deletingLastPathComponent().path
    let module = try IRParser.parse(body, file: file, baseDirectory: directory)
    let printed = IRPrinter.print(
      module, options: PrintOptions(printWeights: true, baseDirectory: directory))
    Golden.assertEqualTexts(printed, body, label: file)
  }

  @Test("every golden module verifies", arguments: GoldenCases.roundTrip)
  func verifies(_ file: String) throws {
    let text = try String(contentsOfFile: GoldenCases.path(file), encoding: .utf8)
    let module = try IRParser.parse(
      GoldenCases.strippingLeadingComments(text), file: file,
      baseDirectory: URL(fileURLWithPath: GoldenCases.path(file)).deletingLastPathComponent().path)
    try Verifier.verify(module)
  }

  @Test("malformed IR gives the expected diagnostic", arguments: GoldenCases.irErrors)
  func diagnostic(_ file: String) throws {
    let path = GoldenCases.path(file)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let name = "ir-errors/" + URL(fileURLWithPath: path).lastPathComponent
    var message = "no error"
    do {
      let module = try IRParser.parse(text, file: name)
      try Verifier.verify(module)
    } catch {
      message = error.description
      #expect(error.position != nil, "diagnostic for \(file) has no line and column")
    }
    let expectedPath = String(path.dropLast(".dqir".count)) + ".expected"
    Golden.assertMatches(message + "\n", expectedPath: expectedPath)
  }

  @Test("the golden tree has enough cases")
  func caseCount() {
    let total = GoldenCases.roundTrip.count + GoldenCases.irErrors.count + GoldenCases.passes.count
    #expect(total >= 30, "only \(total) golden cases")
  }
}
