import DQCIR
import Testing

@Suite struct TypeRuleTests {
  func infer(
    _ op: OpName, _ operands: [TensorType?], attributes: [(String, Attribute)] = [],
    constants: [DenseTensor?]? = nil, results: Int = 1
  ) throws -> [TensorType?] {
    try op.schema.typeRule(
      TypeRuleContext(
        operands: operands, attributes: AttributeDictionary(attributes), resultCount: results,
        constants: constants))
  }

  @Test func broadcastingFollowsNumPy() throws {
    // NumPy: np.broadcast_shapes((5, 1, 4), (3, 1)) == (5, 3, 4)
    let r = try infer(
      .onnx(.add), [TensorType(shape: [5, 1, 4], .f32), TensorType(shape: [3, 1], .f32)])
    #expect(r[0] == TensorType(shape: [5, 3, 4], .f32))
    let sym = try infer(
      .onnx(.mul), [TensorType([.symbol("s"), .fixed(1)], .f32), TensorType([.fixed(8)], .f32)])
    #expect(sym[0] == TensorType([.symbol("s"), .fixed(8)], .f32))
    #expect(throws: TypeRuleError.self) {
      try infer(.onnx(.add), [TensorType(shape: [3], .f32), TensorType(shape: [4], .f32)])
    }
  }

  @Test func matMulPromotesVectorsAndBroadcastsBatches() throws {
    // np.matmul shapes: (2,1,3,4) @ (5,4,6) -> (2,5,3,6); (4,) @ (4,6) -> (6,); (3,4) @ (4,) -> (3,)
    let f = { (s: [Int]) in TensorType(shape: s, .f32) }
    #expect(try infer(.onnx(.matMul), [f([2, 1, 3, 4]), f([5, 4, 6])])[0] == f([2, 5, 3, 6]))
    #expect(try infer(.onnx(.matMul), [f([4]), f([4, 6])])[0] == f([6]))
    #expect(try infer(.onnx(.matMul), [f([3, 4]), f([4])])[0] == f([3]))
  }

  @Test func reshapeResolvesZeroAndMinusOne() throws {
    let x = TensorType(shape: [2, 3, 4], .f32)
    let shape = TensorType(shape: [3], .i64)
    let target = DenseTensor(shape: [3], ints: [0, -1, 2])
    let r = try infer(.onnx(.reshape), [x, shape], constants: [nil, target])
    #expect(r[0] == TensorType(shape: [2, 6, 2], .f32))
    let dynamic = TensorType([.symbol("b"), .fixed(64)], .f32)
    let heads = DenseTensor(shape: [3], ints: [-1, 4, 16])
    let r2 = try infer(.onnx(.reshape), [dynamic, shape], constants: [nil, heads])
    #expect(r2[0] == TensorType([.symbol("b"), .fixed(4), .fixed(16)], .f32))
  }

  /// Expected lengths are Python's `len(range(n)[start:end:step])`.
  @Test(arguments: [
    (10, 1, Int64.max, 2, 5), (10, -1, Int64.min, -2, 5), (10, 2, -2, 1, 6), (10, 8, 2, -3, 2),
    (10, 20, 30, 1, 0), (4, -100, 100, 1, 4), (5, 4, -6, -1, 5),
  ])
  func sliceLengthMatchesPython(
    _ n: Int, _ start: Int64, _ end: Int64, _ step: Int64, _ expected: Int
  ) {
    #expect(ONNXShapeRange.sliceLength(n: n, start: start, end: end, step: step) == expected)
  }

  @Test func attentionChecksHeadsAndLengths() throws {
    let q = TensorType([.fixed(1), .fixed(8), .symbol("t"), .fixed(64)], .f32)
    let kv = TensorType([.fixed(1), .fixed(2), .symbol("t"), .fixed(64)], .f32)
    #expect(try infer(.dq(.attention), [q, kv, kv])[0] == q)
    let badKV = TensorType([.fixed(1), .fixed(3), .symbol("t"), .fixed(64)], .f32)
    #expect(throws: TypeRuleError.self) { try infer(.dq(.attention), [q, badKV, badKV]) }
  }

  @Test func splitAndReduce() throws {
    let x = TensorType(shape: [4, 10], .f32)
    let even = try infer(.onnx(.split), [x], attributes: [("axis", .int(1))], results: 3)
    // ONNX Split without sizes: ceil(10 / 3) = 4, so 4, 4, 2.
    #expect(even.map { $0?.staticShape } == [[4, 4], [4, 4], [4, 2]])
    let mean = try infer(
      .onnx(.reduceMean), [x, TensorType(shape: [1], .i64)], attributes: [("keepdims", .int(0))],
      constants: [nil, DenseTensor(shape: [1], ints: [-1])])
    #expect(mean[0] == TensorType(shape: [4], .f32))
  }
}
