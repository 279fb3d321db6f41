import CONNXProto
import Foundation

/// Reads ONNX protobuf bytes with protobuf-c and copies them into Swift values.
///
/// This is the only file that touches protobuf-c: every C pointer is null-checked, copied into a
/// Swift value, and the message is freed before returning.
enum ONNXProtoReader {
  /// The largest ONNX protobuf accepted (protobuf's own limit is 2 GiB).
  static let maximumSize = 2 << 30

  /// Parses a serialized `ModelProto`.
  static func readModel(_ bytes: Data, file: String) throws(FrontendError) -> ONNXModelProto {
    guard !bytes.isEmpty else {
      throw FrontendError(file: file, "the file is empty, expected an ONNX ModelProto")
    }
    guard bytes.count <= maximumSize else {
      throw FrontendError(
        file: file, "the file is \(bytes.count) bytes, over the 2 GiB protobuf limit")
    }
    if let error = bytes.withUnsafeBytes({ ONNXNestingCheck.check($0, file: file) }) { throw error }
    let message = bytes.withUnsafeBytes { buffer in
      onnx__model_proto__unpack(nil, buffer.count, buffer.bindMemory(to: UInt8.self).baseAddress)
    }
    guard let message else {
      throw FrontendError(
        file: file,
        "not a valid ONNX protobuf (truncated or corrupt; \(bytes.count) bytes could not be decoded as a ModelProto)"
      )
    }
    defer { onnx__model_proto__free_unpacked(message, nil) }
    return copyModel(message.pointee)
  }

  /// Parses a serialized `TensorProto` (the ONNX test-data format).
  static func readTensor(_ bytes: Data, file: String) throws(FrontendError) -> ONNXTensorProto {
    let message = bytes.withUnsafeBytes { buffer in
      onnx__tensor_proto__unpack(nil, buffer.count, buffer.bindMemory(to: UInt8.self).baseAddress)
    }
    guard let message else {
      throw FrontendError(file: file, "not a valid ONNX TensorProto (truncated or corrupt)")
    }
    defer { onnx__tensor_proto__free_unpacked(message, nil) }
    return copyTensor(message.pointee)
  }

  static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(
      decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
  }

  static func optionalString(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    pointer.map { _ in string(pointer) }
  }

  static func array<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
  }

  static func messages<T, R>(
    _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int, _ body: (T) -> R
  ) -> [R] {
    guard let pointer, count > 0 else { return [] }
    return (0..<count).compactMap { pointer[$0].map { body($0.pointee) } }
  }

  static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard let pointer = data.data, data.len > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: data.len))
  }

  static func copyModel(_ m: Onnx__ModelProto) -> ONNXModelProto {
    ONNXModelProto(
      irVersion: m.has_ir_version != 0 ? m.ir_version : nil,
      opsetImports: messages(m.opset_import, m.n_opset_import) {
        (domain: string($0.domain), version: $0.has_version != 0 ? $0.version : 0)
      },
      producerName: string(m.producer_name),
      producerVersion: string(m.producer_version),
      graph: m.graph.map { copyGraph($0.pointee) })
  }

  static func copyGraph(_ g: Onnx__GraphProto) -> ONNXGraphProto {
    ONNXGraphProto(
      name: string(g.name),
      nodes: messages(g.node, g.n_node, copyNode),
      initializers: messages(g.initializer, g.n_initializer, copyTensor),
      sparseInitializerCount: g.n_sparse_initializer,
      inputs: messages(g.input, g.n_input, copyValueInfo),
      outputs: messages(g.output, g.n_output, copyValueInfo),
      valueInfo: messages(g.value_info, g.n_value_info, copyValueInfo))
  }

  static func copyNode(_ n: Onnx__NodeProto) -> ONNXNodeProto {
    var inputs: [String] = []
    if let input = n.input {
      for i in 0..<n.n_input { inputs.append(string(input[i])) }
    }
    var outputs: [String] = []
    if let output = n.output {
      for i in 0..<n.n_output { outputs.append(string(output[i])) }
    }
    return ONNXNodeProto(
      name: optionalString(n.name).flatMap { $0.isEmpty ? nil : $0 },
      opType: string(n.op_type), domain: string(n.domain), inputs: inputs, outputs: outputs,
      attributes: messages(n.attribute, n.n_attribute, copyAttribute))
  }

  static func copyTensor(_ t: Onnx__TensorProto) -> ONNXTensorProto {
    let payload: ONNXTensorProto.Payload
    if t.has_data_location != 0 && t.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
      payload = .external(
        messages(t.external_data, t.n_external_data) {
          (key: string($0.key), value: string($0.value))
        })
    } else if t.has_raw_data != 0 {
      payload = .raw(bytes(t.raw_data))
    } else if t.n_float_data > 0 {
      payload = .floats(array(t.float_data, t.n_float_data))
    } else if t.n_double_data > 0 {
      payload = .doubles(array(t.double_data, t.n_double_data))
    } else if t.n_int64_data > 0 {
      payload = .int64s(array(t.int64_data, t.n_int64_data))
    } else if t.n_int32_data > 0 {
      payload = .int32s(array(t.int32_data, t.n_int32_data))
    } else if t.n_uint64_data > 0 {
      payload = .uint64s(array(t.uint64_data, t.n_uint64_data))
    } else if t.n_string_data > 0 {
      payload = .strings(t.n_string_data)
    } else {
      payload = .empty
    }
    return ONNXTensorProto(
      name: string(t.name), dataType: t.has_data_type != 0 ? t.data_type : 0,
      dims: array(t.dims, t.n_dims), payload: payload, hasSegment: t.segment != nil)
  }

  static func copyAttribute(_ a: Onnx__AttributeProto) -> ONNXAttributeProto {
    ONNXAttributeProto(
      name: string(a.name), type: a.has_type != 0 ? Int32(a.type.rawValue) : 0,
      float: a.f, int: a.i, string: a.has_s != 0 ? bytes(a.s) : [],
      tensor: a.t.map { copyTensor($0.pointee) },
      floats: array(a.floats, a.n_floats), ints: array(a.ints, a.n_ints),
      strings: array(a.strings, a.n_strings).map(bytes),
      hasUnsupportedPayload: a.g != nil || a.sparse_tensor != nil || a.tp != nil
        || a.n_tensors > 0 || a.n_graphs > 0 || a.n_sparse_tensors > 0 || a.n_type_protos > 0)
  }

  static func copyValueInfo(_ v: Onnx__ValueInfoProto) -> ONNXValueInfoProto {
    guard let type = v.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
      let tensor = type.pointee.tensor_type
    else {
      return ONNXValueInfoProto(
        name: string(v.name), elementType: nil, shape: nil, isTensor: v.type == nil)
    }
    var shape: [ONNXValueInfoProto.DimProto]?
    if let s = tensor.pointee.shape {
      shape = messages(s.pointee.dim, s.pointee.n_dim) { d in
        switch d.value_case {
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: .value(d.dim_value)
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
          d.dim_param.map { _ in .param(string(d.dim_param)) } ?? .unknown
        default: .unknown
        }
      }
    }
    return ONNXValueInfoProto(
      name: string(v.name),
      elementType: tensor.pointee.has_elem_type != 0 ? tensor.pointee.elem_type : nil,
      shape: shape, isTensor: true)
  }
}
