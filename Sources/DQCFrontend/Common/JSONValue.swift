import Foundation

/// Exact reads of values from `JSONSerialization`, which gives `NSNumber` for numbers and
/// booleans alike (and on Linux bridges 0 and 1 to `Bool`).
enum JSONValue {
  /// Whether the value is a JSON `true` or `false`.
  static func isBoolean(_ value: Any) -> Bool {
    guard let n = value as? NSNumber else { return false }
    return String(cString: n.objCType) == "c"
  }

  /// The value as an integer, if it is a JSON number that is whole and fits in `Int`.
  static func integer(_ value: Any) -> Int? {
    guard !isBoolean(value), let n = value as? NSNumber else { return nil }
    let kind = String(cString: n.objCType)
    guard kind != "d", kind != "f" else { return nil }
    return value as? Int
  }

  /// The value as a number, if it is a JSON number.
  static func number(_ value: Any) -> Double? {
    guard !isBoolean(value), let n = value as? NSNumber else { return nil }
    return n.doubleValue
  }

  /// The value as a boolean, if it is JSON `true` or `false`.
  static func boolean(_ value: Any) -> Bool? {
    guard isBoolean(value), let n = value as? NSNumber else { return nil }
    return n.boolValue
  }
}
