/// Bounds how deeply an ONNX protobuf's messages nest, before protobuf-c decodes it.
///
/// protobuf-c unpacks and frees nested messages by recursion, with no depth limit, so a file of a
/// few hundred kilobytes of nested `TypeProto`s or subgraphs would overflow the stack. This scan
/// walks the wire format iteratively, following only the fields through which ONNX messages can
/// nest without bound (graphs in attributes, nodes in functions, types in types), and refuses
/// nesting deeper than `maximumDepth`. Any other malformation is left for protobuf-c to refuse.
enum ONNXNestingCheck {
  /// The deepest nesting accepted, counting the `ModelProto` as 1: room for 20 levels of
  /// subgraphs (each is a node, an attribute and a graph) or 30 of sequence types.
  static let maximumDepth = 64

  /// The ONNX messages on the recursive paths.
  enum Message {
    case model, trainingInfo, function, graph, node, attribute, valueInfo, type
    /// `TypeProto.Sequence` and `TypeProto.Optional` (their `elem_type` is field 1).
    case sequenceOrOptional
    /// `TypeProto.Map` (its `value_type` is field 2).
    case map

    /// The message a length-delimited field holds, if it is on a recursive path.
    func child(_ field: UInt64) -> Message? {
      switch (self, field) {
      case (.model, 7): .graph
      case (.model, 20): .trainingInfo
      case (.model, 25): .function
      case (.trainingInfo, 1), (.trainingInfo, 2): .graph
      case (.function, 7), (.graph, 1): .node
      case (.function, 11), (.node, 5): .attribute
      case (.function, 12), (.graph, 11), (.graph, 12), (.graph, 13): .valueInfo
      case (.attribute, 6), (.attribute, 11): .graph
      case (.attribute, 14), (.attribute, 15), (.valueInfo, 2): .type
      case (.type, 4), (.type, 9): .sequenceOrOptional
      case (.type, 5): .map
      case (.sequenceOrOptional, 1), (.map, 2): .type
      default: nil
      }
    }
  }

  /// The error for a serialized `ModelProto` whose messages nest deeper than `maximumDepth`, or
  /// nil (also when the bytes are malformed in another way).
  static func check(_ bytes: UnsafeRawBufferPointer, file: String) -> FrontendError? {
    var stack: [(message: Message, end: Int)] = [(.model, bytes.count)]
    var p = 0
    while let top = stack.last {
      guard p < top.end else {
        stack.removeLast()
        continue
      }
      guard let key = varint(bytes, &p, end: top.end) else { return nil }
      switch key & 7 {
      case 0:
        guard varint(bytes, &p, end: top.end) != nil else { return nil }
      case 1, 5:
        let width = key & 7 == 1 ? 8 : 4
        guard width <= top.end - p else { return nil }
        p += width
      case 2:
        guard let length = varint(bytes, &p, end: top.end), length <= UInt64(top.end - p) else {
          return nil
        }
        guard let child = top.message.child(key >> 3) else {
          p += Int(length)
          continue
        }
        guard stack.count < maximumDepth else {
          return FrontendError(
            file: file, place: "byte \(p)",
            "protobuf messages nest deeper than \(maximumDepth) levels (subgraphs or types inside each other); expected at most \(maximumDepth)"
          )
        }
        stack.append((child, p + Int(length)))
      default:
        return nil
      }
    }
    return nil
  }

  /// Reads a base-128 varint at `p` (before `end`), or nil if it is cut off or longer than 10 bytes.
  static func varint(_ bytes: UnsafeRawBufferPointer, _ p: inout Int, end: Int) -> UInt64? {
    var value: UInt64 = 0
    for shift in stride(from: UInt64(0), to: 70, by: 7) {
      guard p < end else { return nil }
      let b = bytes[p]
      p += 1
      value |= UInt64(b & 0x7f) << shift
      if b < 0x80 { return value }
    }
    return nil
  }
}
