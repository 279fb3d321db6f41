import DQCIR

/// A transformation or analysis over a whole module.
///
/// Passes keep no state between runs: everything they need comes from their options (parsed
/// from pipeline text such as `dce{aggressive=true}`) and the module.
public protocol ModulePass: Sendable {
  /// The stable kebab-case name used on the command line, in pipelines and in dump file names.
  static var name: String { get }
  /// The name shown in dump headers, such as `Canonicalize`.
  static var displayName: String { get }
  /// One line saying what the pass does.
  static var summary: String { get }
  /// The options the pass accepts.
  static var optionSpecs: [PassOptionSpec] { get }

  /// Creates the pass from parsed options (already checked against `optionSpecs`).
  init(options: PassOptions) throws(PassError)

  /// Runs the pass on `module`.
  func run(on module: inout Module, context: inout PassContext) throws(PassError) -> PassOutcome
}

extension ModulePass {
  /// No options by default.
  public static var optionSpecs: [PassOptionSpec] { [] }
}

/// What a pass reports after running.
public struct PassOutcome: Sendable, Hashable {
  /// Whether the module changed.
  public var changed: Bool
  /// Named counters (`instructions-removed = 3`), printed with `--pass-statistics`.
  public var statistics: [(name: String, value: Int)]

  /// Creates an outcome.
  public init(changed: Bool, statistics: [(String, Int)] = []) {
    self.changed = changed
    self.statistics = statistics.map { (name: $0.0, value: $0.1) }
  }

  /// The module did not change.
  public static let unchanged = PassOutcome(changed: false)

  /// Equality over `changed` and the statistics.
  public static func == (lhs: PassOutcome, rhs: PassOutcome) -> Bool {
    lhs.changed == rhs.changed
      && lhs.statistics.map(\.name) == rhs.statistics.map(\.name)
      && lhs.statistics.map(\.value) == rhs.statistics.map(\.value)
  }

  /// Hashes `changed` and the statistics.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(changed)
    for s in statistics {
      hasher.combine(s.name)
      hasher.combine(s.value)
    }
  }
}

/// Shared state a pass may read or append to while it runs.
public struct PassContext: Sendable {
  /// Notes for the user (printed to standard error by the driver).
  public var remarks: [String] = []
  /// The calibration set built by a calibration pass (`tmas`, `calib-*`) for later passes.
  public var calibration: CalibrationSet?
  /// The module `lower` started from: the last interpretable (`dq.*`) form of a model whose
  /// kernel plan a bundle carries.
  public var loweredFrom: Module?

  /// Creates an empty context.
  public init() {}
}
