import DQCIR
import Foundation

/// Runs passes in order, verifying the IR after each (by default) and applying instrumentation.
public struct PassManager: Sendable {
  /// The passes to run.
  public var passes: [any ModulePass]
  /// Run the verifier after every pass.
  public var verifyEach = true
  /// Printing, dumping and timing around passes.
  public var instrumentation = Instrumentation()

  /// Creates a pass manager over `passes`.
  public init(passes: [any ModulePass]) { self.passes = passes }

  /// Creates a pass manager from pipeline text such as `canonicalize,dce{aggressive=true}`.
  public init(pipeline text: String) throws(PassError) {
    self.passes = try Pipeline(parsing: text).instantiate()
  }

  /// Runs every pass on `module`.
  ///
  /// Printed IR goes to `output` (standard error by default).
  @discardableResult
  public func run(
    _ module: inout Module, context: inout PassContext,
    output: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
  ) throws(PassError) -> PipelineReport {
    var report = PipelineReport()
    let dumper = try instrumentation.dumpDirectory.map { dir throws(PassError) in
      try IRDumper(directory: dir, options: instrumentation.printOptions)
    }
    try dumper?.write(module, index: 0, name: "input")
    for (i, pass) in passes.enumerated() {
      let type = type(of: pass)
      if instrumentation.printBefore.contains(type.name) {
        output(
          Instrumentation.header(after: false, pass: type) + "\n"
            + IRPrinter.print(module, options: instrumentation.printOptions) + "\n")
      }
      let start = DispatchTime.now().uptimeNanoseconds
      let outcome = try pass.run(on: &module, context: &context)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      report.entries.append(.init(pass: type.name, seconds: seconds, outcome: outcome))
      if verifyEach {
        do {
          try Verifier.verify(module)
        } catch {
          throw .verificationFailed(pass: type.name, error: error)
        }
      }
      if instrumentation.printAfterAll || instrumentation.printAfter.contains(type.name) {
        output(
          Instrumentation.header(after: true, pass: type) + "\n"
            + IRPrinter.print(module, options: instrumentation.printOptions) + "\n")
      }
      try dumper?.write(
        module, index: i + 1, name: type.name,
        header: Instrumentation.header(after: true, pass: type))
    }
    if instrumentation.passStatistics { output(report.statisticsReport()) }
    if instrumentation.timePasses { output(report.timingReport()) }
    return report
  }
}

/// Writes numbered IR dumps into a directory.
struct IRDumper {
  let directory: String
  let options: PrintOptions

  init(directory: String, options: PrintOptions) throws(PassError) {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw .io("cannot create dump directory '\(directory)'")
    }
    self.directory = directory
    var options = options
    options.baseDirectory = URL(fileURLWithPath: directory).standardizedFileURL.path
    self.options = options
  }

  func write(_ module: Module, index: Int, name: String, header: String? = nil) throws(PassError) {
    let file = (index < 10 ? "0" : "") + "\(index)-\(name).dqir"
    let path = URL(fileURLWithPath: directory).appendingPathComponent(file).path
    let text = (header.map { $0 + "\n" } ?? "") + IRPrinter.print(module, options: options)
    do {
      try ModuleFile.atomicWrite(Array(text.utf8), to: path)
    } catch {
      throw .io("cannot write dump '\(path)': \(error)")
    }
  }
}
