//===- SamplerTests.cpp - next-token sampling -----------------------------===//
//
// The sampler against what the rwkv pip package's PIPELINE.sample_logits
// and generate prescribe: greedy at T <= 0, top-k, the top-p cutoff rule,
// p^(1/T), presence/frequency penalties with decay, and determinism per
// seed. Frequencies are checked over many draws with a fixed seed, so the
// tests are deterministic; the tolerances are ~5 standard deviations.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using rwkvrt::Sampler;
using rwkvrt::SamplerParams;

namespace {

std::vector<float> logitsOf(const std::vector<double> &probs) {
  std::vector<float> l;
  for (double p : probs)
    l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::vector<double> frequencies(Sampler &s, const std::vector<float> &logits,
                                int draws) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i)
    f[s.sample(logits.data())] += 1.0 / draws;
  return f;
}

SamplerParams noPenalties() {
  SamplerParams p;
  p.presencePenalty = p.frequencyPenalty = 0;
  p.topP = 1.0f;
  return p;
}

const int kDraws = 20000;
// 5 sigma of a frequency estimate with p(1-p) <= 1/4.
const double kTol = 5 * 0.5 / std::sqrt(double(kDraws));

TEST(Sampler, GreedyAtZeroTemperature) {
  SamplerParams p = noPenalties();
  p.temperature = 0;
  Sampler s(p, 4);
  std::vector<float> l = {0.1f, 2.0f, 1.9f, -1.0f};
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(s.sample(l.data()), 1);
}

TEST(Sampler, FullDistributionAtTemperatureOne) {
  Sampler s(noPenalties(), 4);
  std::vector<double> want = {0.5, 0.3, 0.15, 0.05};
  std::vector<double> got = frequencies(s, logitsOf(want), kDraws);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], kTol) << "token " << i;
}

TEST(Sampler, TopPKeepsTokensAtLeastAsProbableAsTheCutoff) {
  // Cumulative 0.5, 0.8, ...: top_p = 0.7 is first reached at p = 0.3, so
  // tokens 0 and 1 stay, renormalised to 0.625 / 0.375.
  SamplerParams p = noPenalties();
  p.topP = 0.7f;
  Sampler s(p, 4);
  std::vector<double> got =
      frequencies(s, logitsOf({0.5, 0.3, 0.15, 0.05}), kDraws);
  EXPECT_NEAR(got[0], 0.625, kTol);
  EXPECT_NEAR(got[1], 0.375, kTol);
  EXPECT_EQ(got[2] + got[3], 0.0);
}

TEST(Sampler, TopKKeepsTheKMostProbable) {
  SamplerParams p = noPenalties();
  p.topK = 3;
  Sampler s(p, 4);
  std::vector<double> got =
      frequencies(s, logitsOf({0.05, 0.5, 0.15, 0.3}), kDraws);
  EXPECT_EQ(got[0], 0.0);
  EXPECT_NEAR(got[1], 0.5 / 0.95, kTol);
  EXPECT_NEAR(got[3], 0.3 / 0.95, kTol);
}

TEST(Sampler, TemperatureRaisesProbabilitiesToOneOverT) {
  SamplerParams p = noPenalties();
  p.temperature = 0.5f; // p^2: 0.36 / 0.04 -> 0.9 / 0.1
  Sampler s(p, 2);
  std::vector<double> got = frequencies(s, logitsOf({0.6, 0.2}), kDraws);
  EXPECT_NEAR(got[0], 0.9, kTol);
  EXPECT_NEAR(got[1], 0.1, kTol);
}

TEST(Sampler, PenaltiesLowerRepeatedTokensAndDecay) {
  SamplerParams p;
  p.temperature = 0; // greedy, to read the penalised logits off the choice
  p.presencePenalty = 0.5f;
  p.frequencyPenalty = 0.25f;
  p.penaltyDecay = 0.5f;
  Sampler s(p, 3);
  std::vector<float> l = {1.0f, 0.3f, 0.0f};
  EXPECT_EQ(s.sample(l.data()), 0);
  s.accept(0, 1.0f); // token 0: 1.0 - (0.5 + 1 * 0.25) = 0.25 < 0.3
  EXPECT_EQ(s.sample(l.data()), 1);
  s.accept(1, 0.0f); // weight 0 (a space or digit): count 0, but present:
                     // token 1: 0.3 - 0.5 = -0.2; token 0 decayed to
                     // 1.0 - (0.5 + 0.5 * 0.25) = 0.375
  EXPECT_EQ(s.sample(l.data()), 0);
  s.reset();
  EXPECT_EQ(s.sample(l.data()), 0);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerParams p = noPenalties();
  std::vector<float> l = logitsOf({0.25, 0.25, 0.25, 0.25});
  auto draw = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p, 4);
    std::vector<int32_t> t;
    for (int i = 0; i < 64; ++i)
      t.push_back(s.sample(l.data()));
    return t;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, RejectsBadParameters) {
  SamplerParams p;
  p.topP = 0;
  EXPECT_THROW(Sampler(p, 4), rwkvrt::Error);
  p = SamplerParams();
  p.topK = -1;
  EXPECT_THROW(Sampler(p, 4), rwkvrt::Error);
  p = SamplerParams();
  p.penaltyDecay = 1.5f;
  EXPECT_THROW(Sampler(p, 4), rwkvrt::Error);
  Sampler s(SamplerParams(), 4);
  EXPECT_THROW(s.accept(4, 1.0f), rwkvrt::Error);
}

} // namespace
