/// The named quantization recipes of `dqc compile` and the pipelines they expand to.
public struct NamedPipeline: Sendable {
  /// Precision settings (`--w4a16`, `--w4a8`, `--w8a8`, `--w4a4`).
  public enum Precision: String, Sendable, Hashable, CaseIterable {
    case w4a16, w4a8, w8a8, w4a4

    /// (weight bits, group size (0 = per channel), activation bits (0 = float)).
    var settings: (bits: Int, group: Int, act: Int) {
      switch self {
      case .w4a16: (4, 128, 0)
      case .w4a8: (4, 128, 8)
      case .w8a8: (8, 0, 8)
      case .w4a4: (4, 128, 4)
      }
    }
  }

  /// The output head's precision (`--head`).
  public enum Head: String, Sendable, Hashable, CaseIterable {
    /// Float weights and activations, as exported.
    case float
    /// Int8 weights per output channel and int8 activations per token, whatever the other
    /// layers' precision (llama.cpp keeps its 4-bit models' output matrix at 6 to 8 bits too).
    case w8a8
    /// The same precision, method and group size as the other linear layers.
    case body
  }

  /// Weight quantization methods.
  public enum Method: String, Sendable, Hashable, CaseIterable {
    case dllmquant, gptq, rtn
  }

  /// Precision.
  public var precision: Precision
  /// Method.
  public var method: Method
  /// Calibration prompts (JSONL with `prompt_ids`, `gen_length`, and `answer_ids` for the baselines).
  public var calibration: String?
  /// Use TMAS trajectories (DLLMQuant) instead of uniformly masked text.
  public var tmas = true
  /// Use CGQ's certainty-weighted Hessian (DLLMQuant) instead of GPTQ's.
  public var cgq = true
  /// Choose V's scales with IA-AQ's attention-weighted error (DLLMQuant) instead of min–max.
  public var iaaq = true
  /// Group size override (`--group-size`).
  public var groupSize: Int?
  /// Calibration snapshots.
  public var samples = 64
  /// Per-layer precision overrides: weight-name glob and precision (`blocks.0.*=w8a8`).
  public var overrides: [(pattern: String, precision: Precision)] = []
  /// SmoothQuant migration strength α before weight quantization (`nil`: no smoothing).
  public var smoothAlpha: Double?
  /// The head's precision; `nil` takes `defaultHead`.
  public var head: Head?

  /// The head's precision when the recipe does not say: `w8a8` where the precision quantizes
  /// activations (the head is then an int8 × int8 product, about 4x faster than in float on the
  /// CPU and a quarter of its memory), `float` for weight-only `w4a16`.
  public var defaultHead: Head { precision.settings.act > 0 ? .w8a8 : .float }

  /// The head's precision this recipe gives.
  public var resolvedHead: Head { head ?? defaultHead }
  /// The longest sequence (prompt plus answer) a bundle's kernel plan serves; `nil` writes no
  /// plan (quantized IR only).
  public var maxSequenceLength: Int?

  /// Parses `PATTERN=PRECISION`.
  public static func override(_ text: String) throws(DriverError) -> (
    pattern: String, precision: Precision
  ) {
    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty, let precision = Precision(rawValue: parts[1]) else {
      throw .usage("--layer-precision expects PATTERN=w4a16|w4a8|w8a8|w4a4, got '\(text)'")
    }
    guard !parts[0].contains(where: { "{},|".contains($0) }) else {
      throw .usage("--layer-precision pattern '\(parts[0])' may not contain { } , or |")
    }
    return (parts[0], precision)
  }

  /// Creates a recipe.
  public init(precision: Precision, method: Method) {
    self.precision = precision
    self.method = method
  }

  /// The pipeline text: clean-up and raising, calibration, weight quantization, clean-up.
  public func pipeline() throws(DriverError) -> String {
    let (bits, defaultGroup, act) = precision.settings
    let group = groupSize ?? defaultGroup
    var passes = [Driver.graphOptimizationPipeline]
    let quantizeHead = resolvedHead == .body
    let quantOptions =
      "bits=\(bits),group-size=\(group),act-bits=\(act),half-scales=true"
      + (quantizeHead ? ",quantize-head=true" : "")
    if method != .rtn && calibration == nil {
      throw .usage("--method \(method.rawValue) needs calibration prompts: --calib FILE.jsonl")
    }
    if let calibration {
      let useTMAS = method == .dllmquant ? tmas : true
      passes.append(
        useTMAS
          ? "tmas{calib=\(calibration),samples=\(samples)}"
          : "calib-random-mask{calib=\(calibration),samples=\(samples)}")
    }
    if let smoothAlpha {
      guard calibration != nil else {
        throw .usage(
          "--smooth needs calibration prompts for its activation statistics: --calib FILE.jsonl")
      }
      guard (0...1).contains(smoothAlpha) else {
        throw .usage("--smooth-alpha must be between 0 and 1, not \(smoothAlpha)")
      }
      passes.append("smooth{alpha=\(smoothAlpha)\(quantizeHead ? ",quantize-head=true" : "")}")
    }
    let weightPass: String
    switch method {
    case .rtn: weightPass = "rtn"
    case .gptq: weightPass = "gptq"
    case .dllmquant: weightPass = cgq ? "cgq" : "gptq"
    }
    let excluded = overrides.map(\.pattern).joined(separator: "|")
    passes.append("\(weightPass){\(quantOptions)\(excluded.isEmpty ? "" : ",except=\(excluded)")}")
    // A per-layer override names its layers, so it may name the head too (and wins over --head).
    for (pattern, layerPrecision) in overrides {
      let (b, g, a) = layerPrecision.settings
      passes.append(
        "\(weightPass){bits=\(b),group-size=\(g),act-bits=\(a),half-scales=true,quantize-head=true,only=\(pattern)}"
      )
    }
    if resolvedHead == .w8a8 {
      passes.append(
        "\(weightPass){bits=8,group-size=0,act-bits=8,half-scales=true,head-only=true"
          + (excluded.isEmpty ? "}" : ",except=\(excluded)}"))
    }
    // Attention matmuls in 8 bits when activations are quantized: IA-AQ's scale search for
    // DLLMQuant, plain min-max (α = 1) otherwise. Without calibration they stay float.
    if act > 0, calibration != nil {
      passes.append(method == .dllmquant && iaaq ? "ia-aq{bits=8}" : "ia-aq{bits=8,alphas=1.0}")
    }
    passes.append("dce{aggressive=true}")
    if let maxSequenceLength { passes.append("lower{seq-len=\(maxSequenceLength)}") }
    return passes.joined(separator: ",")
  }
}
