import Foundation

/// A parsed `config.json` with typed, error-reporting accessors.
public struct ModelConfig: @unchecked Sendable {
  /// The file it came from.
  public let path: String
  let object: [String: Any]

  /// Reads `config.json`.
  public init(path: String) throws(FrontendError) {
    self.path = path
    guard let data = FileManager.default.contents(atPath: path) else {
      throw FrontendError(file: path, "cannot read config.json (a checkpoint folder needs one)")
    }
    guard let json = try? JSONSerialization.jsonObject(with: data),
      let object = json as? [String: Any]
    else {
      throw FrontendError(file: path, "config.json is not a JSON object")
    }
    self.object = object
  }

  /// The first of `architectures`, if any.
  public var architecture: String? { (object["architectures"] as? [Any])?.first as? String }

  /// `model_type`, if any.
  public var modelType: String? { object["model_type"] as? String }

  /// The largest size (a dimension, a count of heads or layers) accepted: `Int32.max`, so a
  /// product of two sizes cannot overflow.
  public static let maximumSize = Int(Int32.max)

  /// A required size: a positive integer no larger than `maximumSize`.
  public func int(_ key: String, for model: String) throws(FrontendError) -> Int {
    guard let value = object[key] else {
      throw FrontendError(file: path, place: "key '\(key)'", "missing; \(model) needs it")
    }
    return try size(key, value)
  }

  /// An optional size (a positive integer no larger than `maximumSize`), or `nil`.
  public func optionalSize(_ key: String) throws(FrontendError) -> Int? {
    guard let value = object[key], !(value is NSNull) else { return nil }
    return try size(key, value)
  }

  func size(_ key: String, _ value: Any) throws(FrontendError) -> Int {
    guard let n = JSONValue.integer(value), n > 0, n <= Self.maximumSize else {
      throw FrontendError(
        file: path, place: "key '\(key)'",
        "expected a positive integer no larger than \(Self.maximumSize), found \(value)")
    }
    return n
  }

  /// An optional integer (any sign), or `nil`.
  public func optionalInt(_ key: String) throws(FrontendError) -> Int? {
    guard let value = object[key], !(value is NSNull) else { return nil }
    guard let n = JSONValue.integer(value) else {
      throw FrontendError(file: path, place: "key '\(key)'", "expected an integer, found \(value)")
    }
    return n
  }

  /// An optional number.
  public func double(_ key: String, default fallback: Double) throws(FrontendError) -> Double {
    guard let value = object[key], !(value is NSNull) else { return fallback }
    guard let n = JSONValue.number(value) else {
      throw FrontendError(file: path, place: "key '\(key)'", "expected a number, found \(value)")
    }
    return n
  }

  /// An optional boolean.
  public func bool(_ key: String, default fallback: Bool) throws(FrontendError) -> Bool {
    guard let value = object[key], !(value is NSNull) else { return fallback }
    guard let b = JSONValue.boolean(value) else {
      throw FrontendError(
        file: path, place: "key '\(key)'", "expected true or false, found \(value)")
    }
    return b
  }
}
