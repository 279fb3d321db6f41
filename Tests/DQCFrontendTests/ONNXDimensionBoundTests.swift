import DQCFrontend
import Foundation
import Testing

/// Graph input and output dimensions (`value_info`) are bounded like initializer dimensions, so
/// the shape rules never multiply sizes taken unchecked from the file.
@Suite struct ONNXDimensionBoundTests {
  typealias Proto = ONNXNestingTests

  /// A model whose one graph input `x` is f32 with the given dimension values.
  static func model(inputDims: [Int]) -> [UInt8] {
    let dims = inputDims.flatMap { Proto.field(1, Proto.varint(1 << 3) + Proto.varint($0)) }
    let tensor = Proto.varint(1 << 3) + Proto.varint(1) + Proto.field(2, dims)
    let input = Proto.field(1, Array("x".utf8)) + Proto.field(2, Proto.field(1, tensor))
    return Proto.model(graph: Proto.field(11, input))
  }

  @Test func aDimensionOver2To31IsRefused() throws {
    let error = try #require(Proto.importError(Self.model(inputDims: [4, 1 << 40])))
    #expect(error.place == "graph input 'x'")
    #expect(
      error.message == "dimension 1099511627776 is out of range (expected at most 2147483647)")
  }

  @Test func dimensionsWithinTheBoundAreRead() throws {
    // The model has no nodes or outputs, so it is refused later, for its outputs.
    let error = Proto.importError(Self.model(inputDims: [4, 1 << 31 - 1]))
    #expect(error?.message.contains("out of range") != true, "\(String(describing: error))")
  }
}
