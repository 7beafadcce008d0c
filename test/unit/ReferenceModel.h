//===- ReferenceModel.h - scalar RWKV forward pass (tests only) -*- C++ -*-===//
//
// A double-precision, one-token-at-a-time RWKV forward pass assembled from the
// same components a spec names (rwkv-math §1-§5), written independently of
// the compiler. Tests feed it the weights they also write to a checkpoint and
// compare its logits with the compiled model's.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_TEST_REFERENCEMODEL_H
#define RWKV_TEST_REFERENCEMODEL_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rwkvref {

using Vec = std::vector<double>;

/// Components and sizes, as manifest.json's "model" object records them.
struct ModelConfig {
  int64_t vocab = 0, c = 0, layers = 0, heads = 0, n = 0, ffn = 0;
  std::string wkv, tokenShift, decay, bonus, gate, receptance, outputNorm,
      channelMix, channelMixShift;
  std::vector<std::string> timeMixInputs;
  bool valueResidual = false, ln0 = true, headBias = false,
       residualBias = false;
  double layerNormEps = 1e-5, groupNormEps = 64e-5;

  // Block-language variants (specs/examples/), written here from their
  // definitions:
  /// "layer_norm" (LN with bias, every generation) or "rms_norm" (RMSNorm
  /// with a scale only, for ln1/ln2/ln_out; rwkv7-transformer-block).
  std::string blockNorm = "layer_norm";
  double rmsNormEps = 1e-6;
  /// "" or "swiglu": down(silu(x·gateᵀ) ⊙ x·upᵀ), no token shift
  /// (rwkv7-transformer-block).
  std::string mlp;
  /// The channel-mix output is scaled by σ(E_l[token] + x·W_fᵀ)
  /// (rwkv7-token-gated-ffn).
  bool tokenGate = false;
  /// A single-head causal softmax attention branch of this width beside the
  /// WKV, reading the time mix's input (0: none; rwkv7-attention-branch).
  int64_t attentionWidth = 0;
};

/// Weights in the compiler's layout: name -> per-layer tensors (index 0 for
/// global ones), row-major.
using Weights = std::map<std::string, std::vector<std::vector<double>>>;

class ReferenceModel {
public:
  ReferenceModel(ModelConfig config, Weights weights);
  /// Feeds one token; returns the logits of the next one.
  std::vector<double> step(int32_t token);

private:
  const std::vector<double> &w(const std::string &name, int64_t layer) const;
  std::vector<double> timeMix(const std::vector<double> &x, int64_t layer);
  std::vector<double> channelMix(const std::vector<double> &x, int64_t layer);

  ModelConfig cfg;
  Weights weights;
  // Per-layer state.
  std::vector<std::vector<double>> attShift, ffnShift, wkvState, a, b, p;
  std::vector<double> vFirst;
  int32_t token = 0; ///< the token being fed (for tokenGate)
  /// Per layer, the keys and values of every token so far (attention).
  std::vector<std::vector<Vec>> attnKeys, attnValues;
};

} // namespace rwkvref

#endif // RWKV_TEST_REFERENCEMODEL_H
