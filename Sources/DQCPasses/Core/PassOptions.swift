/// The type of a pass option's value.
public enum PassOptionKind: String, Sendable, Hashable {
  case int, float, bool, string

  /// How the expected value is described in messages.
  var expectation: String {
    switch self {
    case .int: "an integer"
    case .float: "a number"
    case .bool: "a bool (true or false)"
    case .string: "a string"
    }
  }
}

/// A typed option value.
public enum PassOptionValue: Sendable, Hashable, CustomStringConvertible {
  case int(Int)
  case float(Double)
  case bool(Bool)
  case string(String)

  /// The value as written in pipeline text.
  public var description: String {
    switch self {
    case .int(let v): String(v)
    case .float(let v): v.description
    case .bool(let v): v ? "true" : "false"
    case .string(let v): v
    }
  }
}

/// One option a pass accepts.
public struct PassOptionSpec: Sendable, Hashable {
  /// The kebab-case name, such as `group-size`.
  public var name: String
  /// The value type.
  public var kind: PassOptionKind
  /// The value when the pipeline does not give one.
  public var defaultValue: PassOptionValue
  /// One line saying what it does.
  public var summary: String

  /// Creates a spec.
  public init(
    _ name: String, _ kind: PassOptionKind, default value: PassOptionValue, _ summary: String
  ) {
    self.name = name
    self.kind = kind
    self.defaultValue = value
    self.summary = summary
  }

  /// Parses `text` as this option's kind; `nil` if it does not fit.
  func parse(_ text: String) -> PassOptionValue? {
    switch kind {
    case .int: Int(text).map(PassOptionValue.int)
    case .float: Double(text).map(PassOptionValue.float)
    case .bool: text == "true" ? .bool(true) : (text == "false" ? .bool(false) : nil)
    case .string: .string(text)
    }
  }
}

/// The option values a pass runs with: every spec's default, overridden by the pipeline text.
public struct PassOptions: Sendable, Hashable {
  /// Values by option name, in spec order.
  public private(set) var values: [(name: String, value: PassOptionValue)]

  /// Options holding every spec's default.
  public init(defaults specs: [PassOptionSpec]) {
    values = specs.map { ($0.name, $0.defaultValue) }
  }

  /// Sets a value.
  public mutating func set(_ name: String, _ value: PassOptionValue) {
    if let i = values.firstIndex(where: { $0.name == name }) {
      values[i].value = value
    } else {
      values.append((name, value))
    }
  }

  /// The value of `name`.
  public subscript(name: String) -> PassOptionValue? { values.first { $0.name == name }?.value }

  /// An integer option's value (its default if unset).
  public func int(_ name: String) -> Int {
    if case .int(let v)? = self[name] { return v }
    return 0
  }

  /// A float option's value.
  public func float(_ name: String) -> Double {
    if case .float(let v)? = self[name] { return v }
    if case .int(let v)? = self[name] { return Double(v) }
    return 0
  }

  /// A bool option's value.
  public func bool(_ name: String) -> Bool {
    if case .bool(let v)? = self[name] { return v }
    return false
  }

  /// A string option's value.
  public func string(_ name: String) -> String {
    if case .string(let v)? = self[name] { return v }
    return ""
  }

  /// Equality over names and values in order.
  public static func == (lhs: PassOptions, rhs: PassOptions) -> Bool {
    lhs.values.map(\.name) == rhs.values.map(\.name)
      && lhs.values.map(\.value) == rhs.values.map(\.value)
  }

  /// Hashes names and values in order.
  public func hash(into hasher: inout Hasher) {
    for v in values {
      hasher.combine(v.name)
      hasher.combine(v.value)
    }
  }
}
