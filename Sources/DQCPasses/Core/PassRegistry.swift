/// Every pass dqc knows, in a fixed order.
public enum PassRegistry {
  /// All registered pass types.
  public static let all: [any ModulePass.Type] = [
    DeadCodeElimination.self,
    CommonSubexpressionElimination.self,
    Canonicalize.self,
    InferShapes.self,
    Raise.self,
    RoundToNearest.self,
    TMAS.self,
    CalibRandomMask.self,
    CalibClean.self,
    Smooth.self,
    GPTQPass.self,
    CGQ.self,
    IAAQ.self,
    Lower.self,
  ]

  /// The registered names, in order.
  public static var names: [String] { all.map { $0.name } }

  /// The pass type called `name`.
  public static func pass(named name: String) -> (any ModulePass.Type)? {
    all.first { $0.name == name }
  }
}
