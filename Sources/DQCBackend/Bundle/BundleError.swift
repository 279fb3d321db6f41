/// Why a bundle could not be written or read: the file, the place in it and what was expected.
public struct BundleError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The bundle's path.
  public var file: String
  /// The place: `header`, `section table`, a section name, or `tensor '<name>'`.
  public var place: String
  /// What is wrong.
  public var message: String

  /// Creates an error.
  public init(file: String, place: String, _ message: String) {
    self.file = file
    self.place = place
    self.message = message
  }

  /// `file: place: message`.
  public var description: String { "\(file): \(place): \(message)" }
}
