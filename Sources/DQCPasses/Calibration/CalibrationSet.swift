import DQCIR
import Foundation

/// Model inputs to calibrate on, each token with its mask flag and confidence.
public struct CalibrationSet: Sendable {
  /// One calibration sequence.
  public struct Sample: Sendable, Hashable {
    /// The tokens the model sees (mask tokens included).
    public var tokens: [Int64]
    /// Which tokens are masked.
    public var masked: [Bool]
    /// Per token: a masked token's argmax probability at this point of the trajectory; a
    /// decoded token's confidence when it was committed; 1 for given tokens.
    public var confidence: [Double]
    /// The trajectory segment the sample was drawn from (TMAS), or 0.
    public var segment: Int
  }

  /// How the set was built (`tmas`, `calib-random-mask`, `calib-clean`).
  public var method: String
  /// The samples.
  public var samples: [Sample]

  /// Creates a set.
  public init(method: String, samples: [Sample]) {
    self.method = method
    self.samples = samples
  }

  /// A one-line summary for dumps.
  public var summary: String {
    let tokens = samples.reduce(0) { $0 + $1.tokens.count }
    let masked = samples.reduce(0) { $0 + $1.masked.filter { $0 }.count }
    return "\(method): \(samples.count) sequences, \(tokens) tokens, \(masked) masked"
  }

  /// The module attribute that stands for the set in dumps.
  public var reference: Attribute { .reference(key: "calibration", summary: summary) }
}

/// Problems a calibration file can have, reported with the file and line.
struct CalibrationFile {
  struct Record {
    var prompt: [Int64]
    var answer: [Int64]?
    var genLength: Int
  }

  static func read(_ path: String, pass: String) throws(PassError) -> [Record] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw .invalidModule(pass: pass, message: "cannot read calibration file '\(path)'")
    }
    var records: [Record] = []
    for (i, line) in text.split(separator: "\n").enumerated() where !line.allSatisfy(\.isWhitespace)
    {
      guard
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
        let prompt = (object["prompt_ids"] as? [Any])?.compactMap({ ($0 as? Int).map(Int64.init) })
      else {
        throw .invalidModule(
          pass: pass, message: "\(path):\(i + 1): expected a JSON object with 'prompt_ids'")
      }
      let answer = (object["answer_ids"] as? [Any])?.compactMap { ($0 as? Int).map(Int64.init) }
      guard let length = (object["gen_length"] as? Int) ?? answer?.count, length > 0 else {
        throw .invalidModule(
          pass: pass, message: "\(path):\(i + 1): expected 'gen_length' or 'answer_ids'")
      }
      records.append(Record(prompt: prompt, answer: answer, genLength: length))
    }
    guard !records.isEmpty else {
      throw .invalidModule(pass: pass, message: "calibration file '\(path)' is empty")
    }
    return records
  }
}
