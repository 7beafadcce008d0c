//===- Sampler.h - next-token sampling as RWKV runtimes do it ---*- C++ -*-===//
//
// The sampling of the rwkv pip package's PIPELINE (rwkv/utils.py,
// PIPELINE.sample_logits and generate), which ChatRWKV and most RWKV
// runtimes follow:
//
//   1. penalties: logit[n] -= presence + occurrence[n] * frequency for every
//      token n that occurred (occurrence decays by `penalty_decay` per
//      generated token);
//   2. probabilities p = softmax(logits);
//   3. top-k: keep the k most probable tokens (k = 0: all);
//   4. top-p: keep the tokens with p >= the probability at which the
//      descending cumulative sum first reaches top_p;
//   5. temperature: p = p^(1/T), renormalised (T <= 0: greedy argmax);
//   6. draw from p with a seeded generator (deterministic per seed).
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_SAMPLER_H
#define RWKV_RUNTIME_SAMPLER_H

#include <cstdint>
#include <map>
#include <vector>

namespace rwkvrt {

struct SamplerParams {
  float temperature = 1.0f;
  float topP = 0.85f;
  int32_t topK = 0;
  float presencePenalty = 0.2f;
  float frequencyPenalty = 0.2f;
  float penaltyDecay = 0.996f;
  uint64_t seed = 0;
};

class Sampler {
public:
  /// Throws Error (RWKV_ERROR_ARGUMENT) for parameters out of range.
  Sampler(const SamplerParams &params, int64_t vocabSize);

  /// Applies the penalties to a copy of `logits` ([vocabSize]) and draws a
  /// token. Does not record it: call accept() with the chosen token.
  int32_t sample(const float *logits);
  /// Records a generated token for the penalties: every occurrence count
  /// decays, then `weight` is added to the token's (the pip package uses 0
  /// for tokens that decode to a space, a tab or a digit, else 1).
  void accept(int32_t token, float weight);
  /// Forgets the occurrences.
  void reset() { occurrence_.clear(); }

private:
  double uniform();

  SamplerParams params_;
  int64_t vocab_;
  uint64_t state_;
  std::map<int32_t, float> occurrence_;
  std::vector<float> scratch_;
  std::vector<int32_t> order_;
};

} // namespace rwkvrt

#endif // RWKV_RUNTIME_SAMPLER_H
