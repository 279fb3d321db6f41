import DQCIR

/// Maps ONNX node attributes to dqc attributes, checked against the op's schema.
struct ONNXAttributeMapper {
  let file: String
  let decoder: ONNXTensorDecoder

  func map(_ node: ONNXNodeProto, op: ONNXOp, place: String) throws(FrontendError)
    -> AttributeDictionary
  {
    let schema = OpName.onnx(op).schema
    var dict = AttributeDictionary()
    for a in node.attributes {
      let location = "\(place), attribute '\(a.name)'"
      guard !a.hasUnsupportedPayload else {
        throw FrontendError(
          file: file, place: location, "graph, sparse-tensor and type attributes are not supported")
      }
      guard let spec = schema.attribute(named: a.name) else {
        let known = schema.attributes.map(\.name)
        throw FrontendError(
          file: file, place: location,
          "dqc's onnx.\(op.rawValue) does not take this attribute"
            + (known.isEmpty ? "" : " (expected one of: \(known.joined(separator: ", ")))"))
      }
      let value: Attribute
      switch a.type {
      case 1: value = .float(Double(a.float))
      case 2:
        if spec.kind == .elementType {
          guard let scalar = ONNXDataType.scalarType(Int32(truncatingIfNeeded: a.int)) else {
            throw FrontendError(
              file: file, place: location,
              "\(ONNXDataType.name(Int32(truncatingIfNeeded: a.int))) is not supported (expected one of \(ONNXDataType.supportedNames))"
            )
          }
          value = .elementType(.scalar(scalar))
        } else {
          value = .int(a.int)
        }
      case 3: value = .string(try utf8(a.string, location))
      case 4:
        guard let t = a.tensor else {
          throw FrontendError(file: file, place: location, "tensor attribute has no tensor")
        }
        value = .dense(try decoder.dense(t, place: location))
      case 6: value = .array(a.floats.map { .float(Double($0)) })
      case 7: value = .array(a.ints.map { .int($0) })
      case 8:
        var items: [Attribute] = []
        for s in a.strings { items.append(.string(try utf8(s, location))) }
        value = .array(items)
      default:
        throw FrontendError(
          file: file, place: location, "attribute type \(a.type) is not supported")
      }
      guard spec.kind.accepts(value.kind) else {
        throw FrontendError(
          file: file, place: location,
          "expected \(spec.kind.rawValue), found \(value.kind.rawValue)")
      }
      dict[a.name] = value
    }
    return dict
  }

  func utf8(_ bytes: [UInt8], _ place: String) throws(FrontendError) -> String {
    guard let s = String(validating: bytes, as: UTF8.self) else {
      throw FrontendError(file: file, place: place, "string is not valid UTF-8")
    }
    return s
  }
}
