import Foundation

/// Options for printing a module as `.dqir` text.
public struct PrintOptions: Sendable, Hashable {
  /// Print in-memory weights with at most `inlineElementLimit` elements in full (`dense<[...]>`);
  /// otherwise every in-memory weight prints as `elided`.
  public var printWeights: Bool
  /// The largest weight (in elements) printed in full when `printWeights` is set.
  public var inlineElementLimit: Int
  /// File paths of file-backed weights are printed relative to this directory.
  public var baseDirectory: String?

  /// Creates options.
  public init(
    printWeights: Bool = false, inlineElementLimit: Int = 4096, baseDirectory: String? = nil
  ) {
    self.printWeights = printWeights
    self.inlineElementLimit = inlineElementLimit
    self.baseDirectory = baseDirectory
  }
}

/// Prints modules, types and attributes in the `.dqir` text form (see `Grammar/dqir.ebnf`).
///
/// The output depends only on the module and the options: never on dictionary order, time or
/// the absolute location of files under `baseDirectory`.
public enum IRPrinter {
  /// The whole module as text, ending with a newline.
  public static func print(_ module: Module, options: PrintOptions = PrintOptions()) -> String {
    var out = "dqir version \(Module.textFormatVersion)\n\nmodule @\(TextSyntax.name(module.name))"
    if !module.attributes.isEmpty { out += " attributes " + attributes(module.attributes) }
    out += " {\n"
    for weight in module.weights {
      out += "  " + weightDeclaration(weight, options: options) + "\n"
    }
    if !module.weights.isEmpty { out += "\n" }
    out += graph(module.graph)
    out += "}\n"
    return out
  }

  /// One `weight @name : type = data` declaration.
  public static func weightDeclaration(_ weight: Weight, options: PrintOptions) -> String {
    var line = "weight @\(TextSyntax.name(weight.name)) : \(weight.type) = "
    var digest = weight.digest
    switch weight.storage {
    case .bytes(let bytes):
      if options.printWeights, let n = weight.type.elementCount, n <= options.inlineElementLimit,
        let tensor = ElementCodec.decode(bytes, type: weight.type)
      {
        return line + "dense<" + denseLiteral(tensor) + ">"
          + (digest.map { " digest \(TextSyntax.quoted($0))" } ?? "")
      }
      digest = digest ?? Digest.fnv1a64(bytes)
      line += "elided"
    case .file(let slice):
      let path = relativePath(slice.path, to: options.baseDirectory)
      line += "file \(TextSyntax.quoted(path)) offset \(slice.offset) size \(slice.length)"
    case .elided:
      line += "elided"
    }
    if let digest { line += " digest \(TextSyntax.quoted(digest))" }
    return line
  }

  /// The graph, indented two spaces, ending with its closing brace and a newline.
  public static func graph(_ graph: Graph) -> String {
    let args = graph.arguments.map { "%\(TextSyntax.name($0.name)): \($0.type)" }
    let types = graph.outputTypes().map { $0?.description ?? "none" }
    var out =
      "  graph @\(TextSyntax.name(graph.name))(\(args.joined(separator: ", "))) -> ("
      + types.joined(separator: ", ") + ") {\n"
    let valueTypes = graph.valueTypes()
    for inst in graph.instructions { out += "    " + instruction(inst, types: valueTypes) + "\n" }
    out += "    return"
    if !graph.outputs.isEmpty {
      out += " " + graph.outputs.map { "%" + TextSyntax.name($0) }.joined(separator: ", ")
    }
    out += "\n  }\n"
    return out
  }

  /// One instruction on one line, without indentation; `types` gives the operands' types.
  public static func instruction(_ inst: Instruction, types: [String: TensorType]) -> String {
    var out = inst.results.map { "%" + TextSyntax.name($0.name) }.joined(separator: ", ")
    out += " = \(inst.op)("
    out += inst.operands.map { $0.map { "%" + TextSyntax.name($0) } ?? "none" }
      .joined(separator: ", ")
    out += ")"
    if !inst.attributes.isEmpty { out += " " + attributes(inst.attributes) }
    out += " : ("
    out += inst.operands.map { name in
      guard let name else { return "none" }
      return types[name]?.description ?? "<<undefined>>"
    }.joined(separator: ", ")
    out += ") -> "
    if inst.results.count == 1 {
      out += inst.results[0].type.description
    } else {
      out += "(" + inst.results.map(\.type.description).joined(separator: ", ") + ")"
    }
    if let location = inst.location { out += " loc(\(TextSyntax.quoted(location)))" }
    return out
  }

  /// An attribute dictionary: `{name = value, ...}`.
  public static func attributes(_ dict: AttributeDictionary) -> String {
    "{" + dict.entries.map { "\($0.name) = \(attribute($0.value))" }.joined(separator: ", ") + "}"
  }

  /// One attribute value.
  public static func attribute(_ value: Attribute) -> String {
    switch value {
    case .int(let v): String(v)
    case .float(let v): TextSyntax.float(v)
    case .string(let s): TextSyntax.quoted(s)
    case .bool(let b): b ? "true" : "false"
    case .array(let items): "[" + items.map(attribute).joined(separator: ", ") + "]"
    case .elementType(let e): e.description
    case .type(let t): t.description
    case .dense(let d): "dense<" + denseLiteral(d) + "> : \(d.type)"
    case .symbol(let s): "@" + TextSyntax.name(s)
    case .reference(let key, let summary):
      "#ref<\(TextSyntax.quoted(key)), \(TextSyntax.quoted(summary))>"
    }
  }

  /// The flat list of a dense tensor's values: `[1.0, 2.5]`, `[1, 2]`, `[true, false]`.
  public static func denseLiteral(_ tensor: DenseTensor) -> String {
    let storage = tensor.type.element.storageType
    let items: [String]
    switch tensor.values {
    case .floats(let v):
      items = storage == .f64 ? v.map(TextSyntax.float) : v.map { TextSyntax.float32(Float($0)) }
    case .ints(let v):
      items =
        storage == .bool && tensor.type.element.scalar == .bool
        ? v.map { $0 != 0 ? "true" : "false" } : v.map { String($0) }
    }
    return "[" + items.joined(separator: ", ") + "]"
  }

  /// `path` relative to `base` when `base` is absolute; otherwise `path` unchanged.
  ///
  /// A relative `path` is taken as relative to the current directory (where the process found
  /// the file), so a `.dqir` written elsewhere still points at it.
  public static func relativePath(_ path: String, to base: String?) -> String {
    guard let base, base.hasPrefix("/") else { return path }
    let absolute =
      path.hasPrefix("/")
      ? path : FileManager.default.currentDirectoryPath + "/" + path
    let target = URL(fileURLWithPath: absolute).standardizedFileURL.pathComponents
    let from = URL(fileURLWithPath: base).standardizedFileURL.pathComponents
    var common = 0
    while common < min(target.count, from.count), target[common] == from[common] { common += 1 }
    let ups = Array(repeating: "..", count: from.count - common)
    let rest = Array(target[common...])
    return (ups + rest).joined(separator: "/")
  }
}
