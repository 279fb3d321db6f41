import DQCIR
import Foundation

/// Resolves ONNX external-data references, confined to the model's folder.
enum ExternalData {
  /// The absolute path of `location`, refusing absolute paths, `..` components and symlinks
  /// that lead outside `modelDirectory`.
  static func resolve(_ location: String, modelDirectory: String, file: String, tensor: String)
    throws(FrontendError) -> String
  {
    let place = "initializer '\(tensor)'"
    guard !location.isEmpty else {
      throw FrontendError(file: file, place: place, "external data has no location")
    }
    guard !location.hasPrefix("/") else {
      throw FrontendError(
        file: file, place: place,
        "external data location '\(location)' is absolute; expected a path relative to the model's folder"
      )
    }
    let components = location.split(separator: "/", omittingEmptySubsequences: true)
    guard !components.contains("..") else {
      throw FrontendError(
        file: file, place: place,
        "external data location '\(location)' leaves the model's folder; expected a path inside it")
    }
    let candidate = URL(fileURLWithPath: modelDirectory).appendingPathComponent(location).path
    guard let real = realPath(candidate) else {
      throw FrontendError(
        file: file, place: place,
        "external data file '\(location)' does not exist next to the model")
    }
    guard let root = realPath(modelDirectory),
      real.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    else {
      throw FrontendError(
        file: file, place: place,
        "external data location '\(location)' resolves outside the model's folder (through a symlink)"
      )
    }
    return real
  }

  static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// The byte slice an external tensor names, checked against the file size and the tensor's
  /// expected byte count.
  static func slice(
    _ entries: [(key: String, value: String)], expectedBytes: Int, modelDirectory: String,
    file: String, tensor: String
  ) throws(FrontendError) -> FileSlice {
    let place = "initializer '\(tensor)'"
    var location: String?
    var offset = 0
    var length: Int?
    for (key, value) in entries {
      switch key {
      case "location": location = value
      case "offset":
        guard let v = Int(value), v >= 0 else {
          throw FrontendError(
            file: file, place: place,
            "external data offset '\(value)' is not a non-negative integer")
        }
        offset = v
      case "length":
        guard let v = Int(value), v >= 0 else {
          throw FrontendError(
            file: file, place: place,
            "external data length '\(value)' is not a non-negative integer")
        }
        length = v
      default: continue
      }
    }
    let path = try resolve(
      location ?? "", modelDirectory: modelDirectory, file: file, tensor: tensor)
    let size =
      ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue
      ?? 0
    let count = length ?? expectedBytes
    guard count == expectedBytes else {
      throw FrontendError(
        file: file, place: place,
        "external data length is \(count) bytes, the tensor's shape and type need \(expectedBytes)")
    }
    guard offset <= size, count <= size - offset else {
      // The end is not computed as `offset + count`: both come from the file and may overflow.
      let (end, overflow) = offset.addingReportingOverflow(count)
      throw FrontendError(
        file: file, place: place,
        "external data bytes \(offset)..<\(overflow ? "(past 2^63)" : String(end)) lie outside '\(location ?? "")' (\(size) bytes)"
      )
    }
    return FileSlice(path: path, offset: offset, length: count)
  }
}
