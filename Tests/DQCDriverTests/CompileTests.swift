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
        + "tmas{calib=c.jsonl,samples=64},cgq{bits=4,group-size=128,act-bits=8,half-scales=true},ia-aq{bits=8},dce{aggressive=true}"
    )
    dllm.tmas = false
    dllm.cgq = false
    dllm.iaaq = false
    #expect(
      try dllm.pipeline().contains(
        "calib-random-mask{calib=c.jsonl,samples=64},gptq{bits=4,group-size=128,act-bits=8,half-scales=true},ia-aq{bits=8,alphas=1.0}"
      ))
    var sixteen = NamedPipeline(precision: .w4a16, method: .dllmquant)
    sixteen.calibration = "c.jsonl"
    #expect(try !sixteen.pipeline().contains("ia-aq"))
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
    #expect(text.contains("rtn{bits=8,group-size=0,act-bits=8,half-scales=true,only=blocks.0.*}"))
    #expect(throws: DriverError.self) { try NamedPipeline.override("blocks.0.*=w3a3") }
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
      #expect(dumps.count == 11)
      for dump in dumps {
        let mine = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a-ir/\(dump)"))
        let theirs = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(other)-ir/\(dump)"))
        #expect(mine == theirs, "\(dump) differs between a and \(other)")
      }
    }
  }
}
