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

class Variants : public ::testing::TestWithParam<const char *> {};

TEST_P(Variants, MatchScalarReference) {
  std::string spec = std::string(RWKV_SPECS) + "/" + GetParam();
  fs::path dir = fs::temp_directory_path() /
                 ("rwkv-variant-" + std::to_string(::getpid()) + "-" +
                  fs::path(GetParam()).stem().string());
  fs::remove_all(dir);
  std::string cmd = std::string(RWKVC_PATH) + " '" + spec +
                    "' --target=x86-64-v3 -o '" + dir.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  std::ifstream in(dir / "manifest.json");
  json manifest = json::parse(in);
  rwkvref::ModelConfig cfg = configFrom(manifest.at("model"));

  // Random weights from the init hints (seeded), in the compiler layout for
  // the reference and in the binding's layout for the checkpoint.
  std::mt19937_64 gen(12345);
  rwkvref::Weights weights;
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
      std::string file = layerName(ck.at("name"), l);
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
  std::string ckpt = (dir / "random.bin").string();
  writeRwkvCpp(ckpt, cfg, tensors);

  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load(dir.c_str(), ckpt.c_str(), &model), RWKV_OK)
      << rwkv_last_error();
  rwkv_session *session = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &session), RWKV_OK);
  rwkvref::ReferenceModel reference(cfg, weights);

  std::vector<float> logits(static_cast<size_t>(cfg.vocab));
  const int32_t tokens[] = {1, 17, 200, 5, 5};
  for (int32_t token : tokens) {
    ASSERT_EQ(rwkv_session_eval(session, &token, logits.data()), RWKV_OK)
        << rwkv_last_error();
    std::vector<double> want = reference.step(token);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::abs(logits[i] - want[i]));
      scale = std::max(scale, std::abs(want[i]));
    }
    // f32 evaluation of a few layers against float64: relative 1e-5 of the
    // logit scale plus a small absolute floor.
    EXPECT_LT(worst, 1e-5 * scale + 1e-4)
        << "token " << token << ": max |diff| " << worst << " (logit scale "
        << scale << ")";
  }
  rwkv_session_free(session);
  rwkv_model_free(model);
  fs::remove_all(dir);
}

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
