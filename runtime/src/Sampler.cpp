//===- Sampler.cpp - next-token sampling as RWKV runtimes do it -----------===//

#include "Sampler.h"

#include "Error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace rwkvrt {

Sampler::Sampler(const SamplerParams &params, int64_t vocabSize)
    : params_(params), vocab_(vocabSize), state_(params.seed) {
  auto bad = [](const std::string &what) {
    fail(RWKV_ERROR_ARGUMENT, "sampler: " + what);
  };
  if (vocabSize < 1)
    bad("vocabulary size must be >= 1");
  if (!(params.topP > 0.0f && params.topP <= 1.0f))
    bad("top_p must be in (0, 1], got " + std::to_string(params.topP));
  if (params.topK < 0)
    bad("top_k must be >= 0, got " + std::to_string(params.topK));
  if (!(params.penaltyDecay >= 0.0f && params.penaltyDecay <= 1.0f))
    bad("penalty_decay must be in [0, 1], got " +
        std::to_string(params.penaltyDecay));
  if (!std::isfinite(params.temperature) ||
      !std::isfinite(params.presencePenalty) ||
      !std::isfinite(params.frequencyPenalty))
    bad("temperature and penalties must be finite");
}

double Sampler::uniform() {
  // splitmix64: platform-independent, so a seed gives the same text
  // everywhere.
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

int32_t Sampler::sample(const float *logits) {
  std::vector<float> &p = scratch_;
  p.assign(logits, logits + vocab_);
  for (auto &[token, count] : occurrence_)
    p[token] -= params_.presencePenalty + count * params_.frequencyPenalty;
  if (params_.temperature <= 0.0f)
    return static_cast<int32_t>(std::max_element(p.begin(), p.end()) -
                                p.begin());

  // Softmax in double for the sums; NaN logits count as -inf.
  float top = -INFINITY;
  for (float x : p)
    if (x > top)
      top = x;
  if (!std::isfinite(top))
    fail(RWKV_ERROR_ARGUMENT, "sampler: no finite logit");
  double sum = 0;
  for (float &x : p) {
    x = std::isnan(x) ? 0.0f : std::exp(x - top);
    sum += x;
  }
  for (float &x : p)
    x = static_cast<float>(x / sum);

  // Descending order of probability (ties by id, for determinism).
  order_.resize(static_cast<size_t>(vocab_));
  std::iota(order_.begin(), order_.end(), 0);
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return p[a] > p[b] || (p[a] == p[b] && a < b);
  });
  size_t keep = order_.size();
  if (params_.topK > 0)
    keep = std::min(keep, static_cast<size_t>(params_.topK));
  // top-p: the cutoff is the probability at which the cumulative sum first
  // reaches top_p; every token at least that probable stays.
  double cumulative = 0;
  float cutoff = 0;
  for (size_t i = 0; i < order_.size(); ++i) {
    cumulative += p[order_[i]];
    if (cumulative >= params_.topP) {
      cutoff = p[order_[i]];
      break;
    }
  }
  while (keep > 1 && p[order_[keep - 1]] < cutoff)
    --keep;

  double total = 0;
  std::vector<double> weights(keep);
  double invT = 1.0 / params_.temperature;
  for (size_t i = 0; i < keep; ++i) {
    weights[i] = params_.temperature == 1.0f
                     ? p[order_[i]]
                     : std::pow(static_cast<double>(p[order_[i]]), invT);
    total += weights[i];
  }
  if (!(total > 0))
    return order_[0];
  double r = uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= weights[i];
    if (r < 0)
      return order_[i];
  }
  return order_[keep - 1];
}

void Sampler::accept(int32_t token, float weight) {
  if (token < 0 || token >= vocab_)
    fail(RWKV_ERROR_ARGUMENT, "sampler: token " + std::to_string(token) +
                                  " is outside the vocabulary [0, " +
                                  std::to_string(vocab_) + ")");
  for (auto &kv : occurrence_)
    kv.second *= params_.penaltyDecay;
  occurrence_[token] += weight;
}

} // namespace rwkvrt
