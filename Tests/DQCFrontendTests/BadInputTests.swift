import DQCFrontend
import DQCTestSupport
import Foundation
import Testing

/// Every bad input is refused with an error naming the file, the place and what was expected.
@Suite struct BadInputTests {
  static let bad = Paths.packageRoot + "/Tests/Fixtures/import-bad"

  static let cases: [(String, String, String)] = [
    ("onnx/empty.onnx", "", "the file is empty, expected an ONNX ModelProto"),
    ("onnx/truncated.onnx", "", "not a valid ONNX protobuf (truncated or corrupt"),
    ("onnx/garbage.onnx", "", "not a valid ONNX protobuf"),
    ("onnx/missing-graph.onnx", "", "the model has no graph"),
    (
      "onnx/external-offset-past-eof.onnx", "initializer 'weight'",
      "external data bytes 4096..<4160 lie outside 'external-offset-past-eof.bin' (64 bytes)"
    ),
    (
      "onnx/external-offset-huge.onnx", "initializer 'weight'",
      "external data bytes 9223372036854775807..<(past 2^63) lie outside 'external-offset-past-eof.bin' (64 bytes)"
    ),
    (
      "onnx/external-length-past-eof.onnx", "initializer 'weight'",
      "lie outside 'external-length-past-eof.bin' (32 bytes)"
    ),
    (
      "onnx/external-escape.onnx", "initializer 'weight'",
      "external data location '../outside.bin' leaves the model's folder"
    ),
    (
      "onnx/external-absolute.onnx", "initializer 'weight'",
      "external data location '/etc/passwd' is absolute"
    ),
    (
      "onnx/external-symlink.onnx", "initializer 'weight'",
      "resolves outside the model's folder (through a symlink)"
    ),
    (
      "onnx/unknown-dtype.onnx", "initializer 'weight'",
      "data type 999 is not supported (expected one of FLOAT"
    ),
    (
      "onnx/initializer-size-mismatch.onnx", "initializer 'weight'",
      "raw_data has 48 bytes, shape [4, 4] of f32 needs 64"
    ),
    (
      "onnx/undefined-input.onnx", "node 'add_ghost' (Add)",
      "input 'ghost' is not produced by an earlier node"
    ),
    ("hf/header-length-past-eof/model.safetensors", "header length", "exceeds the file"),
    ("hf/header-not-json/model.safetensors", "header", "the header is not a JSON object"),
    (
      "hf/huge-tensor/model.safetensors", "tensor 'model.transformer.wte.weight'",
      "lie outside the data area"
    ),
    (
      "hf/offsets-outside-data/model.safetensors", "tensor 'model.transformer.wte.weight'",
      "lie outside the data area (6304 bytes)"
    ),
    (
      "hf/offsets-shape-mismatch/model.safetensors",
      "tensor 'model.transformer.blocks.0.q_proj.weight'",
      "data_offsets cover 256 bytes, shape [8, 4] of F32 needs 128"
    ),
    (
      "hf/overlapping-offsets/model.safetensors",
      "tensor 'model.transformer.blocks.0.attn_out.weight'", "data_offsets overlap those of"
    ),
    (
      "hf/unknown-dtype/model.safetensors", "tensor 'model.transformer.blocks.1.k_proj.weight'",
      "dtype 'F8_E9M9' is not supported"
    ),
    ("hf/missing-required-key/config.json", "key 'n_layers'", "missing; LLaDA needs it"),
    (
      "hf/unknown-architecture/config.json", "architectures",
      "unknown architecture 'GPT2LMHeadModel'"
    ),
    (
      "hf/missing-shard/model.safetensors.index.json", "weight_map",
      "shard 'model-00002-of-00002.safetensors' does not exist"
    ),
  ]

  @Test(arguments: cases)
  func refused(_ input: String, _ place: String, _ message: String) {
    // Checkpoint cases import the folder; the error names the file inside it.
    let target =
      input.hasPrefix("hf/")
      ? Self.bad + "/" + String(input.split(separator: "/")[0...1].joined(separator: "/"))
      : Self.bad + "/" + input
    do {
      _ = try ModelImporter.importModel(at: target)
      Issue.record("\(input) was accepted")
    } catch {
      #expect(error.file == Self.bad + "/" + input)
      #expect((error.place ?? "") == place)
      #expect(error.message.contains(message), "\(error.description)")
    }
  }

  @Test func unsupportedOpsAreListedOncePerKind() {
    do {
      _ = try ModelImporter.importModel(at: Paths.golden + "/import/onnx/unsupported-op.onnx")
      Issue.record("accepted")
    } catch {
      #expect(
        error.message
          == "unsupported ops: NonMaxSuppression (2 nodes: 'nms_a', 'nms_b'); com.microsoft.FusedMatMul (1 node: 'fused_mm')"
      )
    }
  }

  @Test func importCommandWritesNothingOnError() throws {
    let dir = Paths.temporaryDirectory()
    let result = try runCommand(
      Paths.dqcBinary, ["import", Self.bad + "/onnx/truncated.onnx", "-o", dir + "/out.dqir"])
    #expect(result.status == 1)
    #expect(result.stderr.split(separator: "\n").count == 1)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
  }
}
