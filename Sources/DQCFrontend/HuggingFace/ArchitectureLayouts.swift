/// How each supported architecture's config and tensor names map onto `TransformerSpec`.
enum ArchitectureLayouts {
  /// Supported architectures: `architectures[0]` values and `model_type` values.
  static let supported: [(name: String, architectures: [String], modelTypes: [String])] = [
    ("LLaDA", ["LLaDAModelLM"], ["llada"]),
    ("Dream", ["DreamModel"], ["Dream", "dream"]),
    ("LLaMA", ["LlamaForCausalLM"], ["llama"]),
  ]

  /// The spec for a checkpoint's config, or an error listing the supported architectures.
  static func spec(for config: ModelConfig) throws(FrontendError) -> TransformerSpec {
    let arch = config.architecture
    let type = config.modelType
    let match = supported.first { entry in
      arch.map(entry.architectures.contains) ?? false
        || type.map(entry.modelTypes.contains) ?? false
    }
    switch match?.name {
    case "LLaDA": return try llada(config)
    case "Dream":
      return try qwen2Style(config, name: "Dream", bidirectional: true, defaultBias: true)
    case "LLaMA":
      return try qwen2Style(config, name: "LLaMA", bidirectional: false, defaultBias: false)
    default:
      let names = supported.map { "\($0.name) (\($0.architectures.joined(separator: ", ")))" }
      throw FrontendError(
        file: config.path, place: "architectures",
        "unknown architecture \(arch.map { "'\($0)'" } ?? "(none)") / model_type \(type.map { "'\($0)'" } ?? "(none)"); supported: "
          + names.joined(separator: "; "))
    }
  }

  static func llada(_ c: ModelConfig) throws(FrontendError) -> TransformerSpec {
    let m = "LLaDA"
    let d = try c.int("d_model", for: m)
    let heads = try c.int("n_heads", for: m)
    let mlp: Int
    if let hidden = try c.optionalSize("mlp_hidden_size") {
      mlp = hidden
    } else {
      mlp = try c.int("mlp_ratio", for: m) * d
    }
    let vocab = try c.int("vocab_size", for: m)
    let p = "model.transformer."
    return TransformerSpec(
      architecture: "llada", dModel: d, heads: heads,
      kvHeads: try c.optionalSize("n_kv_heads") ?? heads, layers: try c.int("n_layers", for: m),
      mlpHidden: mlp, vocab: vocab, embeddingRows: try c.optionalSize("embedding_size") ?? vocab,
      ropeTheta: try c.double("rope_theta", default: 10000),
      normEps: try c.double("rms_norm_eps", default: 1e-5), bidirectional: true,
      qkvBias: try c.bool("include_bias", default: false),
      tiedHead: try c.bool("weight_tying", default: false),
      maskTokenID: try c.optionalInt("mask_token_id"),
      embedding: p + "wte.weight", finalNorm: p + "ln_f.weight", head: p + "ff_out.weight",
      layerTensor: { layer, part in
        let b = p + "blocks.\(layer)."
        switch part {
        case .attnNorm: return b + "attn_norm.weight"
        case .q: return b + "q_proj.weight"
        case .k: return b + "k_proj.weight"
        case .v: return b + "v_proj.weight"
        case .qBias: return b + "q_proj.bias"
        case .kBias: return b + "k_proj.bias"
        case .vBias: return b + "v_proj.bias"
        case .attnOut: return b + "attn_out.weight"
        case .ffNorm: return b + "ff_norm.weight"
        case .gate: return b + "ff_proj.weight"
        case .up: return b + "up_proj.weight"
        case .down: return b + "ff_out.weight"
        }
      })
  }

  static func qwen2Style(_ c: ModelConfig, name m: String, bidirectional: Bool, defaultBias: Bool)
    throws(FrontendError) -> TransformerSpec
  {
    let heads = try c.int("num_attention_heads", for: m)
    let vocab = try c.int("vocab_size", for: m)
    return TransformerSpec(
      architecture: m.lowercased(), dModel: try c.int("hidden_size", for: m), heads: heads,
      kvHeads: try c.optionalSize("num_key_value_heads") ?? heads,
      layers: try c.int("num_hidden_layers", for: m),
      mlpHidden: try c.int("intermediate_size", for: m),
      vocab: vocab, embeddingRows: vocab, ropeTheta: try c.double("rope_theta", default: 10000),
      normEps: try c.double("rms_norm_eps", default: 1e-6), bidirectional: bidirectional,
      qkvBias: try c.bool("attention_bias", default: defaultBias),
      tiedHead: try c.bool("tie_word_embeddings", default: false),
      maskTokenID: try c.optionalInt("mask_token_id"),
      embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight",
      head: "lm_head.weight",
      layerTensor: { layer, part in
        let b = "model.layers.\(layer)."
        switch part {
        case .attnNorm: return b + "input_layernorm.weight"
        case .q: return b + "self_attn.q_proj.weight"
        case .k: return b + "self_attn.k_proj.weight"
        case .v: return b + "self_attn.v_proj.weight"
        case .qBias: return b + "self_attn.q_proj.bias"
        case .kBias: return b + "self_attn.k_proj.bias"
        case .vBias: return b + "self_attn.v_proj.bias"
        case .attnOut: return b + "self_attn.o_proj.weight"
        case .ffNorm: return b + "post_attention_layernorm.weight"
        case .gate: return b + "mlp.gate_proj.weight"
        case .up: return b + "mlp.up_proj.weight"
        case .down: return b + "mlp.down_proj.weight"
        }
      })
  }
}
