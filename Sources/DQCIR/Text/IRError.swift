/// A problem found in IR text or in an IR module, with where it is and what was expected.
public struct IRError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What stage found the problem.
  public enum Stage: String, Sendable, Hashable {
    /// Reading the text.
    case parse
    /// Checking the module's rules.
    case verify
  }

  /// Which stage found it.
  public var stage: Stage
  /// Where: a line and column of the text when known.
  public var position: SourcePosition?
  /// What is wrong and what was expected.
  public var message: String

  /// Creates an error.
  public init(_ stage: Stage, at position: SourcePosition?, _ message: String) {
    self.stage = stage
    self.position = position
    self.message = message
  }

  /// `file:line:col: error: message` (the position part is omitted when unknown).
  public var description: String {
    (position.map { "\($0): " } ?? "") + "error: " + message
  }
}
