/// Swift copies of the parts of ONNX's protobuf messages dqc reads.
///
/// `ONNXProtoReader` fills these from protobuf-c and frees the C structures at once, so no C
/// pointer outlives the read.
struct ONNXModelProto: Sendable {
  var irVersion: Int64?
  var opsetImports: [(domain: String, version: Int64)]
  var producerName: String
  var producerVersion: String
  var graph: ONNXGraphProto?
}

struct ONNXGraphProto: Sendable {
  var name: String
  var nodes: [ONNXNodeProto]
  var initializers: [ONNXTensorProto]
  var sparseInitializerCount: Int
  var inputs: [ONNXValueInfoProto]
  var outputs: [ONNXValueInfoProto]
  var valueInfo: [ONNXValueInfoProto]
}

struct ONNXNodeProto: Sendable {
  var name: String?
  var opType: String
  var domain: String
  var inputs: [String]
  var outputs: [String]
  var attributes: [ONNXAttributeProto]
}

struct ONNXTensorProto: Sendable {
  enum Payload: Sendable {
    case raw([UInt8])
    case floats([Float])
    case doubles([Double])
    case int32s([Int32])
    case int64s([Int64])
    case uint64s([UInt64])
    case strings(Int)
    case external([(key: String, value: String)])
    case empty
  }

  var name: String
  var dataType: Int32
  var dims: [Int64]
  var payload: Payload
  var hasSegment: Bool
}

struct ONNXAttributeProto: Sendable {
  var name: String
  var type: Int32
  var float: Float
  var int: Int64
  var string: [UInt8]
  var tensor: ONNXTensorProto?
  var floats: [Float]
  var ints: [Int64]
  var strings: [[UInt8]]
  var hasUnsupportedPayload: Bool
}

struct ONNXValueInfoProto: Sendable {
  enum DimProto: Sendable {
    case value(Int64)
    case param(String)
    case unknown
  }

  var name: String
  var elementType: Int32?
  var shape: [DimProto]?
  var isTensor: Bool
}
