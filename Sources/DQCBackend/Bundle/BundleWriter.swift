import DQCIR
import Foundation

/// Writes a module and its metadata as a `.dqb` bundle (`docs/bundle-format.md`).
///
/// The file is built in a temporary file next to the output and renamed into place, so an
/// interrupted or failed write never leaves a partial bundle. Tensors are streamed one at a time,
/// so memory stays near the largest tensor. The same inputs give byte-identical files.
public struct BundleWriter: Sendable {
  /// The `meta` section's JSON.
  public var meta: [UInt8]
  /// The `recipe` section's JSON.
  public var recipe: [UInt8]
  /// The `provenance` section's JSON.
  public var provenance: [UInt8]
  /// The model's `tokenizer.json`, when it has one.
  public var tokenizer: [UInt8]?
  /// Whether a bundle with a plan also gets the plan's CUDA launch code (`cuda-source`).
  public var cudaLaunchCode = true
  /// GPU architectures (10 × major + minor, such as 89) to compile the launch code for with
  /// nvcc now (`cuda-binary`); empty: the runtime compiles it on first use.
  public var cudaArchitectures: [Int] = []

  /// What a write produced besides the file.
  public struct Report: Sendable {
    /// Why the bundle has no CUDA launch code, when it has a plan but the CUDA back end cannot
    /// run it (the bundle still runs on the CPU).
    public var cudaUnavailable: String?
  }

  /// Creates a writer for the given metadata sections.
  public init(meta: [UInt8], recipe: [UInt8], provenance: [UInt8], tokenizer: [UInt8]? = nil) {
    self.meta = meta
    self.recipe = recipe
    self.provenance = provenance
    self.tokenizer = tokenizer
  }

  /// One tensor's place in `tensor-data`.
  struct PlacedTensor {
    var weight: Weight
    var shape: [Int]
    var element: ScalarType
    var offset: Int
    var size: Int
    /// The tensor-index layout: row-major, or a kernel packing of quantized codes.
    var layout: PackedLayout = .rowMajor
  }

  /// Writes `module` to `path`, with the kernel plan of `plan` (the module `lower` made from
  /// it) when given: the plan's extra weights are bundled too, and the codes its `k.qlinear`
  /// kernels read are stored in their packed layout.
  @discardableResult
  public func write(_ module: Module, plan: Module? = nil, to path: String) throws(BundleError)
    -> Report
  {
    func fail(_ place: String, _ message: String) -> BundleError {
      BundleError(file: path, place: place, message)
    }
    var all = module.weights
    var layouts: [String: PackedLayout] = [:]
    if let plan {
      for weight in plan.weights {
        if let existing = all[weight.name], existing.type != weight.type {
          throw fail("tensor '\(weight.name)'", "the plan and the IR disagree on its type")
        }
        all.insert(weight)
      }
      layouts = PackedLayout.assignments(plan)
    }
    // Tensors in name (byte) order, each at a 64-byte aligned offset of tensor-data.
    let weights = all.sorted {
      Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8)
    }
    var placed: [PlacedTensor] = []
    var dataSize = 0
    for weight in weights {
      guard let shape = weight.type.staticShape, var size = weight.type.byteCount else {
        throw fail("tensor '\(weight.name)'", "a bundled weight needs a static shape")
      }
      let layout = layouts[weight.name] ?? .rowMajor
      if layout != .rowMajor { size = layout.packedSize(shape: shape) }
      guard shape.count <= BundleFormat.maxRank else {
        throw fail("tensor '\(weight.name)'", "rank \(shape.count) exceeds \(BundleFormat.maxRank)")
      }
      if case .elided = weight.storage {
        throw fail("tensor '\(weight.name)'", "the weight's data was elided; nothing to bundle")
      }
      let offset = BundleFormat.align(dataSize, BundleFormat.tensorAlignment)
      placed.append(
        PlacedTensor(
          weight: weight, shape: shape, element: weight.type.element.storageType, offset: offset,
          size: size, layout: layout))
      dataSize = offset + size
    }

    // The IR with every weight elided but for its digest.
    var bundled = module
    for weight in weights where module.weights[weight.name] != nil {
      var copy = weight
      if copy.digest == nil {
        do {
          copy.digest = try weight.computeDigest()
        } catch {
          throw fail("tensor '\(weight.name)'", error.description)
        }
      }
      copy.storage = .elided
      bundled.weights.insert(copy)
    }
    let irText = Array(IRPrinter.print(bundled).utf8)

    var sections: [(kind: BundleSectionKind, bytes: [UInt8])] = [
      (.meta, meta), (.recipe, recipe), (.provenance, provenance), (.ir, irText),
    ]
    if let tokenizer { sections.append((.tokenizer, tokenizer)) }
    var report = Report()
    if let plan {
      var index: [String: Int] = [:]
      for (i, tensor) in placed.enumerated() { index[tensor.weight.name] = i }
      let kernels: KernelPlan
      do {
        kernels = try KernelPlan(module: plan, tensorIndex: index)
      } catch {
        throw fail("section 'plan'", error.message)
      }
      sections.append((.plan, PlanEncoder(plan: kernels).encode()))
      if cudaLaunchCode {
        do {
          let code = try CUDAEmitter(
            plan: kernels, tensorCount: placed.count, modelName: module.name
          ).emit()
          sections.append((.cudaSource, Array(code.translationUnit.utf8)))
        } catch {
          report.cudaUnavailable = error.message
        }
      }
      if !cudaArchitectures.isEmpty {
        guard let source = sections.last(where: { $0.kind == .cudaSource })?.bytes else {
          throw fail(
            "section 'cuda-binary'",
            "no CUDA launch code to compile: \(report.cudaUnavailable ?? "launch code is off")")
        }
        do {
          sections.append(
            (
              .cudaBinary,
              try CUDAPrebuild.section(source: source, architectures: cudaArchitectures)
            ))
        } catch {
          throw fail("section 'cuda-binary'", error.message)
        }
      }
    }
    sections.append((.tensorIndex, Self.tensorIndex(placed)))

    // Offsets: header, table, then sections; tensor-data last and page-aligned.
    let count = sections.count + 1
    var offset = BundleFormat.headerSize + count * BundleFormat.entrySize
    var entries: [(kind: BundleSectionKind, offset: Int, size: Int, checksum: UInt64)] = []
    for section in sections {
      offset = BundleFormat.align(offset, BundleFormat.sectionAlignment)
      entries.append(
        (section.kind, offset, section.bytes.count, BundleFormat.checksum(section.bytes)))
      offset += section.bytes.count
    }
    let dataOffset = BundleFormat.align(offset, BundleFormat.dataAlignment)
    let fileSize = dataOffset + dataSize

    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(
        ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)"
      ).path
    guard FileManager.default.createFile(atPath: temporary, contents: nil),
      let handle = FileHandle(forWritingAtPath: temporary)
    else {
      throw fail("file", "cannot create '\(temporary)'")
    }
    var written = 0
    func emit(_ bytes: [UInt8]) throws {
      try handle.write(contentsOf: bytes)
      written += bytes.count
    }
    do {
      defer { try? handle.close() }
      try emit(
        [UInt8](repeating: 0, count: BundleFormat.headerSize + count * BundleFormat.entrySize))
      for (section, entry) in zip(sections, entries) {
        try emit([UInt8](repeating: 0, count: entry.offset - written))
        try emit(section.bytes)
      }
      try emit([UInt8](repeating: 0, count: dataOffset - written))
      var dataChecksum = BundleFormat.initialChecksum
      var position = 0
      for tensor in placed {
        let padding = [UInt8](repeating: 0, count: tensor.offset - position)
        var bytes: [UInt8]
        do {
          bytes = try tensor.weight.loadBytes()
          if tensor.layout != .rowMajor {
            bytes = try tensor.layout.pack(bytes, shape: tensor.shape, element: tensor.element)
          }
        } catch let error as BundleError {
          throw fail("tensor '\(tensor.weight.name)'", error.message)
        } catch let error as WeightError {
          throw fail("tensor '\(tensor.weight.name)'", error.description)
        }
        dataChecksum = padding.withUnsafeBytes {
          BundleFormat.checksum($0, continuing: dataChecksum)
        }
        dataChecksum = bytes.withUnsafeBytes {
          BundleFormat.checksum($0, continuing: dataChecksum)
        }
        try emit(padding)
        try emit(bytes)
        position = tensor.offset + tensor.size
      }
      entries.append((.tensorData, dataOffset, dataSize, dataChecksum))

      var table = ByteWriter()
      for entry in entries {
        table.padded(entry.kind.name, to: BundleFormat.nameSize)
        table.integer(entry.kind.rawValue)
        table.integer(UInt32(entry.kind.isRequired ? 1 : 0))
        table.integer(UInt64(entry.offset))
        table.integer(UInt64(entry.size))
        table.integer(entry.checksum)
        table.zeros(16)
      }
      var header = ByteWriter()
      header.bytes.append(contentsOf: BundleFormat.magic)
      header.integer(BundleFormat.major)
      header.integer(BundleFormat.minor)
      header.integer(UInt8(1))
      header.zeros(3)
      header.integer(UInt32(BundleFormat.headerSize))
      header.integer(UInt32(entries.count))
      header.integer(UInt64(BundleFormat.headerSize))
      header.integer(UInt64(fileSize))
      header.integer(BundleFormat.checksum(table.bytes))
      header.zeros(8)
      header.integer(BundleFormat.checksum(header.bytes))
      try handle.seek(toOffset: 0)
      try handle.write(contentsOf: header.bytes + table.bytes)
      try handle.synchronize()
    } catch let error as BundleError {
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw fail("file", "cannot write '\(temporary)': \(error.localizedDescription)")
    }
    if rename(temporary, path) != 0 {
      try? FileManager.default.removeItem(atPath: temporary)
      throw fail("file", "cannot move the bundle into place")
    }
    return report
  }

  /// The `tensor-index` section.
  static func tensorIndex(_ tensors: [PlacedTensor]) -> [UInt8] {
    var names: [UInt8] = []
    var entries = ByteWriter()
    for tensor in tensors {
      let name = Array(tensor.weight.name.utf8)
      entries.integer(UInt64(tensor.offset))
      entries.integer(UInt64(tensor.size))
      entries.integer(UInt32(names.count))
      entries.integer(UInt32(name.count))
      entries.integer(BundleFormat.elementCode(tensor.element))
      entries.integer(tensor.layout.rawValue)
      entries.integer(UInt32(tensor.shape.count))
      for d in 0..<BundleFormat.maxRank {
        entries.integer(UInt64(d < tensor.shape.count ? tensor.shape[d] : 0))
      }
      names.append(contentsOf: name)
    }
    var out = ByteWriter()
    out.integer(UInt32(tensors.count))
    out.integer(UInt32(BundleFormat.tensorEntrySize))
    out.integer(UInt64(names.count))
    return out.bytes + entries.bytes + names
  }
}
