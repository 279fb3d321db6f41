/// An ordered dictionary of named attributes.
///
/// Order is kept as written (or as inserted), so printing is deterministic. Names may be
/// namespaced with a dot (`calib.samples`, `prec.act`) for analysis results.
public struct AttributeDictionary: Sendable, Hashable, Sequence {
  /// The name/value pairs in order.
  public private(set) var entries: [(name: String, value: Attribute)]

  /// Creates an empty dictionary.
  public init() { entries = [] }

  /// Creates a dictionary from ordered pairs; a later duplicate name replaces the earlier value.
  public init(_ pairs: [(String, Attribute)]) {
    entries = []
    for (name, value) in pairs { self[name] = value }
  }

  /// The value for `name`, or `nil`.
  ///
  /// Setting `nil` removes the entry; setting a new name appends.
  public subscript(name: String) -> Attribute? {
    get { entries.first { $0.name == name }?.value }
    set {
      if let index = entries.firstIndex(where: { $0.name == name }) {
        if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
      } else if let newValue {
        entries.append((name, newValue))
      }
    }
  }

  /// Whether the dictionary has no entries.
  public var isEmpty: Bool { entries.isEmpty }

  /// The number of entries.
  public var count: Int { entries.count }

  /// Iterates the entries in order.
  public func makeIterator() -> IndexingIterator<[(name: String, value: Attribute)]> {
    entries.makeIterator()
  }

  /// Equality compares names and values in order.
  public static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.entries.count == rhs.entries.count
      && zip(lhs.entries, rhs.entries).allSatisfy { $0.name == $1.name && $0.value == $1.value }
  }

  /// Hashes names and values in order.
  public func hash(into hasher: inout Hasher) {
    for entry in entries {
      hasher.combine(entry.name)
      hasher.combine(entry.value)
    }
  }
}

extension AttributeDictionary {
  /// The namespaces whose attributes any instruction may carry (analysis results).
  public static let analysisNamespaces: [String] = ["calib", "prec"]

  /// Whether `name` belongs to an analysis namespace (`calib.*`, `prec.*`).
  public static func isAnalysisName(_ name: String) -> Bool {
    guard let dot = name.firstIndex(of: ".") else { return false }
    return analysisNamespaces.contains(String(name[..<dot]))
  }
}
