/// A compilation unit: one graph, the weights it reads, and module-level attributes.
public struct Module: Sendable, Hashable {
  /// The module's name, printed as `@name`.
  public var name: String
  /// Module-level attributes (provenance, recipe, analysis results).
  public var attributes: AttributeDictionary
  /// The weights, keyed by symbol, in a stable order.
  public var weights: WeightStore
  /// The graph.
  public var graph: Graph

  /// Creates a module.
  public init(
    name: String, attributes: AttributeDictionary = AttributeDictionary(),
    weights: WeightStore = WeightStore(), graph: Graph = Graph()
  ) {
    self.name = name
    self.attributes = attributes
    self.weights = weights
    self.graph = graph
  }

  /// The text format's version this code reads and writes.
  public static let textFormatVersion = 1
}
