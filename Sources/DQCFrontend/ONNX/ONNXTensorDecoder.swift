import DQCIR

/// Turns ONNX tensors (initializers and tensor attributes) into dqc weights and dense tensors.
struct ONNXTensorDecoder {
  let file: String
  let modelDirectory: String

  /// The tensor type of an ONNX tensor.
  func type(of tensor: ONNXTensorProto, place: String) throws(FrontendError) -> TensorType {
    guard let scalar = ONNXDataType.scalarType(tensor.dataType) else {
      throw FrontendError(
        file: file, place: place,
        "\(ONNXDataType.name(tensor.dataType)) is not supported (expected one of \(ONNXDataType.supportedNames))"
      )
    }
    var shape: [Int] = []
    var count = 1
    for d in tensor.dims {
      guard d >= 0, d <= Int64(Int32.max) else {
        throw FrontendError(file: file, place: place, "dimension \(d) is out of range")
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
      guard !overflow, product <= (1 << 40) else {
        throw FrontendError(file: file, place: place, "shape \(tensor.dims) has too many elements")
      }
      count = product
      shape.append(Int(d))
    }
    return TensorType(shape: shape, .scalar(scalar))
  }

  /// The storage of an initializer: in memory for inline data, a file slice for external data.
  func storage(of tensor: ONNXTensorProto, type: TensorType, place: String) throws(FrontendError)
    -> WeightStorage
  {
    guard !tensor.hasSegment else {
      throw FrontendError(file: file, place: place, "segmented tensors are not supported")
    }
    let expectedBytes = type.byteCount ?? 0
    let count = type.elementCount ?? 0
    let scalar = type.element.storageType
    switch tensor.payload {
    case .external(let entries):
      return .file(
        try ExternalData.slice(
          entries, expectedBytes: expectedBytes, modelDirectory: modelDirectory, file: file,
          tensor: tensor.name))
    case .raw(let bytes):
      guard bytes.count == expectedBytes else {
        throw FrontendError(
          file: file, place: place,
          "raw_data has \(bytes.count) bytes, shape \(tensor.dims) of \(scalar) needs \(expectedBytes)"
        )
      }
      return .bytes(bytes)
    case .empty:
      guard count == 0 else {
        throw FrontendError(
          file: file, place: place,
          "tensor has no data, shape \(tensor.dims) needs \(count) elements")
      }
      return .bytes([])
    case .strings:
      throw FrontendError(file: file, place: place, "string tensors are not supported")
    case .floats(let v):
      try expect(scalar == .f32, "float_data", scalar, place)
      try expectCount(v.count, count, "float_data", place)
      return .bytes(
        ElementCodec.encode(DenseTensor(type: type, values: .floats(v.map(Double.init)))))
    case .doubles(let v):
      try expect(scalar == .f64, "double_data", scalar, place)
      try expectCount(v.count, count, "double_data", place)
      return .bytes(ElementCodec.encode(DenseTensor(type: type, values: .floats(v))))
    case .int64s(let v):
      try expect(scalar == .i64, "int64_data", scalar, place)
      try expectCount(v.count, count, "int64_data", place)
      return .bytes(ElementCodec.encode(DenseTensor(type: type, values: .ints(v))))
    case .uint64s:
      throw FrontendError(file: file, place: place, "uint64_data holds a type dqc does not support")
    case .int32s(let v):
      return .bytes(try int32Payload(v, type: type, place: place))
    }
  }

  /// `int32_data`: one element per entry, except 16-bit floats (bit patterns) and 4-bit integers
  /// (two elements per entry, low nibble first).
  func int32Payload(_ v: [Int32], type: TensorType, place: String) throws(FrontendError) -> [UInt8]
  {
    let count = type.elementCount ?? 0
    let scalar = type.element.storageType
    switch scalar {
    case .f16, .bf16:
      try expectCount(v.count, count, "int32_data", place)
      var out: [UInt8] = []
      out.reserveCapacity(count * 2)
      for x in v {
        out.append(UInt8(truncatingIfNeeded: x))
        out.append(UInt8(truncatingIfNeeded: x >> 8))
      }
      return out
    case .i4, .u4:
      try expectCount(v.count, (count + 1) / 2, "int32_data", place)
      return v.map { UInt8(truncatingIfNeeded: $0) }
    case .i32, .i16, .i8, .u8, .bool:
      try expectCount(v.count, count, "int32_data", place)
      let range = scalar == .bool ? 0...1 : scalar.integerRange ?? 0...0
      for x in v where !range.contains(Int64(x)) {
        throw FrontendError(
          file: file, place: place, "int32_data value \(x) does not fit \(scalar)")
      }
      return ElementCodec.encode(DenseTensor(type: type, values: .ints(v.map(Int64.init))))
    default:
      throw FrontendError(file: file, place: place, "int32_data cannot hold \(scalar) values")
    }
  }

  /// A tensor attribute's value (inline data only).
  func dense(_ tensor: ONNXTensorProto, place: String) throws(FrontendError) -> DenseTensor {
    let type = try type(of: tensor, place: place)
    guard case .bytes(let bytes) = try storage(of: tensor, type: type, place: place),
      let dense = ElementCodec.decode(bytes, type: type)
    else {
      throw FrontendError(file: file, place: place, "tensor attributes must hold their data inline")
    }
    return dense
  }

  func expect(_ ok: Bool, _ field: String, _ scalar: ScalarType, _ place: String)
    throws(FrontendError)
  {
    guard ok else {
      throw FrontendError(file: file, place: place, "\(field) cannot hold \(scalar) values")
    }
  }

  func expectCount(_ actual: Int, _ expected: Int, _ field: String, _ place: String)
    throws(FrontendError)
  {
    guard actual == expected else {
      throw FrontendError(
        file: file, place: place, "\(field) has \(actual) entries, the shape needs \(expected)")
    }
  }
}
