import DQCDriver
import DQCInterp
import DQCTestSupport
import Foundation
import Testing

/// `dqc compile -o x.dqb` and the commands that read bundles.
@Suite(.serialized) struct BundleCommandTests {
  static let model = Paths.packageRoot + "/Tests/Fixtures/exports/llada/model.legacy.onnx"
  static let ids = Paths.packageRoot + "/Tests/Fixtures/exports/llada/reference/input_ids.npy"

  static func compile(_ output: String, _ extra: [String] = []) throws -> CommandResult {
    try runCommand(
      Paths.dqcBinary,
      ["compile", model, "-o", output, "--w4a8", "--method", "rtn", "--group-size", "32"] + extra)
  }

  static func bytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
  }

  @Test func bundleRunsLikeTheQuantizedIRAndIsReproducible() throws {
    let dir = Paths.temporaryDirectory()
    for output in ["a.dqb", "b.dqb", "q.dqir"] {
      let result = try Self.compile(dir + "/" + output)
      #expect(result.status == 0, "\(result.stderr)")
    }
    #expect(try Self.bytes(dir + "/a.dqb") == Self.bytes(dir + "/b.dqb"), "bundles differ")
    // The bundle's IR on the interpreter is the quantized IR, bit for bit; the runtime agrees
    // with it to relative 1e-3.
    for (model, device) in [("a.dqb", "interpreter"), ("a.dqb", "cpu"), ("q.dqir", "interpreter")] {
      let run = try runCommand(
        Paths.dqcBinary,
        [
          "exec", dir + "/" + model, "--input", "input_ids=" + Self.ids, "--device", device,
          "--output-dir", dir + "/" + model + "." + device,
        ])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let reference = dir + "/q.dqir.interpreter/logits.npy"
    #expect(
      try Self.bytes(dir + "/a.dqb.interpreter/logits.npy") == Self.bytes(reference),
      "the bundle's logits differ from the IR's")
    let expected = try NPYFile.read(reference).floats
    let actual = try NPYFile.read(dir + "/a.dqb.cpu/logits.npy").floats
    #expect(actual.count == expected.count && actual.count == 2 * 24 * 64)
    let scale = expected.map { abs($0) }.max() ?? 1
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst / scale <= 1e-3, "runtime vs interpreter: max |Δ| \(worst), max |logit| \(scale)")
    let verify = try runCommand(Paths.dqcBinary, ["verify", dir + "/a.dqb"])
    #expect(verify.status == 0 && verify.stdout.contains("ok"), "\(verify.stderr)")
  }

  @Test func inspectReportsSectionsBitsAndRecipe() throws {
    let dir = Paths.temporaryDirectory()
    #expect(try Self.compile(dir + "/m.dqb").status == 0)
    let result = try runCommand(Paths.dqcBinary, ["inspect", dir + "/m.dqb"])
    #expect(result.status == 0, "\(result.stderr)")
    for name in ["meta", "recipe", "provenance", "ir", "tensor-index", "tensor-data"] {
      #expect(result.stdout.contains("  \(name) "), "no section \(name)")
    }
    // The body: 4-bit codes, one f16 scale and one u8 zero point per 32 weights: 4 + 24 / 32 =
    // 4.75; the (default W8A8) head: 8-bit codes, one of each per channel of d_model weights.
    #expect(result.stdout.contains("4-bit codes: "), "\(result.stdout)")
    #expect(result.stdout.contains(" weights, 4.7500 bits per weight"), "\(result.stdout)")
    #expect(result.stdout.contains(#""method":"rtn""#))
    #expect(result.stdout.contains(#""source":"model.legacy.onnx""#))
    // The ONNX export has no diffusion metadata; compile takes the mask id from config.json.
    let config = try String(
      contentsOfFile: Paths.packageRoot + "/Tests/Fixtures/exports/llada/config.json",
      encoding: .utf8)
    let mask = try #require(config.firstMatch(of: /"mask_token_id": (\d+)/)?.1)
    #expect(result.stdout.contains("model.mask_token_id = \(mask)"), "\(result.stdout)")
    // The CUDA back end keeps the (untied) embedding table in host memory.
    let width = try #require(config.firstMatch(of: /"d_model": (\d+)/)?.1).description
    let vocab = try #require(config.firstMatch(of: /"embedding_size": (\d+)/)?.1).description
    let table = Double(try #require(Int(width)) * (try #require(Int(vocab))) * 4) / 1_048_576
    let headBits = 8 + 24 / Double(try #require(Int(width)))
    #expect(
      result.stdout.contains(
        String(
          format: "8-bit codes: %@ weights, %.4f bits per weight", "\(Int(vocab)! * Int(width)!)",
          headBits)),
      "\(result.stdout)")
    #expect(
      result.stdout.contains(
        String(format: "(the embedding table, %.1f MiB, stays in host memory)", table)),
      "\(result.stdout)")
  }

  @Test func damagedBundleIsRefusedWithTheSectionNamed() throws {
    let dir = Paths.temporaryDirectory()
    #expect(try Self.compile(dir + "/m.dqb").status == 0)
    var bytes = [UInt8](try Self.bytes(dir + "/m.dqb"))
    bytes[bytes.count - 5] ^= 0xff  // the last tensor's bytes
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/bad.dqb"))
    for command in ["verify", "inspect"] {
      let result = try runCommand(Paths.dqcBinary, [command, dir + "/bad.dqb"])
      #expect(result.status != 0)
      #expect(
        result.stderr.contains("bad.dqb: section 'tensor-data': checksum mismatch"),
        "\(result.stderr)")
    }
  }

  @Test func failedOrKilledCompileLeavesNoBundle() throws {
    let dir = Paths.temporaryDirectory()
    let failed = try Self.compile(dir + "/f.dqb", ["--calib", dir + "/missing.jsonl"])
    #expect(failed.status != 0)
    #expect(!FileManager.default.fileExists(atPath: dir + "/f.dqb"))
    let bad = try runCommand(Paths.dqcBinary, ["compile", Self.model, "-o", dir + "/x.bin"])
    #expect(bad.status != 0 && bad.stderr.contains(".dqb"))
    // SIGKILL part-way through compiling the trained fixture: no bundle appears.
    let fixture = Paths.packageRoot + "/Tests/Fixtures/llada-tiny/model.onnx"
    var killed = 0
    for delay: UInt32 in [200_000, 1_500_000, 4_000_000] {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: Paths.dqcBinary)
      process.arguments = ["compile", fixture, "-o", dir + "/k.dqb", "--w4a8", "--method", "rtn"]
      try process.run()
      usleep(delay)
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      if process.terminationReason == .uncaughtSignal {
        killed += 1
        #expect(!FileManager.default.fileExists(atPath: dir + "/k.dqb"), "killed after \(delay) µs")
      }
    }
    #expect(killed > 0, "every compile finished before it could be killed")
  }
}
