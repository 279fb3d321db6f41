import DQCBackend
import DQCIR
import DQCPasses
import DQCTestSupport
import Foundation
import Testing

/// The CUDA back end on a machine without a GPU.
///
/// The launch code dqc writes into bundles runs on
/// the CPU emulator (`cuda/emulator.cuh`, compiled by the host C++ compiler) through the same
/// runtime path as on a GPU, and must agree with the CPU back end; with no GPU, `--device cuda`
/// is refused in one line. `CUDACompileTests` has nvcc compile the same code.
@Suite struct CUDABackendTests {
  init() {
    // Compiled launch code goes to a scratch cache, not the user's.
    setenv("DQC_CUDA_CACHE", Paths.temporaryDirectory() + "/cuda-cache", 1)
  }

  /// Lowers `text` after `pipeline` and writes it as a bundle (with its CUDA launch code).
  static func bundle(_ text: String, pipeline: String, seqLen: Int, name: String) throws -> String {
    var module = try IRParser.parse(text, file: name)
    var context = PassContext()
    for pass in try Pipeline(parsing: pipeline + ",lower{seq-len=\(seqLen)}").instantiate() {
      _ = try pass.run(on: &module, context: &context)
    }
    let path = Paths.temporaryDirectory() + "/\(name).dqb"
    let report = try BundleWriter(
      meta: Array("{}".utf8), recipe: Array("{}".utf8), provenance: Array("{}".utf8)
    ).write(try #require(context.loweredFrom), plan: module, to: path)
    #expect(report.cudaUnavailable == nil, "\(report.cudaUnavailable ?? "")")
    return path
  }

  /// Runs the bundle on the CPU back end and on the emulated CUDA back end for each token count
  /// and compares the logits: the largest difference against the largest logit.
  static func compare(_ path: String, vocab: Int, tokens: [Int], tolerance: Double) throws {
    let cpu = try RuntimeSession(path: path, device: .cpu, threads: 1)
    let cuda = try RuntimeSession(path: path, device: .cudaEmulator)
    #expect(cuda.isa.hasPrefix("cuda: dqc CUDA emulator"))
    for count in tokens {
      var rng = SplitMix64(seed: UInt64(count * 7 + vocab))
      let ids = (0..<count).map { _ in Int64(rng.next() % UInt64(vocab)) }
      let expected = try cpu.forward(ids)
      expectClose(try cuda.forward(ids), expected, tolerance: tolerance, "\(count) tokens")
    }
  }

  /// Expects `actual` to match `expected` to `tolerance` of the largest expected logit.
  static func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Double, _ what: String)
  {
    #expect(actual.count == expected.count)
    let scale = max(expected.map { abs($0) }.max() ?? 1, 1e-6)
    let worst = zip(actual, expected).map { Double(abs($0 - $1)) }.max() ?? .infinity
    #expect(worst / Double(scale) <= tolerance, "\(what): max |Δ| \(worst) of \(scale)")
  }

  @Test(arguments: [
    // Groups of 32 and more take the tensor-core path, the others dp4a.
    (k: 16, n: 5, group: 8, bits: 4, act: 8, symmetric: false),
    (k: 384, n: 37, group: 128, bits: 4, act: 8, symmetric: false),
    (k: 256, n: 70, group: 32, bits: 4, act: 4, symmetric: true),
    (k: 64, n: 21, group: 0, bits: 8, act: 8, symmetric: true),
    (k: 128, n: 16, group: 64, bits: 8, act: 8, symmetric: false),
    // Per channel with K = 12: lowering pads the codes to 16 columns.
    (k: 12, n: 9, group: 0, bits: 8, act: 8, symmetric: true),
  ])
  func quantizedLinear(k: Int, n: Int, group: Int, bits: Int, act: Int, symmetric: Bool) throws {
    let text = KernelDifferentialTests.linearCase(k: k, n: n, seed: UInt64(k * n), bias: group == 0)
    let options =
      "bits=\(bits),group-size=\(group),act-bits=\(act),symmetric=\(symmetric),half-scales=true,quantize-head=true"
    let path = try Self.bundle(
      text, pipeline: "rtn{\(options)}", seqLen: 80, name: "cuda-qlinear-\(k)-\(n)-\(group)")
    // Integer sums are exact and the float sums run in the CPU back end's order.
    try Self.compare(path, vocab: 11, tokens: [1, 7, 70], tolerance: 1e-5)
  }

  @Test func floatLinearAndWeightOnly() throws {
    let text = KernelDifferentialTests.linearCase(k: 40, n: 19, seed: 3, bias: true)
    try Self.compare(
      try Self.bundle(text, pipeline: "dce", seqLen: 12, name: "cuda-linear"), vocab: 11,
      tokens: [1, 9], tolerance: 1e-6)
    try Self.compare(
      try Self.bundle(
        text, pipeline: "rtn{bits=4,group-size=8,act-bits=0,quantize-head=true}", seqLen: 12,
        name: "cuda-w4a16"), vocab: 11, tokens: [9], tolerance: 1e-6)
  }

  @Test(arguments: [
    (heads: 2, kvHeads: 2, dim: 8, bits: "scale = 0.35"),
    (heads: 4, kvHeads: 2, dim: 16, bits: "qk_bits = 8, p_bits = 8, v_bits = 8"),
    (heads: 3, kvHeads: 1, dim: 4, bits: "qk_bits = 4, p_bits = 8, v_bits = 4"),
  ])
  func normRopeAttentionSwiGLU(heads: Int, kvHeads: Int, dim: Int, bits: String) throws {
    let text = KernelDifferentialTests.blockCase(
      heads: heads, kvHeads: kvHeads, dim: dim, bits: bits, seed: 5)
    let path = try Self.bundle(
      text, pipeline: "dce", seqLen: 26, name: "cuda-block-\(heads)-\(kvHeads)-\(dim)")
    // Quantized attention computes q.k and p.v as integer dot products times the scales (the
    // CPU back end multiplies fake-quantized floats), so a score may round differently and move
    // a probability to the next step of its grid.
    try Self.compare(
      path, vocab: 13, tokens: [1, 6, 23], tolerance: bits.contains("p_bits") ? 2e-3 : 1e-5)
  }

  @Test func quantizedBlockEndToEnd() throws {
    let text = KernelDifferentialTests.blockCase(
      heads: 4, kvHeads: 2, dim: 16, bits: "qk_bits = 8, p_bits = 8, v_bits = 8", seed: 9)
    let path = try Self.bundle(
      text, pipeline: "rtn{bits=4,group-size=32,act-bits=8,half-scales=true,quantize-head=true}",
      seqLen: 40, name: "cuda-block-w4a8")
    try Self.compare(path, vocab: 13, tokens: [3, 40], tolerance: 2e-3)
  }

  /// The second pass of a token count is captured as a graph and later passes of that count
  /// replay it: each must read its own ids (and host-gathered embedding rows), not the captured
  /// pass's.
  @Test func graphReplaysReadEachPassesInputs() throws {
    let text = KernelDifferentialTests.blockCase(
      heads: 4, kvHeads: 2, dim: 16, bits: "qk_bits = 8, p_bits = 8, v_bits = 8", seed: 11)
    let path = try Self.bundle(
      text, pipeline: "rtn{bits=4,group-size=32,act-bits=8,half-scales=true,quantize-head=true}",
      seqLen: 24, name: "cuda-graph-replay")
    let cpu = try RuntimeSession(path: path, device: .cpu, threads: 1)
    let cuda = try RuntimeSession(path: path, device: .cudaEmulator)
    var rng = SplitMix64(seed: 17)
    var previous: [Float] = []
    for count in [24, 5, 24, 24, 5, 5, 24, 5] {
      let ids = (0..<count).map { _ in Int64(rng.next() % 13) }
      let expected = try cpu.forward(ids)
      let actual = try cuda.forward(ids)
      Self.expectClose(actual, expected, tolerance: 2e-3, "\(count) tokens")
      let stale = actual == previous
      #expect(!stale, "\(count) tokens: a replay returned the previous pass's logits")
      previous = actual
    }
  }

  @Test func withoutAGPUTheDeviceIsRefusedInOneLine() throws {
    let text = KernelDifferentialTests.linearCase(k: 16, n: 5, seed: 1, bias: false)
    let path = try Self.bundle(text, pipeline: "dce", seqLen: 8, name: "cuda-refused")
    guard !FileManager.default.fileExists(atPath: "/dev/nvidia0") else { return }  // a GPU here
    do {
      _ = try RuntimeSession(path: path, device: .cuda)
      Issue.record("a CUDA session opened on a machine without a GPU")
    } catch {
      #expect(!error.message.contains("\n"))
      #expect(error.message.contains("--device cpu"), "\(error.message)")
    }
  }

  /// What the kernels do not cover leaves the bundle without launch code (it still runs on the
  /// CPU), and the writer says why.
  @Test func unsupportedShapesLeaveTheBundleWithoutLaunchCode() throws {
    let text = KernelDifferentialTests.blockCase(
      heads: 2, kvHeads: 2, dim: 12, bits: "scale = 0.3", seed: 4)
    var module = try IRParser.parse(text, file: "head-dim-12")
    var context = PassContext()
    for pass in try Pipeline(parsing: "dce,lower{seq-len=8}").instantiate() {
      _ = try pass.run(on: &module, context: &context)
    }
    let path = Paths.temporaryDirectory() + "/cuda-head-dim-12.dqb"
    let report = try BundleWriter(
      meta: Array("{}".utf8), recipe: Array("{}".utf8), provenance: Array("{}".utf8)
    ).write(try #require(context.loweredFrom), plan: module, to: path)
    #expect(report.cudaUnavailable?.contains("head_dim 12 must divide 256") == true)
    #expect(try BundleFile(path: path).bytes(of: .cudaSource) == nil)
    do {
      _ = try RuntimeSession(path: path, device: .cudaEmulator)
      Issue.record("a bundle without launch code opened on the CUDA back end")
    } catch {
      #expect(error.message.contains("no CUDA launch code"), "\(error.message)")
    }
  }

  /// The bench model's launch code (`Golden/pipelines/bench-w4a8/launch.cu`, from
  /// `dqc compile out/bench-model/model.onnx --w4a8 --method rtn --max-seq-len 256`; the bench
  /// model is not in the repository) compiles with today's library for every architecture.
  @Test func benchModelLaunchCodeCompiles() throws {
    let model = try String(
      contentsOfFile: Paths.golden + "/pipelines/bench-w4a8/launch.cu", encoding: .utf8)
    #expect(model.contains("QWeightShape<2816, 1024, 128, 4"))
    if let log = try NVCC.compile(CUDALaunchCode.library + model, name: "bench-w4a8") {
      Issue.record("nvcc rejects the bench model's launch code:\n\(log)")
    }
  }

  /// `--cuda-arch`: the launch code compiled by nvcc for chosen architectures rides in the bundle
  /// (section `cuda-binary`: header, then an ELF shared library), the runtime accepts it, and a
  /// second build from another folder gives the same bytes.
  @Test func prebuiltDeviceCodeIsBundled() throws {
    guard NVCC.path != nil else {
      if NVCC.isRequired { Issue.record("nvcc not found (DQC_REQUIRE_NVCC=1)") }
      return
    }
    let text = KernelDifferentialTests.linearCase(k: 64, n: 24, seed: 2, bias: false)
    var module = try IRParser.parse(text, file: "prebuilt")
    var context = PassContext()
    let pipeline = "rtn{bits=4,group-size=32,act-bits=8,quantize-head=true},lower{seq-len=16}"
    for pass in try Pipeline(parsing: pipeline).instantiate() {
      _ = try pass.run(on: &module, context: &context)
    }
    let path = Paths.temporaryDirectory() + "/cuda-prebuilt.dqb"
    var writer = BundleWriter(
      meta: Array("{}".utf8), recipe: Array("{}".utf8), provenance: Array("{}".utf8))
    writer.cudaArchitectures = [90, 80]
    try writer.write(try #require(context.loweredFrom), plan: module, to: path)
    let bundle = try BundleFile(path: path)
    let source = try #require(bundle.bytes(of: .cudaSource))
    let binary = try #require(bundle.bytes(of: .cudaBinary))
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(binary[at + $1]) << (8 * $1) } }
    func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
    #expect(Array(binary.prefix(8)) == Array("DQCCUBIN".utf8))
    #expect(u32(8) == 1 && u32(12) == 2 && u32(16) == 80 && u32(20) == 90)
    var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in source { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
    #expect(u64(80) == digest)
    #expect(u64(88) == UInt64(binary.count - 128))
    #expect(Array(binary[128..<132]) == [0x7f, 0x45, 0x4c, 0x46])  // ELF
    _ = try RuntimeSession(path: path, device: .cpu)  // the runtime's checks of the section pass
    let again = Paths.temporaryDirectory() + "/cuda-prebuilt-again.dqb"
    try writer.write(try #require(context.loweredFrom), plan: module, to: again)
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: again))
        == Data(contentsOf: URL(fileURLWithPath: path)), "two builds of one bundle differ")
  }
}
