import OrderedCollections

/// The module's weights keyed by symbol, in insertion order (so printing is deterministic).
public struct WeightStore: Sendable, Hashable, Sequence {
  private var storage: OrderedDictionary<String, Weight> = [:]

  /// Creates an empty store.
  public init() {}

  /// The weight called `name`.
  public subscript(name: String) -> Weight? {
    get { storage[name] }
    set { storage[name] = newValue }
  }

  /// Adds or replaces a weight under its own name.
  public mutating func insert(_ weight: Weight) { storage[weight.name] = weight }

  /// Removes the weight called `name`.
  @discardableResult
  public mutating func remove(_ name: String) -> Weight? { storage.removeValue(forKey: name) }

  /// The symbols in order.
  public var names: [String] { Array(storage.keys) }

  /// The number of weights.
  public var count: Int { storage.count }

  /// Whether the store is empty.
  public var isEmpty: Bool { storage.isEmpty }

  /// Iterates the weights in order.
  public func makeIterator() -> some IteratorProtocol<Weight> { storage.values.makeIterator() }

  /// A symbol not yet used, derived from `base`.
  public func freshName(_ base: String) -> String {
    var candidate = base
    var n = 1
    while storage[candidate] != nil {
      candidate = "\(base)_\(n)"
      n += 1
    }
    return candidate
  }
}
