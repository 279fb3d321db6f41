import DQCIR

/// Why the interpreter cannot run a module.
public struct InterpreterError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The instruction's op and first result, when the problem is in one.
  public var instruction: String?
  /// What is wrong.
  public var message: String

  /// Creates an error.
  public init(_ message: String, instruction: String? = nil) {
    self.message = message
    self.instruction = instruction
  }

  /// `error: 'op' defining %x: message`.
  public var description: String {
    "error: " + (instruction.map { "\($0): " } ?? "") + message
  }
}
