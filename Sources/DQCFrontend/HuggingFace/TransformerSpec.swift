/// The shape of a LLaMA-style transformer and the names of its tensors, as read from a
/// checkpoint's config by an architecture's layout.
struct TransformerSpec: Sendable {
  var architecture: String
  var dModel: Int
  var heads: Int
  var kvHeads: Int
  var layers: Int
  var mlpHidden: Int
  var vocab: Int
  var embeddingRows: Int
  var ropeTheta: Double
  var normEps: Double
  var bidirectional: Bool
  var qkvBias: Bool
  var tiedHead: Bool
  var maskTokenID: Int?

  /// Tensor names.
  var embedding: String
  var finalNorm: String
  var head: String
  var layerTensor: @Sendable (_ layer: Int, _ part: LayerPart) -> String

  var headDim: Int { dModel / heads }

  /// The parts of one block, in LLaDA's vocabulary.
  enum LayerPart: Sendable {
    case attnNorm, q, k, v, qBias, kBias, vBias, attnOut, ffNorm, gate, up, down
  }
}
