import DQCTestSupport
import Foundation

/// Golden cases discovered from the `Golden/` tree.
enum GoldenCases {
  /// Every `.dqir` that must round-trip: all of `Golden/` except `ir-errors/`.
  static let roundTrip: [String] = Paths.files(under: Paths.golden, suffix: ".dqir")
    .filter { !$0.contains("/ir-errors/") }
    .map(Golden.relative)

  /// Malformed inputs with their expected diagnostics (`<case>.dqir` + `<case>.expected`).
  static let irErrors: [String] = Paths.files(under: Paths.golden + "/ir-errors", suffix: ".dqir")
    .map(Golden.relative)

  /// Pass cases: `Golden/passes/<pass>/<case>.dqir`, not the `.expected.dqir` outputs.
  static let passes: [String] = Paths.files(under: Paths.golden + "/passes", suffix: ".dqir")
    .filter { !$0.hasSuffix(".expected.dqir") }
    .map(Golden.relative)

  /// The absolute path of a case named relative to the package root.
  static func path(_ relative: String) -> String { Paths.packageRoot + "/" + relative }

  /// The text with its leading `//` comment lines (pipeline lines, dump headers) removed.
  static func strippingLeadingComments(_ text: String) -> String {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
    while let first = lines.first, first.hasPrefix("//") { lines = lines.dropFirst() }
    return lines.joined(separator: "\n")
  }

  /// The pipeline named on a case's first line: `// pipeline: <text>`.
  static func pipeline(of text: String) -> String? {
    guard let first = text.split(separator: "\n").first, first.hasPrefix("// pipeline:") else {
      return nil
    }
    return first.dropFirst("// pipeline:".count).trimmingCharacters(in: .whitespaces)
  }
}
