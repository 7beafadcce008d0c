//===- EarlyGenerationTests.cpp - RWKV-1/2/3 against the official code ----===//
//
// specs/rwkv2-tiny.toml and specs/rwkv3-tiny.toml, compiled with
// --all-logits, load the tiny checkpoints of ../shared/data/rwkv-v1-v3 in
// their official state_dict layout and reproduce the logits RWKV-LM's own
// code recorded (its RNN RWKV_RNN.run, 80 tokens: past ctx_len = 64, so the
// head-QK window slides; its GPT forms, 32 and 64 tokens) at every
// position, in both forms; the RNN state after 32 tokens (per layer the two
// token shifts and the unscaled WKV sums aa, bb) and the head-QK key buffer;
// state files and batches carry the model-level head-QK state. RWKV-1
// (specs/rwkv1-tiny.toml) against its only official form, the GPT of 32 and
// 64 tokens (= ctx_len), in both of ours; past ctx_len it is refused, with
// the session left as it was. Formats: ../shared/data/rwkv-v1-v3/SOURCE.md.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <cstring>

using namespace rwkvtest;

namespace {

const std::string kEarly = RWKV_SHARED_DATA "/rwkv-v1-v3";

std::vector<float> floats(const std::string &path) {
  std::vector<char> raw = readFile(path);
  std::vector<float> v(raw.size() / sizeof(float));
  std::memcpy(v.data(), raw.data(), v.size() * sizeof(float));
  return v;
}

std::vector<int32_t> tokens80() {
  std::vector<char> raw = readFile(kEarly + "/tokens80.i32.bin");
  std::vector<int32_t> ids(raw.size() / sizeof(int32_t));
  std::memcpy(ids.data(), raw.data(), ids.size() * sizeof(int32_t));
  return ids;
}

/// The first `n` positions (rows of `vocab` logits) of `all`.
std::vector<float> firstRows(const std::vector<float> &all, size_t n,
                             size_t vocab) {
  return std::vector<float>(all.begin(),
                            all.begin() + static_cast<ptrdiff_t>(n * vocab));
}

struct EarlyModel {
  const char *version; ///< "2", "3"
  int64_t layers;
  /// The official GPT-form logits files of 32 (and 64) tokens.
  std::vector<const char *> gptFiles;
};

class EarlyGeneration : public ::testing::TestWithParam<EarlyModel> {
protected:
  void SetUp() override {
    const EarlyModel &m = GetParam();
    weights = kEarly + "/rwkv" + m.version + "-tiny.pth";
    if (!fs::exists(weights))
      GTEST_SKIP() << weights
                   << " not found (../shared/data/rwkv-v1-v3 is absent); "
                      "skipping the check against RWKV-LM's logits";
    std::string spec =
        RWKV_SPECS "/rwkv" + std::string(m.version) + "-tiny.toml";
    const std::string &dir = cachedArtifact(
        "all-logits:" + spec, std::string("artifact-rwkv") + m.version,
        [&](const std::string &d) {
          EXPECT_TRUE(compileSpec(spec, d, "--all-logits"));
        });
    ASSERT_EQ(rwkv_model_load(dir.c_str(), weights.c_str(), &model), RWKV_OK)
        << rwkv_last_error();
    vocab = rwkv_model_vocab_size(model);
    prompt = tokens80();
    ASSERT_EQ(prompt.size(), 80u);
  }
  void TearDown() override { rwkv_model_free(model); }

  /// The logits after every token of `ids`, one batch-1 session.
  std::vector<float> allLogits(const std::vector<int32_t> &ids, rwkv_mode mode,
                               int64_t chunk = 0) {
    rwkv_session *s = nullptr;
    EXPECT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK) << rwkv_last_error();
    EXPECT_EQ(rwkv_session_set_mode(s, mode), RWKV_OK) << rwkv_last_error();
    if (chunk)
      EXPECT_EQ(rwkv_session_set_chunk_size(s, chunk), RWKV_OK);
    std::vector<float> out(ids.size() * static_cast<size_t>(vocab));
    EXPECT_EQ(rwkv_session_eval_sequence_all(
                  s, ids.data(), static_cast<int64_t>(ids.size()), out.data()),
              RWKV_OK)
        << rwkv_last_error();
    rwkv_session_free(s);
    return out;
  }

  std::string weights;
  rwkv_model *model = nullptr;
  int64_t vocab = 0;
  std::vector<int32_t> prompt;
};

/// Both forms reproduce RWKV_RNN.run at all 80 positions (the head-QK window
/// slides after 64) within 1e-4, and agree with each other within 1e-5;
/// the parallel form also in calls of 7 tokens, whose window crosses calls.
TEST_P(EarlyGeneration, ReproducesOfficialRnnLogits) {
  const EarlyModel &m = GetParam();
  std::vector<float> want =
      floats(kEarly + "/rwkv" + m.version + "-tiny.rnn.T80.f32.bin");
  ASSERT_EQ(want.size(), 80u * vocab);
  std::vector<float> recurrent = allLogits(prompt, RWKV_MODE_RECURRENT);
  std::vector<float> parallel = allLogits(prompt, RWKV_MODE_PARALLEL);
  std::vector<float> pieces = allLogits(prompt, RWKV_MODE_PARALLEL, 7);
  EXPECT_LT(maxAbsDiff(recurrent, want), 1e-4);
  EXPECT_LT(maxAbsDiff(parallel, want), 1e-4);
  EXPECT_LT(maxAbsDiff(pieces, want), 1e-4);
  EXPECT_LT(maxAbsDiff(parallel, recurrent), 1e-5);
}

/// The official GPT forms (the training GPT with its TimeX kernel, and
/// RWKV-3's conv1d RWKV_GPT) at every position of 32 and 64 tokens.
TEST_P(EarlyGeneration, ReproducesOfficialGptLogits) {
  const EarlyModel &m = GetParam();
  for (const char *file : m.gptFiles) {
    SCOPED_TRACE(file);
    std::vector<float> want = floats(kEarly + "/" + file);
    size_t n = want.size() / static_cast<size_t>(vocab);
    ASSERT_TRUE(n == 32 || n == 64) << want.size();
    std::vector<int32_t> ids(prompt.begin(), prompt.begin() + n);
    EXPECT_LT(maxAbsDiff(allLogits(ids, RWKV_MODE_PARALLEL), want), 1e-4);
    EXPECT_LT(maxAbsDiff(allLogits(ids, RWKV_MODE_RECURRENT), want), 1e-4);
  }
}

/// After 32 tokens: per layer the att and ffn token shifts and the WKV sums
/// aa = e^p·a, bb = e^p·b (the official RNN keeps them unscaled), and the
/// head-QK key buffer's 32 rows, within 1e-4 (relative to 1 + |value|;
/// aa reaches ~66).
TEST_P(EarlyGeneration, ReproducesOfficialRnnState) {
  const EarlyModel &m = GetParam();
  const int64_t C = rwkv_model_d_model(model), L = m.layers;
  ASSERT_EQ(rwkv_model_n_layer(model), L);
  std::vector<float> want =
      floats(kEarly + "/rwkv" + m.version + "-tiny.rnn.T32.state.f32.bin");
  std::vector<float> hk =
      floats(kEarly + "/rwkv" + m.version + "-tiny.rnn.T32.hk.f32.bin");
  ASSERT_EQ(want.size(), static_cast<size_t>(L * 4 * C));
  for (rwkv_mode mode : {RWKV_MODE_RECURRENT, RWKV_MODE_PARALLEL}) {
    SCOPED_TRACE(mode == RWKV_MODE_RECURRENT ? "recurrent" : "parallel");
    rwkv_session *s = nullptr;
    ASSERT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK);
    ASSERT_EQ(rwkv_session_set_mode(s, mode), RWKV_OK);
    ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data(), 32, nullptr),
              RWKV_OK)
        << rwkv_last_error();
    std::vector<float> state(static_cast<size_t>(rwkv_session_state_size(s)));
    ASSERT_EQ(rwkv_session_get_state(s, state.data()), RWKV_OK);
    rwkv_session_free(s);
    // Per layer: ffn_shift, att_shift, wkv_a, wkv_b, wkv_p [C]; then the
    // model's qk_keys [64, 256], qk_tokens [64], qk_count [1].
    const size_t window = 64, width = 256;
    ASSERT_EQ(state.size(),
              static_cast<size_t>(L * 5 * C) + window * width + window + 1);
    double worst = 0;
    auto compare = [&](double got, double ref) {
      worst = std::max(worst, std::abs(got - ref) / (1 + std::abs(ref)));
    };
    for (int64_t l = 0; l < L; ++l) {
      const float *ours = state.data() + l * 5 * C;
      const float *theirs = want.data() + l * 4 * C;
      for (int64_t c = 0; c < C; ++c) {
        double scale = std::exp(static_cast<double>(ours[4 * C + c]));
        compare(ours[C + c], theirs[c]);                     // xx att
        compare(ours[2 * C + c] * scale, theirs[C + c]);     // aa
        compare(ours[3 * C + c] * scale, theirs[2 * C + c]); // bb
        compare(ours[c], theirs[3 * C + c]);                 // xx ffn
      }
    }
    EXPECT_LT(worst, 1e-4) << "layer states";
    const float *keys = state.data() + L * 5 * C;
    const float *ids = keys + window * width;
    worst = 0;
    for (size_t i = 0; i < 32 * width; ++i)
      compare(keys[i], hk[i]);
    EXPECT_LT(worst, 1e-4) << "head-QK keys";
    for (size_t u = 0; u < 32; ++u)
      EXPECT_EQ(ids[u], static_cast<float>(prompt[u])) << u;
    EXPECT_EQ(ids[window], 32.0f) << "positions seen";
  }
}

/// The head-QK window is per-sequence state like the layers': a state file
/// saved after 40 tokens (window not full) and loaded into a fresh session
/// continues to the same logits as one uninterrupted run, and a batch of
/// two sequences at different offsets gets each sequence's own logits.
TEST_P(EarlyGeneration, StateFilesAndBatchesCarryTheWindow) {
  std::vector<float> want = allLogits(prompt, RWKV_MODE_RECURRENT);
  std::string dir =
      scratchDir(std::string("early-state-") + GetParam().version);
  std::string file = dir + "/after40.state";
  rwkv_session *s = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK);
  ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data(), 40, nullptr), RWKV_OK);
  ASSERT_EQ(rwkv_session_save_state(s, file.c_str()), RWKV_OK)
      << rwkv_last_error();
  rwkv_session_free(s);
  ASSERT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK);
  ASSERT_EQ(rwkv_session_load_state(s, file.c_str()), RWKV_OK)
      << rwkv_last_error();
  std::vector<float> rest(40 * static_cast<size_t>(vocab));
  ASSERT_EQ(
      rwkv_session_eval_sequence_all(s, prompt.data() + 40, 40, rest.data()),
      RWKV_OK);
  rwkv_session_free(s);
  EXPECT_LT(maxAbsDiff(rest, std::vector<float>(want.begin() + 40 * vocab,
                                                want.end())),
            1e-5);

  // Batch 2: sequence 0 reads the prompt from token 0, sequence 1 from
  // token 10 (70 tokens each), in one session.
  ASSERT_EQ(rwkv_session_create(model, 2, &s), RWKV_OK);
  std::vector<int32_t> both(prompt.begin(), prompt.begin() + 70);
  both.insert(both.end(), prompt.begin() + 10, prompt.end());
  std::vector<float> out(2 * 70 * static_cast<size_t>(vocab));
  ASSERT_EQ(rwkv_session_eval_sequence_all(s, both.data(), 70, out.data()),
            RWKV_OK)
      << rwkv_last_error();
  rwkv_session_free(s);
  std::vector<int32_t> second(prompt.begin() + 10, prompt.end());
  std::vector<float> alone = allLogits(second, RWKV_MODE_RECURRENT);
  EXPECT_LT(maxAbsDiff(firstRows(out, 70, vocab), firstRows(want, 70, vocab)),
            1e-5);
  EXPECT_LT(maxAbsDiff(std::vector<float>(out.begin() + 70 * vocab, out.end()),
                       alone),
            1e-5);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    RwkvLm, EarlyGeneration,
    ::testing::Values(EarlyModel{"2", 3, {"rwkv2-tiny.gpt.T32.f32.bin"}},
                      EarlyModel{"3",
                                 2,
                                 {"rwkv3-tiny.gpt_train.T32.f32.bin",
                                  "rwkv3-tiny.gpt_run.T32.f32.bin",
                                  "rwkv3-tiny.gpt_run.T64.f32.bin"}}),
    [](const ::testing::TestParamInfo<EarlyModel> &info) {
      return std::string("v") + info.param.version;
    });

/// RWKV-1 has one official form, the GPT (rwkv-v1-v3 §1): its logits of 32
/// and 64 tokens, every position, from our parallel form (whole and in
/// calls of 7 tokens) and our recurrent form (the history-buffer form of
/// §1.6, which the official code does not have).
class Rwkv1 : public ::testing::Test {
protected:
  void SetUp() override {
    weights = kEarly + "/rwkv1-tiny.pth";
    if (!fs::exists(weights))
      GTEST_SKIP() << weights
                   << " not found (../shared/data/rwkv-v1-v3 is absent); "
                      "skipping the check against RWKV-LM's logits";
    std::string spec = RWKV_SPECS "/rwkv1-tiny.toml";
    const std::string &dir = cachedArtifact(
        "all-logits:" + spec, "artifact-rwkv1", [&](const std::string &d) {
          EXPECT_TRUE(compileSpec(spec, d, "--all-logits"));
        });
    ASSERT_EQ(rwkv_model_load(dir.c_str(), weights.c_str(), &model), RWKV_OK)
        << rwkv_last_error();
    vocab = rwkv_model_vocab_size(model);
    prompt = tokens80();
    ASSERT_EQ(prompt.size(), 80u);
  }
  void TearDown() override { rwkv_model_free(model); }

  rwkv_session *session(rwkv_mode mode, int64_t batch = 1) {
    rwkv_session *s = nullptr;
    EXPECT_EQ(rwkv_session_create(model, batch, &s), RWKV_OK)
        << rwkv_last_error();
    EXPECT_EQ(rwkv_session_set_mode(s, mode), RWKV_OK);
    return s;
  }
  std::vector<float> allLogits(const std::vector<int32_t> &ids, rwkv_mode mode,
                               int64_t chunk = 0) {
    rwkv_session *s = session(mode);
    if (chunk)
      EXPECT_EQ(rwkv_session_set_chunk_size(s, chunk), RWKV_OK);
    std::vector<float> out(ids.size() * static_cast<size_t>(vocab));
    EXPECT_EQ(rwkv_session_eval_sequence_all(
                  s, ids.data(), static_cast<int64_t>(ids.size()), out.data()),
              RWKV_OK)
        << rwkv_last_error();
    rwkv_session_free(s);
    return out;
  }

  std::string weights;
  rwkv_model *model = nullptr;
  int64_t vocab = 0;
  std::vector<int32_t> prompt;
};

TEST_F(Rwkv1, ReproducesOfficialGptLogits) {
  for (const char *file :
       {"rwkv1-tiny.gpt.T32.f32.bin", "rwkv1-tiny.gpt.T64.f32.bin"}) {
    SCOPED_TRACE(file);
    std::vector<float> want = floats(kEarly + "/" + file);
    size_t n = want.size() / static_cast<size_t>(vocab);
    ASSERT_TRUE(n == 32 || n == 64) << want.size();
    std::vector<int32_t> ids(prompt.begin(), prompt.begin() + n);
    std::vector<float> parallel = allLogits(ids, RWKV_MODE_PARALLEL);
    std::vector<float> recurrent = allLogits(ids, RWKV_MODE_RECURRENT);
    EXPECT_LT(maxAbsDiff(parallel, want), 1e-4);
    EXPECT_LT(maxAbsDiff(recurrent, want), 1e-4);
    EXPECT_LT(maxAbsDiff(allLogits(ids, RWKV_MODE_PARALLEL, 7), want), 1e-4);
    EXPECT_LT(maxAbsDiff(parallel, recurrent), 1e-5);
  }
}

/// The parameters exist for 64 positions: a call that would pass them is
/// refused with an error naming the limit, in either form and whether the
/// sequence crosses it in one call or over several, and leaves the session
/// as it was (the next call that fits continues the sequence correctly).
TEST_F(Rwkv1, RefusesPositionsPastCtxLen) {
  std::vector<float> want = floats(kEarly + "/rwkv1-tiny.gpt.T64.f32.bin");
  for (rwkv_mode mode : {RWKV_MODE_RECURRENT, RWKV_MODE_PARALLEL}) {
    SCOPED_TRACE(mode == RWKV_MODE_RECURRENT ? "recurrent" : "parallel");
    rwkv_session *s = session(mode);
    EXPECT_EQ(rwkv_session_eval_sequence(s, prompt.data(), 65, nullptr),
              RWKV_ERROR_ARGUMENT);
    EXPECT_NE(std::string(rwkv_last_error()).find("64 tokens"),
              std::string::npos)
        << rwkv_last_error();
    ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data(), 60, nullptr),
              RWKV_OK)
        << rwkv_last_error();
    EXPECT_EQ(rwkv_session_eval_sequence(s, prompt.data() + 60, 5, nullptr),
              RWKV_ERROR_ARGUMENT);
    std::vector<float> last(static_cast<size_t>(vocab));
    ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data() + 60, 4, last.data()),
              RWKV_OK)
        << rwkv_last_error();
    EXPECT_LT(
        maxAbsDiff(last, std::vector<float>(want.end() - vocab, want.end())),
        1e-4);
    EXPECT_EQ(rwkv_session_eval(s, prompt.data() + 64, last.data()),
              RWKV_ERROR_ARGUMENT);
    // A reset sequence starts again at position 0.
    ASSERT_EQ(rwkv_session_reset(s), RWKV_OK);
    std::vector<float> again(64 * static_cast<size_t>(vocab));
    ASSERT_EQ(
        rwkv_session_eval_sequence_all(s, prompt.data(), 64, again.data()),
        RWKV_OK)
        << rwkv_last_error();
    EXPECT_LT(maxAbsDiff(again, want), 1e-4);
    rwkv_session_free(s);
  }
}

/// A position counter from the caller or a state file must be a whole
/// number of tokens in [0, 64]: a negative or fractional one would let the
/// sequence past the positions the parameters have, so it is refused,
/// naming the state (and the file).
TEST_F(Rwkv1, RefusesHostileCounters) {
  rwkv_session *s = session(RWKV_MODE_RECURRENT);
  ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data(), 10, nullptr), RWKV_OK);
  std::vector<float> state(static_cast<size_t>(rwkv_session_state_size(s)));
  ASSERT_EQ(rwkv_session_get_state(s, state.data()), RWKV_OK);
  // Layer 0: ffn_shift [128], att_shift [128], wkv_history [64, 128],
  // wkv_den [128], then att_pos.
  const size_t pos = 128 + 128 + 64 * 128 + 128;
  ASSERT_EQ(state[pos], 10.0f);
  for (float bad : {-3.0f, 10.5f, 65.0f}) {
    SCOPED_TRACE(bad);
    std::vector<float> edited = state;
    edited[pos] = bad;
    EXPECT_EQ(rwkv_session_set_state(s, edited.data()), RWKV_ERROR_ARGUMENT);
    EXPECT_NE(std::string(rwkv_last_error()).find("'att_pos'"),
              std::string::npos)
        << rwkv_last_error();
  }
  // The refused states changed nothing: the sequence goes on from 10.
  std::vector<float> want = floats(kEarly + "/rwkv1-tiny.gpt.T32.f32.bin");
  std::vector<float> last(static_cast<size_t>(vocab));
  ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data() + 10, 22, last.data()),
            RWKV_OK);
  EXPECT_LT(
      maxAbsDiff(last, std::vector<float>(want.end() - vocab, want.end())),
      1e-4);
  std::string dir = scratchDir("early-counter-1");
  std::string file = dir + "/hostile.state";
  ASSERT_EQ(rwkv_session_save_state(s, file.c_str()), RWKV_OK);
  std::vector<char> bytes = readFile(file);
  const size_t values = state.size() * sizeof(float);
  const float minus = -1.0f;
  std::memcpy(bytes.data() + bytes.size() - values + pos * sizeof(float),
              &minus, sizeof(float));
  writeFile(file, bytes);
  EXPECT_EQ(rwkv_session_load_state(s, file.c_str()), RWKV_ERROR_FORMAT);
  std::string error = rwkv_last_error();
  EXPECT_NE(error.find(file), std::string::npos) << error;
  EXPECT_NE(error.find("holds -1, but 'att_pos' counts the tokens"),
            std::string::npos)
      << error;
  rwkv_session_free(s);
  fs::remove_all(dir);
}

/// The positions, histories and head-QK window are per-sequence state: a
/// state file saved after 40 tokens continues to the uninterrupted logits,
/// and a batch of two sequences at different offsets gets each its own.
TEST_F(Rwkv1, StateFilesAndBatchesCarryPositions) {
  std::vector<int32_t> first(prompt.begin(), prompt.begin() + 64);
  std::vector<float> want = allLogits(first, RWKV_MODE_RECURRENT);
  std::string dir = scratchDir("early-state-1");
  std::string file = dir + "/after40.state";
  rwkv_session *s = session(RWKV_MODE_PARALLEL);
  ASSERT_EQ(rwkv_session_eval_sequence(s, prompt.data(), 40, nullptr), RWKV_OK);
  ASSERT_EQ(rwkv_session_save_state(s, file.c_str()), RWKV_OK)
      << rwkv_last_error();
  rwkv_session_free(s);
  s = session(RWKV_MODE_RECURRENT);
  ASSERT_EQ(rwkv_session_load_state(s, file.c_str()), RWKV_OK)
      << rwkv_last_error();
  std::vector<float> rest(24 * static_cast<size_t>(vocab));
  ASSERT_EQ(
      rwkv_session_eval_sequence_all(s, prompt.data() + 40, 24, rest.data()),
      RWKV_OK)
      << rwkv_last_error();
  // 64 positions used: the loaded counters refuse one more.
  EXPECT_EQ(rwkv_session_eval(s, prompt.data(), nullptr), RWKV_ERROR_ARGUMENT);
  rwkv_session_free(s);
  EXPECT_LT(maxAbsDiff(rest, std::vector<float>(want.begin() + 40 * vocab,
                                                want.end())),
            1e-5);

  // Batch 2: sequence 0 reads tokens 0..53, sequence 1 tokens 10..63.
  s = session(RWKV_MODE_PARALLEL, 2);
  std::vector<int32_t> both(prompt.begin(), prompt.begin() + 54);
  both.insert(both.end(), prompt.begin() + 10, prompt.begin() + 64);
  std::vector<float> out(2 * 54 * static_cast<size_t>(vocab));
  ASSERT_EQ(rwkv_session_eval_sequence_all(s, both.data(), 54, out.data()),
            RWKV_OK)
      << rwkv_last_error();
  rwkv_session_free(s);
  std::vector<int32_t> second(prompt.begin() + 10, prompt.begin() + 64);
  EXPECT_LT(maxAbsDiff(firstRows(out, 54, vocab), firstRows(want, 54, vocab)),
            1e-5);
  EXPECT_LT(maxAbsDiff(std::vector<float>(out.begin() + 54 * vocab, out.end()),
                       allLogits(second, RWKV_MODE_RECURRENT)),
            1e-5);
  fs::remove_all(dir);
}

} // namespace
