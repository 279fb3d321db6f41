import DQCIR
import Foundation
import Testing

@Suite struct TextRoundTripTests {
  /// Builds a module exercising every attribute kind and many type forms from a seed.
  func randomModule(seed: UInt64) -> Module {
    var g = SplitMix64(seed: seed)
    func pick<T>(_ items: [T]) -> T { items[Int(g.next() % UInt64(items.count))] }
    func randomFloat() -> Double {
      pick([0.0, -0.0, 1.0, 1e-300, -3.5e38, .infinity, -.infinity, 0.1, 123456.789])
        * (g.next() % 2 == 0 ? 1 : -1)
    }
    func randomString() -> String {
      pick([
        "", "plain", "quote\"d", "back\\slash", "new\nline", "tab\t", "bell\u{7}", "é ü 漢",
        "/model/layers.0/Add",
      ])
    }
    func randomAttribute(depth: Int) -> Attribute {
      switch g.next() % (depth > 1 ? 8 : 10) {
      case 0: return .int(Int64(bitPattern: g.next()))
      case 1: return .float(randomFloat())
      case 2: return .string(randomString())
      case 3: return .bool(g.next() % 2 == 0)
      case 4: return .elementType(.scalar(pick(ScalarType.allCases)))
      case 5: return .symbol(pick(["w", "onnx::MatMul_1", "a b"]))
      case 6: return .reference(key: randomString(), summary: randomString())
      case 7:
        return .type(
          TensorType(
            [.fixed(Int(g.next() % 5)), .dynamic, .symbol("seq")],
            .scalar(pick(ScalarType.allCases))))
      default: return .array((0..<Int(g.next() % 3)).map { _ in randomAttribute(depth: depth + 1) })
      }
    }
    var attributes = AttributeDictionary()
    for i in 0..<6 { attributes["key\(i)"] = randomAttribute(depth: 0) }
    attributes["calib.ratio"] = .float(0.3)
    attributes["value"] = .dense(DenseTensor(shape: [2], element: .f16, floats: [0.5, -2.0]))
    let q = QuantizedType(
      storage: pick([.i4, .u4, .i8, .u8]), expressed: pick([.f32, .f16, .bf16]),
      granularity: pick([.perTensor, .perChannel(axis: 1), .perGroup(axis: 1, size: 32)]),
      isSymmetric: g.next() % 2 == 0)
    attributes["q"] = .elementType(.quantized(q))
    var weights = WeightStore()
    weights.insert(Weight(name: "w", tensor: DenseTensor(shape: [2, 2], floats: [1, 2, 3, 4])))
    weights.insert(Weight(name: "big", type: TensorType(shape: [64, 64], .f16), storage: .elided))
    let x = Value("x", TensorType([.symbol("b"), .fixed(2)], .f32))
    let w = Instruction(
      .dq(.weight), operands: [], results: [Value("w", TensorType(shape: [2, 2], .f32))],
      attributes: AttributeDictionary([("name", .symbol("w"))]))
    let y = Instruction(
      .onnx(.matMul), operands: ["x", "w"],
      results: [Value("y", TensorType([.symbol("b"), .fixed(2)], .f32))],
      attributes: attributes, location: randomString())
    return Module(
      name: "random\(seed)", attributes: attributes, weights: weights,
      graph: Graph(arguments: [x], instructions: [w, y], outputs: ["y"]))
  }

  @Test(arguments: 0..<40)
  func printParseRoundTrip(seed: UInt64) throws {
    let module = randomModule(seed: seed)
    let text = IRPrinter.print(module, options: PrintOptions(printWeights: true))
    let parsed = try IRParser.parse(text)
    #expect(parsed == module)
    #expect(IRPrinter.print(parsed, options: PrintOptions(printWeights: true)) == text)
  }

  @Test func nanAndNegativeZeroKeepTheirBits() throws {
    let text = """
      dqir version 1

      module @m {
        weight @w : tensor<3xf32> = dense<[nan, -0.0, -inf]>

        graph @main() -> () {
          return
        }
      }

      """
    let module = try IRParser.parse(text)
    let values = try #require(module.weights["w"]).loadTensor().doubles
    #expect(
      values[0].isNaN && values[1] == 0 && values[1].sign == .minus && values[2] == -.infinity)
    #expect(IRPrinter.print(module, options: PrintOptions(printWeights: true)) == text)
  }

  @Test func elidedWeightsPrintDigestOfTheirBytes() throws {
    var module = Module(name: "m")
    module.weights.insert(Weight(name: "w", tensor: DenseTensor(shape: [1], floats: [1])))
    let text = IRPrinter.print(module)
    // f32 1.0 is 00 00 80 3f; its FNV-1a 64 digest was computed with Python's int arithmetic.
    #expect(text.contains("weight @w : tensor<1xf32> = elided digest \"fnv1a64:4b72477f9c5c2f98\""))
  }

  @Test func relativePaths() {
    #expect(IRPrinter.relativePath("/a/b/c.bin", to: "/a/b") == "c.bin")
    #expect(IRPrinter.relativePath("/a/x/c.bin", to: "/a/b/d") == "../../x/c.bin")
    // A relative path is relative to the current directory (ModuleFileTests has more).
    let cwd = FileManager.default.currentDirectoryPath
    #expect(IRPrinter.relativePath("rel.bin", to: cwd) == "rel.bin")
    #expect(IRPrinter.relativePath("rel.bin", to: nil) == "rel.bin")
  }
}
