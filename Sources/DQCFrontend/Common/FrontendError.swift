/// A model file dqc cannot import, with the file, the place in it, and what was expected.
public struct FrontendError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The file the problem is in.
  public var file: String
  /// Where in the file: a node, tensor, key or byte offset, in words.
  public var place: String?
  /// What is wrong and what was expected.
  public var message: String

  /// Creates an error.
  public init(file: String, place: String? = nil, _ message: String) {
    self.file = file
    self.place = place
    self.message = message
  }

  /// `file: place: error: message`.
  public var description: String {
    "\(file): " + (place.map { "\($0): " } ?? "") + "error: " + message
  }
}
