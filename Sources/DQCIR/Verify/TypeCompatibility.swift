extension TensorType {
  /// Whether a value declared with this type may hold what a type rule inferred: the element
  /// types are equal, and where both ranks are known they are equal and no pair of static
  /// dimensions differs.
  public func isCompatible(with inferred: TensorType) -> Bool {
    guard element == inferred.element else { return false }
    guard let mine = dims, let theirs = inferred.dims else { return true }
    guard mine.count == theirs.count else { return false }
    for (a, b) in zip(mine, theirs) {
      if let x = a.value, let y = b.value, x != y { return false }
    }
    return true
  }

  /// The more precise of two compatible types, dimension by dimension: a static size beats a
  /// named one, which beats `?`; a known rank beats an unknown one.
  public func refined(by inferred: TensorType) -> TensorType {
    guard let mine = dims else { return inferred }
    guard let theirs = inferred.dims, theirs.count == mine.count else { return self }
    var out: [Dim] = []
    for (a, b) in zip(mine, theirs) {
      switch (a, b) {
      case (.fixed, _): out.append(a)
      case (_, .fixed): out.append(b)
      case (.symbol, _): out.append(a)
      case (_, .symbol): out.append(b)
      default: out.append(a)
      }
    }
    return TensorType(out, element)
  }
}
