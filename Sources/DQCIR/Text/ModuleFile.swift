import Foundation

/// Reads and writes modules as `.dqir` files.
///
/// A written module is complete: file-backed weights are referenced by a path relative to the
/// `.dqir`, and weights that exist only in memory go to a safetensors sidecar next to it
/// (`<stem>.weights.safetensors`), except small ones printed inline when `printWeights` is set.
/// Files are written to a temporary name and renamed, so a failure leaves no partial output.
public enum ModuleFile {
  /// Parses the `.dqir` file at `path` (relative weight paths resolve against its directory).
  public static func read(_ path: String) throws(ModuleFileError) -> Module {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .io("cannot read '\(path)'")
    }
    guard let text = String(validating: [UInt8](data), as: UTF8.self) else {
      throw .io("'\(path)' is not UTF-8 text")
    }
    do {
      return try IRParser.parse(text, file: path)
    } catch {
      throw .ir(error)
    }
  }

  /// The sidecar path for a `.dqir` path: `dir/model.dqir` → `dir/model.weights.safetensors`.
  public static func sidecarPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let stem = url.deletingPathExtension().lastPathComponent
    return url.deletingLastPathComponent().appendingPathComponent(stem + ".weights.safetensors")
      .path
  }

  /// Writes `module` to `path`, with a sidecar for in-memory weights when there are any.
  ///
  /// Returns the module as written (in-memory weights now reference the sidecar).
  @discardableResult
  public static func write(
    _ module: Module, to path: String, printWeights: Bool = false, inlineElementLimit: Int = 4096
  ) throws(ModuleFileError) -> Module {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL
    let directory = absolute.deletingLastPathComponent().path
    let sidecar = sidecarPath(for: absolute.path)
    var written = module
    var writer = SafetensorsWriter()
    var moved: [String] = []
    for weight in module.weights {
      guard case .bytes(let bytes) = weight.storage else { continue }
      if printWeights, let n = weight.type.elementCount, n <= inlineElementLimit { continue }
      writer.add(name: weight.name, type: weight.type, bytes: bytes)
      moved.append(weight.name)
    }
    // Every weight records a digest so a later reader notices changed data. Digests are
    // independent, so they are computed on all cores; results land by index (deterministic).
    let pending = module.weights.filter { weight in
      if case .elided = weight.storage { return false }
      return weight.digest == nil
    }
    let digests = DigestResults(count: pending.count)
    DispatchQueue.concurrentPerform(iterations: pending.count) { i in
      digests.set(i, Result { () throws(WeightError) in try pending[i].computeDigest() })
    }
    for (i, weight) in pending.enumerated() {
      var w = weight
      switch digests.get(i) {
      case .success(let digest)?: w.digest = digest
      case .failure(let error)?: throw .weight(error)
      case nil: continue
      }
      written.weights.insert(w)
    }
    if !moved.isEmpty {
      let (data, offsets) = writer.serialize()
      for (name, offset) in zip(moved, offsets) {
        guard var w = written.weights[name] else { continue }
        w.storage = .file(FileSlice(path: sidecar, offset: offset, length: w.type.byteCount ?? 0))
        written.weights.insert(w)
      }
      try atomicWrite(data, to: sidecar)
    }
    let text = IRPrinter.print(
      written,
      options: PrintOptions(
        printWeights: printWeights, inlineElementLimit: inlineElementLimit,
        baseDirectory: directory))
    try atomicWrite(Array(text.utf8), to: absolute.path)
    return written
  }

  /// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
  public static func atomicWrite(_ bytes: [UInt8], to path: String) throws(ModuleFileError) {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(
        ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    guard FileManager.default.createFile(atPath: temporary.path, contents: Data(bytes)) else {
      throw .io("cannot write '\(path)'")
    }
    if rename(temporary.path, path) != 0 {
      try? FileManager.default.removeItem(at: temporary)
      throw .io("cannot move the output into place at '\(path)'")
    }
  }
}

/// Per-index results filled from concurrent workers.
final class DigestResults: @unchecked Sendable {
  private var results: [Result<String, WeightError>?]
  private let lock = NSLock()

  init(count: Int) { results = Array(repeating: nil, count: count) }

  func set(_ index: Int, _ result: Result<String, WeightError>) {
    lock.lock()
    results[index] = result
    lock.unlock()
  }

  func get(_ index: Int) -> Result<String, WeightError>? {
    lock.lock()
    defer { lock.unlock() }
    return results[index]
  }
}

/// Why a module file cannot be read or written.
public enum ModuleFileError: Error, Sendable, CustomStringConvertible {
  /// A file-system problem.
  case io(String)
  /// The text is not valid IR.
  case ir(IRError)
  /// A weight's data cannot be had.
  case weight(WeightError)

  /// A one-line message.
  public var description: String {
    switch self {
    case .io(let m): "error: " + m
    case .ir(let e): e.description
    case .weight(let e): "error: " + e.description
    }
  }
}
