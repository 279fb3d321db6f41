import DQCDriver
import DQCTestSupport
import Foundation
import Testing

@Suite(.serialized) struct CompileTests {
  @Test func recipesExpandToPipelines() throws {
    var dllm = NamedPipeline(precision: .w4a8, method: .dllmquant)
    dllm.calibration = "c.jsonl"
    let full = try dllm.pipeline()
    #expect(
      full == "canonicalize,cse,raise,canonicalize,dce{aggressive=true},"
        + "tmas{calib=c.jsonl,samples=64},cgq{bits=4,group-size=128,act-bits=8,half-scales=true},"
        + "cgq{bits=8,group-size=0,act-bits=8,half-scales=true,head-only=true},"
        + "ia-aq{bits=8},dce{aggressive=true}"
    )
    dllm.tmas = false
    dllm.cgq = false
    dllm.iaaq = false
    #expect(
      try dllm.pipeline().contains(
        "calib-random-mask{calib=c.jsonl,samples=64},gptq{bits=4,group-size=128,act-bits=8,half-scales=true},"
          + "gptq{bits=8,group-size=0,act-bits=8,half-scales=true,head-only=true},ia-aq{bits=8,alphas=1.0}"
      ))
    var sixteen = NamedPipeline(precision: .w4a16, method: .dllmquant)
    sixteen.calibration = "c.jsonl"
    #expect(try !sixteen.pipeline().contains("ia-aq"))
    // Weight-only precision keeps the head float unless asked.
    #expect(try !sixteen.pipeline().contains("head"))
    let rtn = NamedPipeline(precision: .w8a8, method: .rtn)
    #expect(try rtn.pipeline().contains("rtn{bits=8,group-size=0,act-bits=8,half-scales=true}"))
    #expect(try !rtn.pipeline().contains("ia-aq"))
    #expect(throws: DriverError.self) {
      try NamedPipeline(precision: .w4a4, method: .gptq).pipeline()
    }
    var smoothed = NamedPipeline(precision: .w4a4, method: .dllmquant)
    smoothed.smoothAlpha = 0.85
    #expect(throws: DriverError.self) { try smoothed.pipeline() }  // no calibration
    smoothed.calibration = "c.jsonl"
    #expect(
      try smoothed.pipeline().contains(
        "tmas{calib=c.jsonl,samples=64},smooth{alpha=0.85},cgq{bits=4,group-size=128,act-bits=4"))
    smoothed.smoothAlpha = 1.5
    #expect(throws: DriverError.self) { try smoothed.pipeline() }
  }

  @Test func headPrecisionChoosesItsPass() throws {
    var recipe = NamedPipeline(precision: .w4a8, method: .rtn)
    #expect(recipe.resolvedHead == .w8a8)
    #expect(
      try recipe.pipeline().contains(
        "rtn{bits=4,group-size=128,act-bits=8,half-scales=true},"
          + "rtn{bits=8,group-size=0,act-bits=8,half-scales=true,head-only=true}"))
    recipe.head = .float
    #expect(try !recipe.pipeline().contains("head"))
    recipe.head = .body
    let body = try recipe.pipeline()
    #expect(
      body.contains("rtn{bits=4,group-size=128,act-bits=8,half-scales=true,quantize-head=true}"))
    #expect(!body.contains("head-only"))
    var sixteen = NamedPipeline(precision: .w4a16, method: .rtn)
    sixteen.head = .w8a8
    #expect(try sixteen.pipeline().contains("head-only=true"))
  }

  /// The head's pass quantizes the head alone, to int8 per channel with int8 activations, and
  /// leaves the module's `quant.*` settings to the main pass.
  @Test func w8a8HeadIsInt8PerChannel() throws {
    let dir = Paths.temporaryDirectory()
    let model = Paths.packageRoot + "/Tests/Fixtures/exports/llada/model.legacy.onnx"
    var results: [String: String] = [:]
    for head in ["w8a8", "float"] {
      let result = try runCommand(
        Paths.dqcBinary,
        [
          "compile", model, "-o", "\(dir)/\(head).dqir", "--w4a8", "--method", "rtn",
          "--group-size", "32", "--head", head,
        ])
      #expect(result.status == 0, "\(result.stderr)")
      results[head] = try String(contentsOfFile: "\(dir)/\(head).dqir", encoding: .utf8)
    }
    let quantized = try #require(results["w8a8"])
    let float = try #require(results["float"])
    let config = try String(
      contentsOfFile: Paths.packageRoot + "/Tests/Fixtures/exports/llada/config.json",
      encoding: .utf8)
    let width = try #require(config.firstMatch(of: /"d_model": (\d+)/)?.1).description
    let vocab = try #require(config.firstMatch(of: /"embedding_size": (\d+)/)?.1).description
    // One more qlinear than with a float head, whose codes are u8 [vocab, d] with one scale per
    // channel; the body's settings stay the module's.
    let qlinears = { (text: String) in text.components(separatedBy: "dq.qlinear(").count - 1 }
    #expect(qlinears(quantized) == qlinears(float) + 1)
    let codes =
      "tensor<\(vocab)x\(width)x!quant.uniform<u8:f32, per_channel(axis = 0), asymmetric>>"
    #expect(quantized.contains("-> \(codes)"), "no u8 head codes")
    #expect(quantized.contains("tensor<\(vocab)x1xf16>"), "no per-channel head scales")
    #expect(!float.contains("quant.uniform<u8"))
    for text in [quantized, float] {
      #expect(text.contains("quant.weight_bits = 4") && text.contains("quant.group_size = 32"))
    }
    #expect(
      quantized.contains("quant.head_bits = 8") && quantized.contains("quant.head_act_bits = 8"))
    let both = try runCommand(
      Paths.dqcBinary,
      [
        "compile", model, "-o", dir + "/x.dqir", "--w4a8", "--method", "rtn", "--quantize-head",
        "--head", "float",
      ])
    #expect(both.status != 0 && both.stderr.contains("--quantize-head"), "\(both.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/x.dqir"))
  }

  @Test func compileWritesAQuantizedModuleThatRuns() throws {
    let dir = Paths.temporaryDirectory()
    let model = Paths.packageRoot + "/Tests/Fixtures/exports/llada/model.legacy.onnx"
    let result = try runCommand(
      Paths.dqcBinary,
      ["compile", model, "-o", dir + "/q.dqir", "--w4a16", "--method", "rtn", "--group-size", "32"])
    #expect(result.status == 0, "\(result.stderr)")
    let text = try String(contentsOfFile: dir + "/q.dqir", encoding: .utf8)
    #expect(text.contains("dq.qlinear"))
    #expect(text.contains("quant.method = \"rtn\""))
    let ids = Paths.packageRoot + "/Tests/Fixtures/exports/llada/reference/input_ids.npy"
    let run = try runCommand(
      Paths.dqcBinary, ["exec", dir + "/q.dqir", "--input", "input_ids=" + ids])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("logits: tensor<2x24x64xf32>"))
  }
}

@Suite struct LayerOverrideTests {
  @Test func overridesSplitTheWeightPass() throws {
    var recipe = NamedPipeline(precision: .w4a8, method: .rtn)
    recipe.overrides = [try NamedPipeline.override("blocks.0.*=w8a8")]
    let text = try recipe.pipeline()
    #expect(
      text.contains("rtn{bits=4,group-size=128,act-bits=8,half-scales=true,except=blocks.0.*}"))
    #expect(
      text.contains(
        "rtn{bits=8,group-size=0,act-bits=8,half-scales=true,quantize-head=true,only=blocks.0.*}"))
    #expect(
      text.contains(
        "rtn{bits=8,group-size=0,act-bits=8,half-scales=true,head-only=true,except=blocks.0.*}"))
    #expect(throws: DriverError.self) { try NamedPipeline.override("blocks.0.*=w3a3") }
  }

  /// An override that names the head quantizes it at the override's precision, whatever
  /// `--head` says; the head-only pass then finds nothing and records nothing.
  @Test func anOverrideNamingTheHeadWins() throws {
    let dir = Paths.temporaryDirectory()
    let model = Paths.packageRoot + "/Tests/Fixtures/exports/llada/model.legacy.onnx"
    let result = try runCommand(
      Paths.dqcBinary,
      [
        "compile", model, "-o", dir + "/o.dqir", "--w4a8", "--method", "rtn", "--group-size",
        "32", "--layer-precision", "ff_out.weight=w4a16",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    let text = try String(contentsOfFile: dir + "/o.dqir", encoding: .utf8)
    // The fixture export's head is `model.ff_out.weight`: 4-bit codes, float input (no act_bits).
    let head = try #require(text.split(separator: "\n").first { $0.contains("%logits = ") })
    #expect(head.contains("dq.qlinear(") && head.contains("u4:f32") && !head.contains("act_bits"))
    #expect(!text.contains("quant.head_bits"))
  }
}

/// The same input and options give byte-identical bundles and IR dumps, whatever the thread
/// count (the kernels of calibration, the Hessian and GPTQ fix their partitions).
@Suite(.serialized) struct ReproducibleCompileTests {
  static let fixture = Paths.packageRoot + "/Tests/Fixtures/llada-tiny"

  @Test func bundlesAndDumpsAreIdenticalForOneAndTwoThreads() throws {
    let dir = Paths.temporaryDirectory()
    for (name, threads) in [("a", "1"), ("b", "2")] {
      let result = try runCommand(
        Paths.dqcBinary,
        [
          "compile", Self.fixture + "/model.onnx", "-o", "\(dir)/\(name).dqb", "--w4a8",
          "--calib", Self.fixture + "/calib/train_slice.jsonl", "--samples", "4",
          "--max-seq-len", "32", "--threads", threads, "--dump-ir-dir", "\(dir)/\(name)-ir",
        ])
      #expect(result.status == 0, "\(result.stderr)")
    }
    let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.dqb"))
    for other in ["b"] {
      #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(other).dqb")) == a)
      let dumps = try FileManager.default.contentsOfDirectory(atPath: dir + "/a-ir").sorted()
      #expect(dumps.count == 12)
      for dump in dumps {
        let mine = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a-ir/\(dump)"))
        let theirs = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(other)-ir/\(dump)"))
        #expect(mine == theirs, "\(dump) differs between a and \(other)")
      }
    }
  }
}
