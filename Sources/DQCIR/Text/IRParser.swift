import Foundation

/// Reads `.dqir` text (see `Grammar/dqir.ebnf`) into a `Module`.
///
/// The parser checks syntax and name binding (each value defined once, operands defined before
/// use, operand types as declared); the `Verifier` checks the op rules. Errors carry
/// `file:line:col` and say what was expected.
public struct IRParser {
  var scanner: Scanner
  /// The directory relative weight file paths are resolved against.
  let baseDirectory: String?

  /// Parses `text`.
  ///
  /// `file` names the source in messages; relative weight paths are resolved
  /// against `baseDirectory` (default: the directory of `file`, when given).
  public static func parse(_ text: String, file: String? = nil, baseDirectory: String? = nil)
    throws(IRError) -> Module
  {
    let base =
      baseDirectory
      ?? file.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
    var parser = IRParser(scanner: Scanner(text, file: file), baseDirectory: base)
    return try parser.parseFile()
  }

  // file ::= 'dqir' 'version' integer module
  mutating func parseFile() throws(IRError) -> Module {
    guard scanner.consume("dqir") else { throw scanner.expected("'dqir version 1' header") }
    try scanner.expect("version")
    let versionStart = scanner.index
    let version = try scanner.unsignedInteger("a version number")
    guard version == Module.textFormatVersion else {
      throw scanner.error(
        "unsupported dqir version \(version); this dqc reads version \(Module.textFormatVersion)",
        at: versionStart)
    }
    let module = try parseModule()
    scanner.skipTrivia()
    guard scanner.atEnd else { throw scanner.expected("end of file after the module") }
    return module
  }

  // module ::= 'module' symbol-ref ('attributes' attr-dict)? '{' weight-decl* graph '}'
  mutating func parseModule() throws(IRError) -> Module {
    try scanner.expect("module")
    let name = try scanner.name(after: "@", what: "a module name '@name'")
    var attributes = AttributeDictionary()
    if scanner.consume("attributes") { attributes = try parseAttributeDictionary() }
    try scanner.expect("{")
    var weights = WeightStore()
    while scanner.consume("weight") {
      let start = scanner.index
      let weight = try parseWeight()
      guard weights[weight.name] == nil else {
        throw scanner.error("weight @\(weight.name) is declared twice", at: start)
      }
      weights.insert(weight)
    }
    guard scanner.consume("graph") else { throw scanner.expected("'weight' or 'graph'") }
    let graph = try parseGraph()
    try scanner.expect("}")
    return Module(name: name, attributes: attributes, weights: weights, graph: graph)
  }

  // weight-decl ::= 'weight' symbol-ref ':' tensor-type '=' weight-data
  mutating func parseWeight() throws(IRError) -> Weight {
    let name = try scanner.name(after: "@", what: "a weight name '@name'")
    try scanner.expect(":")
    let typeStart = scanner.index
    let type = try parseTensorType()
    guard type.staticShape != nil else {
      throw scanner.error("weight @\(name) must have a static shape, has \(type)", at: typeStart)
    }
    try scanner.expect("=")
    var storage: WeightStorage
    if scanner.consume("dense") {
      try scanner.expect("<")
      let tensor = try parseDenseLiteral(type: type)
      try scanner.expect(">")
      storage = .bytes(ElementCodec.encode(tensor))
    } else if scanner.consume("file") {
      var path = try scanner.string()
      if !path.hasPrefix("/"), let baseDirectory {
        path = URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardized.path
      }
      try scanner.expect("offset")
      let offset = try scanner.unsignedInteger("a byte offset")
      try scanner.expect("size")
      let sizeStart = scanner.index
      let size = try scanner.unsignedInteger("a byte size")
      if let expected = type.byteCount, size != expected {
        throw scanner.error(
          "weight @\(name) has size \(size), its type \(type) needs \(expected) bytes",
          at: sizeStart)
      }
      storage = .file(FileSlice(path: path, offset: offset, length: size))
    } else if scanner.consume("elided") {
      storage = .elided
    } else {
      throw scanner.expected("'dense', 'file' or 'elided'")
    }
    var digest: String?
    if scanner.consume("digest") { digest = try scanner.string() }
    return Weight(name: name, type: type, storage: storage, digest: digest)
  }

  // graph ::= 'graph' symbol-ref '(' arguments? ')' '->' '(' types? ')' '{' instruction* return '}'
  mutating func parseGraph() throws(IRError) -> Graph {
    let name = try scanner.name(after: "@", what: "a graph name '@name'")
    var graph = Graph(name: name)
    var types: [String: TensorType] = [:]
    try scanner.expect("(")
    if !scanner.consume(")") {
      repeat {
        let start = scanner.index
        let argName = try scanner.name(after: "%", what: "an argument '%name'")
        try scanner.expect(":")
        let type = try parseTensorType()
        guard types[argName] == nil else {
          throw scanner.error("value %\(argName) is defined twice", at: start)
        }
        types[argName] = type
        graph.arguments.append(Value(argName, type))
      } while scanner.consume(",")
      try scanner.expect(")")
    }
    try scanner.expect("->")
    try scanner.expect("(")
    var declaredOutputs: [TensorType] = []
    if !scanner.consume(")") {
      repeat { declaredOutputs.append(try parseTensorType()) } while scanner.consume(",")
      try scanner.expect(")")
    }
    try scanner.expect("{")
    while true {
      scanner.skipTrivia()
      let start = scanner.index
      if scanner.consume("return") {
        graph.outputs = try parseReturn(types: types, declared: declaredOutputs, start: start)
        break
      }
      guard scanner.peek == UInt8(ascii: "%") else {
        throw scanner.expected("an instruction '%result = op(...)' or 'return'")
      }
      let inst = try parseInstruction(types: &types)
      graph.instructions.append(inst)
    }
    try scanner.expect("}")
    return graph
  }

  mutating func parseReturn(types: [String: TensorType], declared: [TensorType], start: Int)
    throws(IRError) -> [String]
  {
    var outputs: [String] = []
    scanner.skipTrivia()
    if scanner.peek == UInt8(ascii: "%") {
      repeat {
        let at = scanner.index
        let name = try scanner.name(after: "%", what: "a returned value '%name'")
        guard let type = types[name] else {
          throw scanner.error("use of undefined value %\(name)", at: at)
        }
        let i = outputs.count
        if i < declared.count, declared[i] != type {
          throw scanner.error(
            "returned value %\(name) has type \(type), the graph declares \(declared[i])", at: at)
        }
        outputs.append(name)
      } while scanner.consume(",")
    }
    guard outputs.count == declared.count else {
      throw scanner.error(
        "return has \(outputs.count) value\(outputs.count == 1 ? "" : "s"), the graph declares \(declared.count) result\(declared.count == 1 ? "" : "s")",
        at: start)
    }
    return outputs
  }

  // instruction ::= value-id (',' value-id)* '=' op-name '(' operands? ')' attr-dict?
  //                 ':' '(' operand-types? ')' '->' result-types location?
  mutating func parseInstruction(types: inout [String: TensorType]) throws(IRError)
    -> Instruction
  {
    scanner.skipTrivia()
    let start = scanner.index
    var resultNames: [(String, Int)] = []
    repeat {
      let at = scanner.index
      resultNames.append((try scanner.name(after: "%", what: "a result '%name'"), at))
    } while scanner.consume(",")
    try scanner.expect("=")
    scanner.skipTrivia()
    let opStart = scanner.index
    guard let dialect = scanner.keyword() else { throw scanner.expected("an op name") }
    let op: OpName
    if let known = OpName(dialect) {
      op = known
    } else if Dialect(rawValue: String(dialect.prefix { $0 != "." })) != nil {
      throw scanner.error("unknown op '\(dialect)'", at: opStart)
    } else {
      throw scanner.error(
        "unknown op '\(dialect)': ops are spelled 'onnx.<Name>', 'dq.<name>' or 'k.<name>'",
        at: opStart)
    }
    try scanner.expect("(")
    var operands: [(String?, Int)] = []
    if !scanner.consume(")") {
      repeat {
        scanner.skipTrivia()
        let at = scanner.index
        if scanner.consume("none") {
          operands.append((nil, at))
        } else {
          let name = try scanner.name(after: "%", what: "an operand '%name' or 'none'")
          guard types[name] != nil else {
            throw scanner.error("use of undefined value %\(name)", at: at)
          }
          operands.append((name, at))
        }
      } while scanner.consume(",")
      try scanner.expect(")")
    }
    var attributes = AttributeDictionary()
    scanner.skipTrivia()
    if scanner.peek == UInt8(ascii: "{") { attributes = try parseAttributeDictionary() }
    try scanner.expect(":")
    try scanner.expect("(")
    var operandTypes: [(TensorType?, Int)] = []
    if !scanner.consume(")") {
      repeat {
        scanner.skipTrivia()
        let at = scanner.index
        operandTypes.append((scanner.consume("none") ? nil : try parseTensorType(), at))
      } while scanner.consume(",")
      try scanner.expect(")")
    }
    guard operandTypes.count == operands.count else {
      throw scanner.error(
        "\(op) lists \(operands.count) operands but \(operandTypes.count) operand types",
        at: opStart)
    }
    for ((name, _), (type, at)) in zip(operands, operandTypes) {
      let actual = name.flatMap { types[$0] }
      if actual != type {
        let what =
          name.map { "operand %\($0) has type " + (actual?.description ?? "none") }
          ?? "operand 'none' has no type"
        throw scanner.error(
          "type mismatch: \(what), written as \(type?.description ?? "none")", at: at)
      }
    }
    try scanner.expect("->")
    var resultTypes: [TensorType] = []
    if scanner.consume("(") {
      repeat { resultTypes.append(try parseTensorType()) } while scanner.consume(",")
      try scanner.expect(")")
    } else {
      resultTypes.append(try parseTensorType())
    }
    guard resultTypes.count == resultNames.count else {
      throw scanner.error(
        "\(op) defines \(resultNames.count) results but lists \(resultTypes.count) result types",
        at: opStart)
    }
    var location: String?
    if scanner.consume("loc") {
      try scanner.expect("(")
      location = try scanner.string()
      try scanner.expect(")")
    }
    var results: [Value] = []
    for ((name, at), type) in zip(resultNames, resultTypes) {
      guard types[name] == nil else {
        throw scanner.error("value %\(name) is defined twice", at: at)
      }
      types[name] = type
      results.append(Value(name, type))
    }
    return Instruction(
      op, operands: operands.map(\.0), results: results, attributes: attributes,
      location: location, sourcePosition: scanner.position(of: start))
  }
}
