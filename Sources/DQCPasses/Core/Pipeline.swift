/// A parsed pipeline: pass names with their options, in order.
///
/// Text form: `pass (',' pass)*` where `pass ::= name ('{' key '=' value (',' key '=' value)* '}')?`,
/// such as `canonicalize,cse,dce{aggressive=true}`. Whitespace around tokens is ignored.
public struct Pipeline: Sendable {
  /// One pass of the pipeline.
  public struct Entry: Sendable {
    /// The pass type.
    public var pass: any ModulePass.Type
    /// The options, defaults filled in.
    public var options: PassOptions
  }

  /// The passes in order.
  public var entries: [Entry]

  /// Parses and checks `text` against the registry.
  public init(parsing text: String) throws(PassError) {
    var parser = PipelineParser(text)
    entries = try parser.parse()
  }

  /// Creates the pipeline's pass instances.
  public func instantiate() throws(PassError) -> [any ModulePass] {
    var passes: [any ModulePass] = []
    for entry in entries { passes.append(try entry.pass.init(options: entry.options)) }
    return passes
  }

  /// Every pass with every option's value, defaults included, in option order.
  public var resolvedOptions: [(pass: String, options: [(name: String, value: String)])] {
    entries.map { entry in
      (
        entry.pass.name,
        entry.pass.optionSpecs.map { spec in
          (spec.name, (entry.options[spec.name] ?? spec.defaultValue).description)
        }
      )
    }
  }

  /// The canonical text of the pipeline, with every option that differs from its default.
  public var description: String {
    entries.map { entry in
      let specs = entry.pass.optionSpecs
      let changed = specs.compactMap { spec -> String? in
        guard let value = entry.options[spec.name], value != spec.defaultValue else { return nil }
        return "\(spec.name)=\(value)"
      }
      return entry.pass.name + (changed.isEmpty ? "" : "{" + changed.joined(separator: ",") + "}")
    }.joined(separator: ",")
  }
}

struct PipelineParser {
  let chars: [Character]
  var index = 0

  init(_ text: String) { chars = Array(text) }

  var column: Int { index + 1 }

  mutating func skipSpaces() {
    while index < chars.count, chars[index].isWhitespace { index += 1 }
  }

  mutating func word(stoppingAt stops: Set<Character>) -> String {
    skipSpaces()
    let start = index
    while index < chars.count, !stops.contains(chars[index]), !chars[index].isWhitespace {
      index += 1
    }
    return String(chars[start..<index])
  }

  mutating func parse() throws(PassError) -> [Pipeline.Entry] {
    var entries: [Pipeline.Entry] = []
    skipSpaces()
    if index == chars.count { return entries }
    while true {
      skipSpaces()
      let nameColumn = column
      let name = word(stoppingAt: [",", "{", "}", "="])
      guard !name.isEmpty else {
        throw .pipelineSyntax(column: nameColumn, message: "expected a pass name")
      }
      guard let pass = PassRegistry.pass(named: name) else {
        throw .unknownPass(name: name, column: nameColumn)
      }
      var options = PassOptions(defaults: pass.optionSpecs)
      skipSpaces()
      if index < chars.count, chars[index] == "{" {
        index += 1
        try parseOptions(pass: pass, into: &options)
      }
      entries.append(Pipeline.Entry(pass: pass, options: options))
      skipSpaces()
      if index == chars.count { return entries }
      guard chars[index] == "," else {
        throw .pipelineSyntax(
          column: column, message: "expected ',' or end of pipeline, found '\(chars[index])'")
      }
      index += 1
    }
  }

  mutating func parseOptions(pass: any ModulePass.Type, into options: inout PassOptions)
    throws(PassError)
  {
    skipSpaces()
    if index < chars.count, chars[index] == "}" {
      index += 1
      return
    }
    while true {
      let keyColumn = column
      let key = word(stoppingAt: ["=", ",", "}", "{"])
      guard !key.isEmpty else {
        throw .pipelineSyntax(column: keyColumn, message: "expected an option name")
      }
      guard let spec = pass.optionSpecs.first(where: { $0.name == key }) else {
        let known = pass.optionSpecs.map(\.name)
        throw .badOption(
          pass: pass.name, option: key, column: keyColumn,
          message: "unknown option"
            + (known.isEmpty
              ? " (the pass has none)" : " (known: \(known.joined(separator: ", ")))"))
      }
      skipSpaces()
      guard index < chars.count, chars[index] == "=" else {
        throw .pipelineSyntax(column: column, message: "expected '=' after option '\(key)'")
      }
      index += 1
      let valueColumn = column
      let text = word(stoppingAt: [",", "}", "{"])
      guard let value = spec.parse(text) else {
        throw .badOption(
          pass: pass.name, option: key, column: valueColumn,
          message: "expected \(spec.kind.expectation), got '\(text)'")
      }
      options.set(key, value)
      skipSpaces()
      guard index < chars.count else {
        throw .pipelineSyntax(
          column: column, message: "expected '}' closing the options of '\(pass.name)'")
      }
      if chars[index] == "}" {
        index += 1
        return
      }
      guard chars[index] == "," else {
        throw .pipelineSyntax(
          column: column, message: "expected ',' or '}', found '\(chars[index])'")
      }
      index += 1
    }
  }
}
