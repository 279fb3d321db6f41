import DQCIR

/// ONNX `TensorProto.DataType` codes and their dqc element types.
enum ONNXDataType {
  /// The scalar type of an ONNX data type code, or `nil` when dqc does not support it.
  static func scalarType(_ code: Int32) -> ScalarType? {
    switch code {
    case 1: .f32
    case 2: .u8
    case 3: .i8
    case 5: .i16
    case 6: .i32
    case 7: .i64
    case 9: .bool
    case 10: .f16
    case 11: .f64
    case 16: .bf16
    case 21: .u4
    case 22: .i4
    default: nil
    }
  }

  /// The ONNX name of a data type code, for messages.
  static func name(_ code: Int32) -> String {
    let names: [Int32: String] = [
      0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
      7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64",
      14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
      19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
    ]
    return names[code] ?? "data type \(code)"
  }

  /// The supported data types, for messages.
  static let supportedNames =
    "FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT64, INT32, INT16, INT8, UINT8, INT4, UINT4, BOOL"
}
