/// An SSA value: a name unique in its graph and a tensor type.
public struct Value: Sendable, Hashable {
  /// The name, printed as `%name`.
  public var name: String
  /// The value's type.
  public var type: TensorType

  /// Creates a value.
  public init(_ name: String, _ type: TensorType) {
    self.name = name
    self.type = type
  }
}

/// A position in a source text, 1-based.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
  /// The file the text came from (as given by the caller), or `nil`.
  public var file: String?
  /// 1-based line.
  public var line: Int
  /// 1-based column, counted in UTF-8 bytes.
  public var column: Int

  /// Creates a position.
  public init(file: String?, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  /// `file:line:col`, or `line:col` without a file.
  public var description: String {
    (file.map { "\($0):" } ?? "") + "\(line):\(column)"
  }
}
