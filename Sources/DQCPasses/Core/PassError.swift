import DQCIR

/// Errors from building pipelines and running passes.
public enum PassError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The pipeline text is malformed: column (1-based) and message.
  case pipelineSyntax(column: Int, message: String)
  /// No pass has this name.
  case unknownPass(name: String, column: Int)
  /// A pass option is unknown or has a value of the wrong type.
  case badOption(pass: String, option: String, column: Int, message: String)
  /// The module broke a rule the pass relies on.
  case invalidModule(pass: String, message: String)
  /// The verifier rejected the module after a pass.
  case verificationFailed(pass: String, error: IRError)
  /// A pass could not write a dump or another file.
  case io(String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .pipelineSyntax(let column, let message):
      "pipeline:\(column): error: \(message)"
    case .unknownPass(let name, let column):
      "pipeline:\(column): error: unknown pass '\(name)' (known: "
        + PassRegistry.names.joined(separator: ", ") + ")"
    case .badOption(let pass, let option, let column, let message):
      "pipeline:\(column): error: pass '\(pass)' option '\(option)': \(message)"
    case .invalidModule(let pass, let message):
      "error: pass '\(pass)': \(message)"
    case .verificationFailed(let pass, let error):
      "\(error.position.map { "\($0): " } ?? "")error: IR is invalid after pass '\(pass)': "
        + error.message
    case .io(let message):
      "error: \(message)"
    }
  }
}
