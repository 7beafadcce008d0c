//===- VariantTests.cpp - compiled specs vs the scalar reference model ----===//
//
// For each spec: compile it with rwkvc, read the artifact's manifest, draw
// random weights from the manifest's init hints, write them as an rwkv.cpp
// checkpoint in the layout the spec's bindings describe (names, transposes,
// stacks, stored_as transforms), run the compiled model through the C API and
// the independent double-precision ReferenceModel on the same weights, and
// compare the logits of several consecutive tokens.
//
// specs/examples/ holds variants that are not released models; adding one is
// a TOML file plus a line in kSpecs below.
//
//===----------------------------------------------------------------------===//

#include "ReferenceModel.h"
#include "rwkv/runtime.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

rwkvref::ModelConfig configFrom(const json &model) {
  const json &comp = model.at("components");
  rwkvref::ModelConfig c;
  c.vocab = model.at("vocab_size");
  c.c = model.at("d_model");
  c.layers = model.at("n_layer");
  c.heads = model.at("n_head");
  c.n = model.at("head_size");
  c.ffn = model.at("d_ffn");
  c.wkv = comp.at("wkv");
  c.tokenShift = comp.at("token_shift");
  c.decay = comp.at("decay");
  c.bonus = comp.at("bonus");
  c.gate = comp.at("gate");
  c.receptance = comp.at("receptance");
  c.outputNorm = comp.at("output_norm");
  c.channelMix = comp.at("channel_mix");
  c.channelMixShift = comp.at("channel_mix_token_shift");
  c.timeMixInputs = comp.at("time_mix_inputs").get<std::vector<std::string>>();
  c.valueResidual = comp.at("value_residual");
  c.ln0 = comp.at("ln0");
  c.headBias = comp.at("head_bias");
  c.residualBias = comp.at("residual_bias");
  c.layerNormEps = comp.at("layer_norm_eps");
  c.groupNormEps = comp.at("group_norm_eps");
  return c;
}

/// One tensor of the checkpoint being written (torch dimension order).
struct OutTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

void writeRwkvCpp(const std::string &path, const rwkvref::ModelConfig &cfg,
                  const std::map<std::string, OutTensor> &tensors) {
  std::ofstream out(path, std::ios::binary);
  auto put = [&](int32_t v) { out.write(reinterpret_cast<char *>(&v), 4); };
  put(0x67676d66);
  put(101);
  put(static_cast<int32_t>(cfg.vocab));
  put(static_cast<int32_t>(cfg.c));
  put(static_cast<int32_t>(cfg.layers));
  put(0);
  for (auto &[name, t] : tensors) {
    put(static_cast<int32_t>(t.shape.size()));
    put(static_cast<int32_t>(name.size()));
    put(0);
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it)
      put(static_cast<int32_t>(*it));
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    out.write(reinterpret_cast<const char *>(t.data.data()),
              static_cast<std::streamsize>(t.data.size() * 4));
  }
}

std::string layerName(std::string tmpl, int64_t layer) {
  for (size_t pos; (pos = tmpl.find("{layer}")) != std::string::npos;)
    tmpl.replace(pos, 7, std::to_string(layer));
  return tmpl;
}

/// What the checkpoint holds for parameter value p (binding stored_as).
double storedValue(const std::string &storedAs, double p) {
  if (storedAs == "exp")
    return std::exp(p);
  if (storedAs == "neg_exp")
    return -std::exp(p);
  if (storedAs == "exp_neg_exp")
    return std::exp(-std::exp(p));
  return p;
}

/// A compiled spec with random weights written to a checkpoint, and the
/// reference model's configuration and weights.
struct Prepared {
  fs::path dir;
  std::string checkpoint;
  rwkvref::ModelConfig cfg;
  rwkvref::Weights weights;
};

/// Compiles `specFile` (relative to specs/) and draws random weights from
/// the manifest's init hints (seeded), in the compiler layout for the
/// reference and in the binding's layout for the checkpoint.
void prepare(const std::string &specFile, Prepared &out,
             const std::string &flags = "") {
  std::string spec = std::string(RWKV_SPECS) + "/" + specFile;
  out.dir = fs::temp_directory_path() /
            ("rwkv-variant-" + std::to_string(::getpid()) + "-" +
             fs::path(specFile).stem().string());
  fs::remove_all(out.dir);
  std::string cmd = std::string(RWKVC_PATH) + " '" + spec +
                    "' --target=x86-64-v3 " + flags + " -o '" +
                    out.dir.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  std::ifstream in(out.dir / "manifest.json");
  json manifest = json::parse(in);
  out.cfg = configFrom(manifest.at("model"));
  rwkvref::ModelConfig &cfg = out.cfg;

  std::mt19937_64 gen(12345);
  rwkvref::Weights &weights = out.weights;
  std::map<std::string, OutTensor> tensors;
  std::map<std::string, std::map<int64_t, OutTensor>> stacks;
  for (const json &p : manifest.at("parameters")) {
    std::string name = p.at("name");
    std::vector<int64_t> shape = p.at("shape").get<std::vector<int64_t>>();
    bool perLayer = p.at("per_layer");
    int64_t first = p.at("first_layer");
    const json &ck = p.at("checkpoint");
    std::string storedAs = ck.value("stored_as", "raw");
    int64_t index = ck.value("index", int64_t(-1));
    bool transpose = ck.at("transpose");
    double lo = p.at("init").at("lo"), hi = p.at("init").at("hi");
    std::uniform_real_distribution<double> dist(lo, hi);
    int64_t count = perLayer ? cfg.layers : 1;
    auto &slots = weights[name];
    slots.resize(count);
    for (int64_t l = perLayer ? first : 0; l < count; ++l) {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      std::vector<double> values(n);
      for (double &v : values)
        v = dist(gen);
      slots[l] = values;
      OutTensor t;
      t.shape = shape;
      t.data.resize(n);
      for (int64_t i = 0; i < n; ++i)
        t.data[i] = static_cast<float>(storedValue(storedAs, values[i]));
      if (transpose) {
        int64_t rows = shape[shape.size() - 2], cols = shape.back();
        std::vector<float> tr(n);
        for (int64_t blk = 0; blk < n / (rows * cols); ++blk)
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
              tr[blk * rows * cols + j * rows + i] =
                  t.data[blk * rows * cols + i * cols + j];
        t.data = tr;
        std::swap(t.shape[shape.size() - 2], t.shape.back());
      }
      std::string file = ck.contains("layer_names")
                             ? ck.at("layer_names").at(l).get<std::string>()
                             : layerName(ck.at("name"), l);
      if (index >= 0)
        stacks[file][index] = t;
      else
        tensors[file] = t;
    }
  }
  for (auto &[file, rows] : stacks) {
    OutTensor t;
    t.shape = rows.begin()->second.shape;
    t.shape.insert(t.shape.begin(), static_cast<int64_t>(rows.size()));
    for (auto &[i, row] : rows)
      t.data.insert(t.data.end(), row.data.begin(), row.data.end());
    tensors[file] = t;
  }
  out.checkpoint = (out.dir / "random.bin").string();
  writeRwkvCpp(out.checkpoint, cfg, tensors);
}

/// max |got − want| over the logits, and the logit scale.
std::pair<double, double> distance(const std::vector<float> &got,
                                   const std::vector<double> &want) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return {worst, scale};
}

class Variants : public ::testing::TestWithParam<const char *> {};

TEST_P(Variants, MatchScalarReference) {
  Prepared prep;
  ASSERT_NO_FATAL_FAILURE(prepare(GetParam(), prep));
  rwkvref::ModelConfig &cfg = prep.cfg;

  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load(prep.dir.c_str(), prep.checkpoint.c_str(), &model),
            RWKV_OK)
      << rwkv_last_error();
  rwkv_session *session = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &session), RWKV_OK);
  rwkvref::ReferenceModel reference(cfg, prep.weights);

  std::vector<float> logits(static_cast<size_t>(cfg.vocab));
  const int32_t tokens[] = {1, 17, 200, 5, 5};
  for (int32_t token : tokens) {
    ASSERT_EQ(rwkv_session_eval(session, &token, logits.data()), RWKV_OK)
        << rwkv_last_error();
    auto [worst, scale] = distance(logits, reference.step(token));
    // f32 evaluation of a few layers against float64: relative 1e-5 of the
    // logit scale plus a small absolute floor.
    EXPECT_LT(worst, 1e-5 * scale + 1e-4)
        << "token " << token << ": max |diff| " << worst << " (logit scale "
        << scale << ")";
  }
  rwkv_session_free(session);
  rwkv_model_free(model);
  fs::remove_all(prep.dir);
}

/// Variants written in the block language (no C++), each with what its
/// reference needs beyond the manifest's menu components.
struct BlockVariant {
  const char *spec;
  void (*configure)(rwkvref::ModelConfig &);
};

const BlockVariant kBlockVariants[] = {
    {"examples/rwkv7-transformer-block.toml",
     [](rwkvref::ModelConfig &c) {
       c.blockNorm = "rms_norm";
       c.rmsNormEps = 1e-6;
       c.mlp = "swiglu";
     }},
    {"examples/rwkv7-token-gated-ffn.toml",
     [](rwkvref::ModelConfig &c) { c.tokenGate = true; }},
    {"examples/rwkv7-attention-branch.toml",
     [](rwkvref::ModelConfig &c) { c.attentionWidth = 32; }},
};

void PrintTo(const BlockVariant &v, std::ostream *os) { *os << v.spec; }

class BlockVariants : public ::testing::TestWithParam<BlockVariant> {};

// The bar for a variant written as a spec: logits of every position of a
// 48-token sequence within 1e-4 of the float64 reference (recurrent), the
// parallel form within 1e-5 of the recurrent one at every position (one
// call through the head over every token) and in the final state, and a
// saved state that resumes bit for bit.
TEST_P(BlockVariants, MatchReferenceInBothFormsAndResume) {
  Prepared prep;
  ASSERT_NO_FATAL_FAILURE(prepare(GetParam().spec, prep, "--all-logits"));
  GetParam().configure(prep.cfg);
  const rwkvref::ModelConfig &cfg = prep.cfg;
  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load(prep.dir.c_str(), prep.checkpoint.c_str(), &model),
            RWKV_OK)
      << rwkv_last_error();
  std::vector<int32_t> tokens(48);
  std::mt19937 gen(7);
  for (int32_t &t : tokens)
    t = static_cast<int32_t>(gen() % static_cast<uint32_t>(cfg.vocab));
  const size_t vocab = static_cast<size_t>(cfg.vocab);

  // Recurrent form against the reference, position by position.
  rwkvref::ReferenceModel reference(cfg, prep.weights);
  rwkv_session *rec = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &rec), RWKV_OK);
  ASSERT_EQ(rwkv_session_set_mode(rec, RWKV_MODE_RECURRENT), RWKV_OK);
  std::vector<std::vector<float>> recurrent;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::vector<float> logits(vocab);
    ASSERT_EQ(rwkv_session_eval(rec, &tokens[i], logits.data()), RWKV_OK)
        << rwkv_last_error();
    auto [worst, scale] = distance(logits, reference.step(tokens[i]));
    EXPECT_LT(worst, 1e-4) << "position " << i << ": max |diff| " << worst
                           << " (logit scale " << scale << ")";
    recurrent.push_back(logits);
  }
  std::vector<float> recState(
      static_cast<size_t>(rwkv_session_state_size(rec)));
  ASSERT_EQ(rwkv_session_get_state(rec, recState.data()), RWKV_OK);

  // Parallel form, the whole sequence in one call: the logits of every
  // position (the head over every token, rwkvc --all-logits) and the final
  // state agree with the recurrent form.
  {
    rwkv_session *par = nullptr;
    ASSERT_EQ(rwkv_session_create(model, 1, &par), RWKV_OK);
    ASSERT_EQ(rwkv_session_set_mode(par, RWKV_MODE_PARALLEL), RWKV_OK);
    std::vector<float> all(tokens.size() * vocab);
    ASSERT_EQ(rwkv_session_eval_sequence_all(
                  par, tokens.data(), static_cast<int64_t>(tokens.size()),
                  all.data()),
              RWKV_OK)
        << rwkv_last_error();
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
      double worst = 0;
      for (size_t i = 0; i < vocab; ++i)
        worst = std::max(worst, std::abs(double(all[pos * vocab + i]) -
                                         double(recurrent[pos][i])));
      EXPECT_LT(worst, 1e-5) << "position " << pos;
    }
    std::vector<float> state(recState.size());
    ASSERT_EQ(rwkv_session_get_state(par, state.data()), RWKV_OK);
    double d = 0;
    for (size_t i = 0; i < state.size(); ++i)
      d = std::max(d, std::abs(double(state[i]) - double(recState[i])));
    EXPECT_LT(d, 1e-5) << "final state";
    rwkv_session_free(par);
  }

  // Save after 24 tokens, resume in a fresh session: bit for bit.
  std::string stateFile = (prep.dir / "half.state").string();
  rwkv_session *a = nullptr, *b = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &a), RWKV_OK);
  ASSERT_EQ(rwkv_session_eval_sequence(a, tokens.data(), 24, nullptr), RWKV_OK);
  ASSERT_EQ(rwkv_session_save_state(a, stateFile.c_str()), RWKV_OK)
      << rwkv_last_error();
  std::vector<float> la(vocab), lb(vocab);
  ASSERT_EQ(rwkv_session_eval_sequence(a, tokens.data() + 24, 24, la.data()),
            RWKV_OK);
  ASSERT_EQ(rwkv_session_create(model, 1, &b), RWKV_OK);
  ASSERT_EQ(rwkv_session_load_state(b, stateFile.c_str()), RWKV_OK)
      << rwkv_last_error();
  ASSERT_EQ(rwkv_session_eval_sequence(b, tokens.data() + 24, 24, lb.data()),
            RWKV_OK);
  EXPECT_EQ(std::memcmp(la.data(), lb.data(), vocab * sizeof(float)), 0);

  rwkv_session_free(a);
  rwkv_session_free(b);
  rwkv_session_free(rec);
  rwkv_model_free(model);
  fs::remove_all(prep.dir);
}

// The attention branch's cache holds attn_max_len = 64 tokens: a call that
// would pass it is refused with an error naming the state and the limit, in
// both forms, and leaves the session as it was (a reset starts over).
TEST(AttentionCache, RefusesToPassItsLength) {
  Prepared prep;
  ASSERT_NO_FATAL_FAILURE(
      prepare("examples/rwkv7-attention-branch.toml", prep));
  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load(prep.dir.c_str(), prep.checkpoint.c_str(), &model),
            RWKV_OK)
      << rwkv_last_error();
  for (rwkv_mode mode : {RWKV_MODE_RECURRENT, RWKV_MODE_PARALLEL}) {
    rwkv_session *session = nullptr;
    ASSERT_EQ(rwkv_session_create(model, 1, &session), RWKV_OK);
    ASSERT_EQ(rwkv_session_set_mode(session, mode), RWKV_OK);
    std::vector<int32_t> tokens(64, 7);
    ASSERT_EQ(rwkv_session_eval_sequence(session, tokens.data(), 60, nullptr),
              RWKV_OK)
        << rwkv_last_error();
    EXPECT_EQ(rwkv_session_eval_sequence(session, tokens.data(), 5, nullptr),
              RWKV_ERROR_ARGUMENT);
    std::string error = rwkv_last_error();
    EXPECT_NE(error.find("sequence 0 has seen 60 tokens; 5 more would pass "
                         "the 64 tokens its state 'attn_count'"),
              std::string::npos)
        << error;
    EXPECT_EQ(rwkv_session_eval_sequence(session, tokens.data(), 4, nullptr),
              RWKV_OK)
        << rwkv_last_error();
    EXPECT_EQ(rwkv_session_eval(session, tokens.data(), nullptr),
              RWKV_ERROR_ARGUMENT);
    ASSERT_EQ(rwkv_session_reset(session), RWKV_OK);
    EXPECT_EQ(rwkv_session_eval_sequence(session, tokens.data(), 64, nullptr),
              RWKV_OK)
        << rwkv_last_error();
    rwkv_session_free(session);
  }
  rwkv_model_free(model);
  fs::remove_all(prep.dir);
}

INSTANTIATE_TEST_SUITE_P(Specs, BlockVariants,
                         ::testing::ValuesIn(kBlockVariants),
                         [](const ::testing::TestParamInfo<BlockVariant> &i) {
                           std::string name =
                               fs::path(i.param.spec).stem().string();
                           for (char &ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           return name;
                         });

const char *const kSpecs[] = {
    // New variants written as specs only.
    "examples/rwkv7-ddlerp.toml", "examples/rwkv6-biased.toml",
    // Released generations with random weights: stored_as, stacks, per-head
    // parameters and multi-token state beyond what the recorded logits cover.
    "rwkvcpp-tiny-4v0.toml", "rwkvcpp-tiny-5v1.toml", "rwkvcpp-tiny-5v2.toml",
    "rwkvcpp-tiny-6v0-1m.toml", "rwkvcpp-tiny-7v0.toml"};

INSTANTIATE_TEST_SUITE_P(Specs, Variants, ::testing::ValuesIn(kSpecs),
                         [](const ::testing::TestParamInfo<const char *> &i) {
                           std::string name = fs::path(i.param).stem().string();
                           for (char &ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           return name;
                         });

} // namespace
