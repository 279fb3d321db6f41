import DQCFrontend
import DQCTestSupport
import Foundation
import Testing

/// ONNX protobufs whose messages nest without bound (types in types, graphs in attributes) are
/// refused before protobuf-c, which decodes nested messages by recursion, can overflow the stack.
@Suite struct ONNXNestingTests {
  static func varint(_ n: Int) -> [UInt8] {
    var n = UInt64(n)
    var out: [UInt8] = []
    while n >= 0x80 {
      out.append(UInt8(n & 0x7f) | 0x80)
      n >>= 7
    }
    return out + [UInt8(n)]
  }

  /// A length-delimited field.
  static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
    varint(number << 3 | 2) + varint(payload.count) + payload
  }

  /// A model (ir_version 8, opset 17) whose graph has `graph` as its body.
  static func model(graph: [UInt8]) -> [UInt8] {
    varint(1 << 3) + varint(8) + field(8, field(1, []) + varint(2 << 3) + varint(17))
      + field(7, graph)
  }

  /// A model with one graph input whose type is `depth` sequence types inside each other.
  static func nestedTypes(depth: Int) -> [UInt8] {
    var type: [UInt8] = []
    for _ in 0..<depth { type = field(4, field(1, type)) }
    return model(graph: field(11, field(1, Array("x".utf8)) + field(2, type)))
  }

  /// A model whose graph's node has a graph attribute holding a node with a graph attribute...
  static func nestedGraphs(depth: Int) -> [UInt8] {
    var graph: [UInt8] = []
    for _ in 0..<depth {
      let attribute = field(1, Array("then_branch".utf8)) + field(6, graph)
      graph = field(1, field(4, Array("If".utf8)) + field(5, attribute))
    }
    return model(graph: graph)
  }

  static func importError(_ bytes: [UInt8]) -> FrontendError? {
    do {
      _ = try ONNXImporter(
        data: Data(bytes), path: "memory/model.onnx",
        externalDataDirectory: Paths.temporaryDirectory()
      ).importModule()
      return nil
    } catch {
      return error
    }
  }

  @Test func deeplyNestedTypesAreRefusedWithoutRecursion() throws {
    // 100,000 levels (about 800 KB) overflowed the stack inside protobuf-c before the check.
    let error = try #require(Self.importError(Self.nestedTypes(depth: 100_000)))
    #expect(error.file == "memory/model.onnx")
    #expect(error.place?.hasPrefix("byte ") == true)
    #expect(error.message.contains("protobuf messages nest deeper than 64 levels"), "\(error)")
  }

  @Test func deeplyNestedSubgraphsAreRefused() throws {
    let error = try #require(Self.importError(Self.nestedGraphs(depth: 30)))
    #expect(error.message.contains("nest deeper than 64 levels"), "\(error)")
  }

  @Test func ordinaryNestingPassesTheCheck() throws {
    // Within the limit, protobuf-c decodes the model and the importer refuses it for its content.
    for bytes in [Self.nestedTypes(depth: 20), Self.nestedGraphs(depth: 10)] {
      let error = try #require(Self.importError(bytes))
      #expect(!error.message.contains("nest deeper"), "\(error)")
    }
  }
}
