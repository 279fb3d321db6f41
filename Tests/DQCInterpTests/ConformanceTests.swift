import DQCFrontend
import DQCIR
import DQCInterp
import DQCTestSupport
import Foundation
import Testing

/// The ONNX backend node tests, run through the importer and the interpreter.
///
/// The cases come from `Scripts/make_onnx_conformance.py` (the `onnx` package's case
/// generators). The per-op table
/// in `docs/onnx-conformance.md` is this test's golden output.
@Suite struct ConformanceTests {
  static let root = Paths.packageRoot + "/Tests/Fixtures/onnx-conformance"

  enum Outcome: Equatable {
    case passed
    case unsupportedType(String)
    case failed(String)
  }

  struct Case {
    var name: String
    var ops: String
  }

  static func cases() -> [Case] {
    guard let text = try? String(contentsOfFile: root + "/cases.tsv", encoding: .utf8) else {
      return []
    }
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
      return fields.count >= 2 ? Case(name: String(fields[0]), ops: String(fields[1])) : nil
    }
  }

  /// ONNX's runner compares with `rtol = 1e-3, atol = 1e-7` unless a case says otherwise.
  static func close(
    _ actual: Tensor, _ expected: DenseTensor, rtol: Double = 1e-3, atol: Double = 1e-7
  ) -> String? {
    guard actual.shape == (expected.type.staticShape ?? []) else {
      return "shape \(actual.shape), expected \(expected.type.staticShape ?? [])"
    }
    guard actual.element == expected.type.element else {
      return "element type \(actual.element), expected \(expected.type.element)"
    }
    // ONNX's runner widens bfloat16 outputs to f32 and compares with rtol = max(rtol, 2^-6).
    let rtol = expected.type.element == .bf16 ? max(rtol, 1.0 / 64) : rtol
    let a = actual.doubles
    let b = expected.doubles
    for (i, (x, y)) in zip(a, b).enumerated() {
      if x.isNaN && y.isNaN { continue }
      if x == y { continue }
      if abs(x - y) > atol + rtol * abs(y) { return "element \(i) is \(x), expected \(y)" }
    }
    return nil
  }

  static func run(_ c: Case) -> Outcome {
    let folder = root + "/" + c.name
    let module: Module
    do {
      module = try ModelImporter.importModel(at: folder + "/model.onnx")
    } catch {
      if error.message.contains("is not supported (expected one of") {
        return .unsupportedType(error.message)
      }
      return .failed("import: " + error.message)
    }
    do {
      var inputs: [String: Tensor] = [:]
      for (i, arg) in module.graph.arguments.enumerated() {
        inputs[arg.name] = Tensor(
          try ONNXTensorFile.read(folder + "/test_data_set_0/input_\(i).pb").value)
      }
      let outputs = try Interpreter(module: module).run(inputs)
      for (i, output) in outputs.enumerated() {
        let expected = try ONNXTensorFile.read(folder + "/test_data_set_0/output_\(i).pb").value
        if let problem = close(output, expected) { return .failed("output \(i): " + problem) }
      }
      return .passed
    } catch let error as FrontendError {
      if error.message.contains("is not supported (expected one of") {
        return .unsupportedType(error.message)
      }
      return .failed(error.description)
    } catch let error as InterpreterError {
      return .failed("run: " + error.description)
    } catch {
      return .failed("\(error)")
    }
  }

  @Test func nodeConformance() throws {
    let cases = Self.cases()
    try #require(cases.count >= 100, "no conformance cases found under \(Self.root)")
    var rows: [String: (cases: Int, passed: Int, unsupported: Int, failed: Int)] = [:]
    var failures: [String] = []
    var unsupported: [String] = []
    for c in cases {
      if ProcessInfo.processInfo.environment["DQC_TRACE_CONFORMANCE"] != nil {
        print("case", c.name)
      }
      let outcome = Self.run(c)
      var row = rows[c.ops] ?? (0, 0, 0, 0)
      row.cases += 1
      switch outcome {
      case .passed: row.passed += 1
      case .unsupportedType(let why):
        row.unsupported += 1
        unsupported.append("- `\(c.name)`: \(why)")
      case .failed(let why):
        row.failed += 1
        failures.append("- `\(c.name)`: \(why)")
      }
      rows[c.ops] = row
    }
    let total = cases.count
    let passed = rows.values.reduce(0) { $0 + $1.passed }
    let skipped = rows.values.reduce(0) { $0 + $1.unsupported }
    let rate = Double(passed) / Double(max(total - skipped, 1)) * 100
    var report = """
      # ONNX node conformance

      The ONNX backend node tests for the ops dqc supports (`Tests/Fixtures/onnx-conformance/`,
      made by `python3 Scripts/make_onnx_conformance.py` from the `onnx` package's case
      generators), imported by `DQCFrontend` and run by `DQCInterp`, compared with ONNX's
      tolerances (`|actual - expected| <= 1e-7 + 1e-3 * |expected|`). This page is the golden
      output of `ConformanceTests`; refresh it with
      `UPDATE_GOLDEN=1 swift test --filter ConformanceTests`.

      **\(total) cases: \(passed) passed, \(total - passed - skipped) failed, \(skipped) use element
      types dqc deliberately does not support. Pass rate over the supported cases:
      \(String(format: "%.1f", rate))%.**

      | ops | cases | passed | unsupported types | failed |
      |---|---|---|---|---|

      """
    for key in rows.keys.sorted() {
      let r = rows[key]!
      report += "| \(key) | \(r.cases) | \(r.passed) | \(r.unsupported) | \(r.failed) |\n"
    }
    report +=
      "\n## Failures\n\n" + (failures.isEmpty ? "None.\n" : failures.joined(separator: "\n") + "\n")
    report += """

      Why: training-mode `Dropout` draws its mask from NumPy's generator, which no runtime can
      reproduce (ONNX Runtime fails these too), and dqc refuses training-mode graphs. The f16
      attention case rounds every intermediate to f16 as the expanded graph says; the reference
      keeps some intermediates in f32, a difference of two f16 ulps.

      """
    report +=
      "\n## Cases with unsupported element types\n\n"
      + (unsupported.isEmpty ? "None.\n" : unsupported.joined(separator: "\n") + "\n")
    Golden.assertMatches(report, expectedPath: Paths.packageRoot + "/docs/onnx-conformance.md")
    #expect(rate >= 95, "pass rate \(rate)% is under 95%")
  }
}
