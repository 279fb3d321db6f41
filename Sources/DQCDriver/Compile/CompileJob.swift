import DQCBackend
import DQCIR
import DQCPasses
import Foundation

/// What `dqc compile` does: import, run a named recipe's pipeline, and write a `.dqb` bundle
/// (or, for an output ending in `.dqir`, the quantized IR).
public struct CompileJob: Sendable {
  /// The model (`.onnx`, checkpoint folder or `.dqir`).
  public var model: String
  /// The recipe.
  public var recipe: NamedPipeline
  /// The output path (`.dqb` or `.dqir`).
  public var output: String
  /// Printing, dumping and timing around passes.
  public var instrumentation = Instrumentation()
  /// GPU architectures to prebuild the CUDA launch code for (10 × major + minor).
  public var cudaArchitectures: [Int] = []

  /// Creates a job.
  public init(model: String, recipe: NamedPipeline, output: String) {
    self.model = model
    self.recipe = recipe
    self.output = output
  }

  /// Runs the job; pass reports go to `diagnostics`.
  public func run(diagnostics: @escaping (String) -> Void) throws(DriverError) {
    guard output.hasSuffix(".dqb") || output.hasSuffix(".dqir") else {
      throw .usage("the output must end in .dqb (a bundle) or .dqir (IR), got '\(output)'")
    }
    var recipe = self.recipe
    if output.hasSuffix(".dqb") {
      recipe.maxSequenceLength = recipe.maxSequenceLength ?? 256
    } else {
      recipe.maxSequenceLength = nil
    }
    let pipelineText = try recipe.pipeline()
    let pipeline: Pipeline
    var manager: PassManager
    do {
      pipeline = try Pipeline(parsing: pipelineText)
      manager = PassManager(passes: try pipeline.instantiate())
    } catch {
      throw .pass(error)
    }
    var module = try Driver.load(model)
    // An ONNX export knows nothing of the diffusion tokens; take them from the model's folder
    // (config.json, tokenizer.json) so calibration and the bundle's metadata have them.
    let folder = Driver.folder(of: model)
    let config = Driver.config(in: folder)
    let tokenizer = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer.json")))
      .map { [UInt8]($0) }
    let ids = SpecialTokenIDs(module: module, config: config, tokenizerJSON: tokenizer)
    if module.attributes["model.mask_token_id"] == nil, let mask = ids.mask {
      module.attributes["model.mask_token_id"] = .int(mask)
    }
    if module.attributes["model.eos_token_id"] == nil, let eos = ids.eos {
      module.attributes["model.eos_token_id"] = .int(eos)
    }
    let sourceDigest = output.hasSuffix(".dqb") ? try Self.sourceDigest(model, module) : ""
    manager.instrumentation = instrumentation
    let context = try Driver.runPasses(manager, on: &module, diagnostics: diagnostics)
    if let note = Self.floatHeadNote(context.loweredFrom ?? module, head: recipe.resolvedHead) {
      diagnostics(note)
    }
    if output.hasSuffix(".dqir") {
      do {
        try ModuleFile.write(module, to: output)
      } catch {
        throw .file(error)
      }
      return
    }
    var writer = BundleWriter(
      meta: try Self.json(meta(context.loweredFrom ?? module, config: config, ids: ids)),
      recipe: try Self.json(recipeJSON(pipelineText, pipeline)),
      provenance: try Self.json([
        "source": URL(fileURLWithPath: model).lastPathComponent,
        "source_digest": sourceDigest,
        "dqc_version": Driver.version,
        "format_version": "1.2",
      ]),
      tokenizer: tokenizer)
    writer.cudaArchitectures = cudaArchitectures
    // The bundle's IR is the model `lower` started from; the lowered module is its plan.
    let model = context.loweredFrom ?? module
    do {
      let report = try writer.write(
        model, plan: context.loweredFrom == nil ? nil : module, to: output)
      if let reason = report.cudaUnavailable {
        diagnostics("note: no CUDA launch code in the bundle (it runs on the CPU): \(reason)")
      }
    } catch {
      throw .bundle(error)
    }
  }

  /// A note when the recipe asks for a quantized head but a graph output still comes from a
  /// float `dq.linear` (its weight was not a 2-D f32 constant the weight passes take), so the
  /// bundle's recipe (`"head"`) does not describe what it holds; nil otherwise.
  static func floatHeadNote(_ module: Module, head: NamedPipeline.Head) -> String? {
    guard head != .float else { return nil }
    let outputs = Set(module.graph.outputs)
    guard
      module.graph.instructions.contains(where: {
        $0.op == .dq(.linear) && outputs.contains($0.result.name)
      })
    else { return nil }
    return "note: --head \(head.rawValue): the output head is not a linear layer over a float "
      + "weight the weight passes can quantize; it stays as it is"
  }

  /// The `meta` section: inputs, outputs, special token ids and the source's `config.json`.
  func meta(_ module: Module, config: [String: Any]?, ids: SpecialTokenIDs) -> [String: Any] {
    let outputTypes = module.graph.outputTypes()
    return [
      "format": "dqb",
      "model": module.name,
      "inputs": module.graph.arguments.map { ["name": $0.name, "type": $0.type.description] },
      "outputs": zip(module.graph.outputs, outputTypes).map {
        ["name": $0.0, "type": $0.1?.description ?? "none"]
      },
      "mask_token_id": ids.mask.map { NSNumber(value: $0) } ?? NSNull(),
      "eos_token_id": ids.eos.map { NSNumber(value: $0) } ?? NSNull(),
      "config": config ?? NSNull(),
    ]
  }

  /// The `recipe` section: the recipe's choices, the pipeline text and every pass option.
  func recipeJSON(_ text: String, _ pipeline: Pipeline) -> [String: Any] {
    let calibration: Any =
      recipe.calibration.map { path -> Any in
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? []
        return [
          "file": URL(fileURLWithPath: path).lastPathComponent, "digest": Digest.fnv1a64(bytes),
        ]
      } ?? NSNull()
    return [
      "pipeline": text,
      "passes": pipeline.resolvedOptions.map { entry in
        [
          "name": entry.pass,
          "options": Dictionary(uniqueKeysWithValues: entry.options.map { ($0.name, $0.value) }),
        ]
      },
      "precision": recipe.precision.rawValue,
      "method": recipe.method.rawValue,
      "group_size": recipe.groupSize.map { NSNumber(value: $0) } ?? NSNull(),
      "calibration": calibration,
      "samples": recipe.samples,
      "tmas": recipe.tmas,
      "head": recipe.resolvedHead.rawValue,
      "cgq": recipe.cgq,
      "ia_aq": recipe.iaaq,
      "layer_precision": recipe.overrides.map { "\($0.pattern)=\($0.precision.rawValue)" },
    ]
  }

  /// Canonical JSON: sorted keys, no insignificant whitespace.
  static func json(_ object: [String: Any]) throws(DriverError) -> [UInt8] {
    do {
      return [UInt8](
        try JSONSerialization.data(
          withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    } catch {
      throw .usage("cannot encode bundle metadata: \(error.localizedDescription)")
    }
  }

  /// `fnv1a64:` over the source's bytes: the input file (for a folder, its `config.json`), then
  /// every distinct file the imported weights live in, in path order.
  static func sourceDigest(_ model: String, _ module: Module) throws(DriverError) -> String {
    var files: [String] = []
    var isDirectory: ObjCBool = false
    FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory)
    files.append(isDirectory.boolValue ? model + "/config.json" : model)
    var weightFiles = Set<String>()
    for weight in module.weights {
      if case .file(let slice) = weight.storage { weightFiles.insert(slice.path) }
    }
    files += weightFiles.sorted()
    var hasher = Digest.FNV1a64()
    for file in files where FileManager.default.fileExists(atPath: file) {
      guard let handle = FileHandle(forReadingAtPath: file) else {
        throw .usage("cannot read '\(file)'")
      }
      defer { try? handle.close() }
      while let chunk = try? handle.read(upToCount: 4 << 20), !chunk.isEmpty {
        chunk.withUnsafeBytes { hasher.update($0) }
      }
    }
    return hasher.digest
  }
}
