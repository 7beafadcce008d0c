//===- QuantizedTests.cpp - Q8_0 projection weights through the C API -----===//
//
// precision.weights = "q8_0" (docs/spec.md): the Linear and head matrices
// of the tiny trained rwkv.cpp models read as ggml Q8_0 blocks, in place
// from files that hold them and quantized at load from the others, and
// dequantized in registers by the generated kernels. Checked here: every
// tiny model stays within the stated bound of its recorded logits in both
// forms; in-place blocks (rwkv.cpp .bin and GGUF) give exactly what the same
// values quantized at load give, and the logits of an f32 model holding the
// values the blocks decode to; batched decode is bit-identical to single
// sequences.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <cstring>
#include <functional>

using namespace rwkvtest;

namespace {

/// The tiny spec `base` (in specs/) with precision.weights = "q8_0".
std::string q8Spec(const std::string &base) {
  std::vector<char> bytes =
      readFile(std::string(RWKV_SPECS) + "/" + base + ".toml");
  std::string text(bytes.begin(), bytes.end());
  const std::string name = "name = \"" + base + "\"";
  text.replace(text.find(name), name.size(), "name = \"" + base + "-q8_0\"");
  const std::string f32 = "[precision]\nweights = \"f32\"";
  if (size_t at = text.find(f32); at != std::string::npos)
    text.replace(at, f32.size(), "[precision]\nweights = \"q8_0\"");
  else
    text += "\n[precision]\nweights = \"q8_0\"\n";
  static std::string dir = scratchDir("q8-specs");
  std::string path = dir + "/" + base + "-q8_0.toml";
  std::ofstream(path) << text;
  return path;
}

/// Logits after `tokens` in the recurrent and the parallel form.
struct Evaluated {
  std::vector<float> recurrent, parallel;
  int64_t mappedBytes = 0;
};

Evaluated evaluate(const std::string &artifact, const std::string &weights,
                   const std::vector<int32_t> &tokens) {
  Evaluated r;
  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load(artifact.c_str(), weights.c_str(), &model), RWKV_OK)
      << rwkv_last_error();
  if (!model)
    return r;
  r.mappedBytes = rwkv_model_mapped_weight_bytes(model);
  for (rwkv_mode mode : {RWKV_MODE_RECURRENT, RWKV_MODE_PARALLEL}) {
    rwkv_session *s = nullptr;
    EXPECT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK) << rwkv_last_error();
    EXPECT_EQ(rwkv_session_set_mode(s, mode), RWKV_OK);
    std::vector<float> &out =
        mode == RWKV_MODE_RECURRENT ? r.recurrent : r.parallel;
    out.resize(static_cast<size_t>(rwkv_model_vocab_size(model)));
    EXPECT_EQ(rwkv_session_eval_sequence(s, tokens.data(),
                                         static_cast<int64_t>(tokens.size()),
                                         out.data()),
              RWKV_OK)
        << rwkv_last_error();
    rwkv_session_free(s);
    // NaN would compare equal to everything below.
    EXPECT_TRUE(std::all_of(out.begin(), out.end(),
                            [](float x) { return std::isfinite(x); }))
        << artifact << " on " << weights << ": non-finite logits";
  }
  rwkv_model_free(model);
  return r;
}

std::vector<int32_t> bytesOf(const std::string &text) {
  return std::vector<int32_t>(text.begin(), text.end());
}

/// A prompt longer than the projections' register blocks of tokens, not a
/// multiple of them.
const std::vector<int32_t> kLongPrompt =
    bytesOf("The quick brown fox jumps over the lazy dog, and again.");

/// ggml's reference Q8_0 quantizer (quantize_row_q8_0_ref), written here
/// independently of the runtime's: d = max|x| / 127 as f16, q = round(x / d)
/// with the f32 d.
void quantizeRow(const float *x, int64_t n, std::vector<char> &out) {
  for (int64_t b = 0; b < n; b += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax =
          std::isnan(x[b + j]) ? x[b + j] : std::max(amax, std::fabs(x[b + j]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    // f32 -> f16 by the compiler's _Float16 (round to nearest even).
    _Float16 half = static_cast<_Float16>(d);
    uint16_t h;
    std::memcpy(&h, &half, 2);
    out.push_back(static_cast<char>(h & 0xFF));
    out.push_back(static_cast<char>(h >> 8));
    for (int j = 0; j < 32; ++j) {
      float q = std::round(x[b + j] * id); // NaN in a damaged block: q = 0
      out.push_back(
          static_cast<char>(std::isnan(q) ? 0 : static_cast<int8_t>(q)));
    }
  }
}

/// Rewrites an FP32 rwkv.cpp file in rwkv.cpp's Q8_0 format (type 9):
/// the matrices the q8_0 spec reads as Q8_0 become blocks; vectors, LoRA
/// factors and the embedding stay FP32.
/// `edit` may change a tensor's values first (a NaN there becomes a NaN
/// scale: a damaged file); with `quantize` false only the edit is made.
std::vector<char> toQ8_0(
    const std::vector<char> &in, int64_t &blocks,
    const std::function<void(const std::string &, std::vector<float> &)> &edit =
        nullptr,
    bool quantizeMatrices = true) {
  std::vector<char> out(in.begin(), in.begin() + 24);
  auto i32 = [&](size_t off) {
    int32_t v;
    std::memcpy(&v, &in[off], 4);
    return v;
  };
  auto put32 = [&](int32_t v) {
    char b[4];
    std::memcpy(b, &v, 4);
    out.insert(out.end(), b, b + 4);
  };
  blocks = 0;
  size_t off = 24;
  while (off < in.size()) {
    int32_t dims = i32(off), keyLen = i32(off + 4);
    std::vector<int32_t> shape; // ggml order: the row length first
    int64_t n = 1;
    for (int d = 0; d < dims; ++d) {
      shape.push_back(i32(off + 12 + 4 * d));
      n *= shape.back();
    }
    size_t keyOff = off + 12 + 4 * dims;
    std::string key(&in[keyOff], static_cast<size_t>(keyLen));
    std::vector<float> values(static_cast<size_t>(n));
    std::memcpy(values.data(), &in[keyOff + keyLen], n * 4);
    if (edit)
      edit(key, values);
    // Not the LoRA factors (a1 .. w2), which llama.cpp's quantizer leaves
    // and precision.lora keeps, nor the embedding (f32 in the spec).
    std::string leaf = key.substr(key.rfind('.') + 1);
    bool lora = leaf.size() == 2 && std::strchr("agvw", leaf[0]) &&
                (leaf[1] == '1' || leaf[1] == '2');
    bool quantize = dims == 2 && shape[0] > 1 && shape[1] > 1 &&
                    shape[0] % 32 == 0 && !lora && key != "emb.weight" &&
                    key.find(".x_") == std::string::npos && quantizeMatrices;
    put32(dims);
    put32(keyLen);
    put32(quantize ? 9 : 0);
    for (int32_t d : shape)
      put32(d);
    out.insert(out.end(), key.begin(), key.end());
    if (quantize) {
      quantizeRow(values.data(), n, out);
      blocks += n / 32;
    } else {
      const char *p = reinterpret_cast<const char *>(values.data());
      out.insert(out.end(), p, p + n * 4);
    }
    off = keyOff + keyLen + static_cast<size_t>(n) * 4;
  }
  return out;
}

std::vector<float> expectedLogits(const std::string &file) {
  std::vector<char> raw = readFile(kData + "/" + file);
  std::vector<float> v(raw.size() / sizeof(float));
  std::memcpy(v.data(), raw.data(), v.size() * sizeof(float));
  return v;
}

struct QuantizedModel {
  const char *spec;
  const char *weights;
  const char *expected;
  double bound; ///< on max |logit - recorded| after kPrompt
};

void PrintTo(const QuantizedModel &m, std::ostream *os) { *os << m.spec; }

class QuantizedTinyModels : public ::testing::TestWithParam<QuantizedModel> {};

} // namespace

// Every tiny model with Q8_0 Linear and head matrices (LoRA factors f32),
// quantized at load: within its bound of the recorded f32 logits, the same
// top token, different from f32 at all (the blocks were used), and the two
// forms agree on a longer prompt as closely as they do in f32.
TEST_P(QuantizedTinyModels, StayWithinTheBoundOfF32) {
  const QuantizedModel &m = GetParam();
  std::string weights = kData + "/" + m.weights;
  if (!fs::exists(weights))
    GTEST_SKIP() << weights << " not found (the shared data folder is absent)";
  const std::string &q8 = artifactFor(q8Spec(m.spec));
  const std::string &f32 =
      artifactFor(RWKV_SPECS "/" + std::string(m.spec) + ".toml");
  std::vector<float> expected = expectedLogits(m.expected);
  Evaluated got = evaluate(q8, weights, kPrompt);
  ASSERT_EQ(got.recurrent.size(), expected.size());
  ASSERT_EQ(got.parallel.size(), expected.size());
  double rec = maxAbsDiff(got.recurrent, expected),
         par = maxAbsDiff(got.parallel, expected);
  std::printf("%s q8_0: max |logit - recorded| recurrent %.3g, parallel %.3g "
              "(bound %.3g)\n",
              m.spec, rec, par, m.bound);
  EXPECT_LE(rec, m.bound);
  EXPECT_LE(par, m.bound);
  EXPECT_GT(rec, 1e-4) << "no difference from f32: were the weights quantized?";
  EXPECT_EQ(argmax(got.recurrent), argmax(expected));

  Evaluated longQ8 = evaluate(q8, weights, kLongPrompt);
  Evaluated longF32 = evaluate(f32, weights, kLongPrompt);
  double forms = maxAbsDiff(longQ8.recurrent, longQ8.parallel);
  double formsF32 = maxAbsDiff(longF32.recurrent, longF32.parallel);
  double vsF32 = maxAbsDiff(longQ8.parallel, longF32.parallel);
  std::printf("%s q8_0, %zu tokens: recurrent vs parallel %.3g (f32: %.3g), "
              "vs f32 %.3g\n",
              m.spec, kLongPrompt.size(), forms, formsF32, vsF32);
  EXPECT_LE(forms, std::max(1e-4, 4 * formsF32));
  EXPECT_LE(vsF32, 2 * m.bound); // 55 tokens drift further than 3

  // The deviation is the quantization's, not the kernels': the blocks
  // decoded in registers compute what the f32 kernels compute on the
  // decoded values (an FP32 file's matrices rewritten as Q8_0 blocks, read
  // by the f32 artifact through the runtime's dequantizer, a path
  // independent of the generated code), up to summation order.
  if (std::string(m.weights).find("FP32") == std::string::npos)
    return; // toQ8_0 rewrites FP32 files only
  std::string dir = scratchDir(std::string("q8-decode-") + m.spec);
  int64_t blocks = 0;
  std::string q8bin = dir + "/q8.bin";
  writeFile(q8bin, toQ8_0(readFile(weights), blocks));
  ASSERT_GT(blocks, 0);
  Evaluated decoded = evaluate(q8, q8bin, kLongPrompt);
  Evaluated widened = evaluate(f32, q8bin, kLongPrompt);
  double rec2 = maxAbsDiff(decoded.recurrent, widened.recurrent);
  double par2 = maxAbsDiff(decoded.parallel, widened.parallel);
  std::printf("%s: q8_0 kernels vs f32 kernels on the decoded values: "
              "recurrent %.3g, parallel %.3g\n",
              m.spec, rec2, par2);
  EXPECT_LE(rec2, 1e-4);
  EXPECT_LE(par2, 1e-4);
  fs::remove_all(dir);
}

// Bounds: about twice the measured deviation (in parentheses; recurrent
// and parallel agree to 1e-5). Q8_0 rounds each weight to within
// d / 2 = max|w| / 254 of its 32-weight block (0.39% of the block's largest
// weight); through 12 layers of 64..128 channels (a block is a quarter to
// half of a row) that moved the logits by 0.35%..2.2% of their largest
// magnitude (2.6..15). The perplexity this costs is in docs/PERFORMANCE.md.
// The Q5_1 file is quantized twice (its Q5_1 values re-quantized to Q8_0).
const QuantizedModel kQuantizedModels[] = {
    {"rwkvcpp-tiny-4v0", "tiny-rwkv-4v0-660K-FP32.bin",
     "expected-logits-4v0-660K.bin", 0.05}, // (0.020)
    {"rwkvcpp-tiny-5v1", "tiny-rwkv-5v1-730K-FP32.bin",
     "expected-logits-5v1-730K.bin", 0.3}, // (0.160)
    {"rwkvcpp-tiny-5v2", "tiny-rwkv-5v2-730K-FP32.bin",
     "expected-logits-5v2-730K.bin", 0.15}, // (0.079)
    {"rwkvcpp-tiny-6v0-1m", "tiny-rwkv-6v0-1m-FP32.bin",
     "expected-logits-6v0-1m.bin", 0.1}, // (0.052)
    {"rwkvcpp-tiny-6v0-3m", "tiny-rwkv-6v0-3m-Q5_1.bin",
     "expected-logits-6v0-3m.bin", 0.25}, // (0.108)
    {"rwkvcpp-tiny-7v0", "tiny-rwkv-7v0-834K-FP32.bin",
     "expected-logits-7v0-834K.bin", 0.03}}; // (0.011)

static std::string
quantizedName(const ::testing::TestParamInfo<QuantizedModel> &info) {
  std::string name = info.param.spec + std::string("rwkvcpp-tiny-").size();
  for (char &ch : name)
    if (ch == '-')
      ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(RwkvCpp, QuantizedTinyModels,
                         ::testing::ValuesIn(kQuantizedModels), quantizedName);

// An rwkv.cpp Q8_0 .bin (written here by an independent implementation of
// ggml's quantizer) is used in place: its blocks are mapped, not widened,
// and give exactly the logits of the FP32 file quantized at load.
TEST(Quantized, RwkvCppQ8_0BinRunsInPlace) {
  if (!fs::exists(kTiny7))
    GTEST_SKIP() << kTiny7 << " not found (the shared data folder is absent)";
  std::string dir = scratchDir("q8-bin");
  std::string q8bin = dir + "/tiny-7v0-Q8_0.bin";
  int64_t blocks = 0;
  writeFile(q8bin, toQ8_0(readFile(kTiny7), blocks));
  ASSERT_GT(blocks, 0);
  const std::string &q8 = artifactFor(q8Spec("rwkvcpp-tiny-7v0"));
  Evaluated atLoad = evaluate(q8, kTiny7, kLongPrompt);
  Evaluated inPlace = evaluate(q8, q8bin, kLongPrompt);
  EXPECT_EQ(maxAbsDiff(atLoad.recurrent, inPlace.recurrent), 0.0);
  EXPECT_EQ(maxAbsDiff(atLoad.parallel, inPlace.parallel), 0.0);
  // Mapped: the FP32 file's vectors; the Q8_0 file's vectors and the
  // blocks of every Q8_0 parameter (all but the embedding and the LoRA).
  EXPECT_GT(inPlace.mappedBytes, atLoad.mappedBytes);
  fs::remove_all(dir);
}

// Batched decode over Q8_0 weights (register blocks over sequences): each
// sequence's logits are bit-identical to its own batch-1 run.
TEST(Quantized, BatchedDecodeMatchesSingleSequences) {
  if (!fs::exists(kTiny7))
    GTEST_SKIP() << kTiny7 << " not found (the shared data folder is absent)";
  const std::string &q8 = artifactFor(q8Spec("rwkvcpp-tiny-7v0"));
  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load(q8.c_str(), kTiny7.c_str(), &model), RWKV_OK)
      << rwkv_last_error();
  const int64_t vocab = rwkv_model_vocab_size(model), batch = 5, steps = 6;
  std::vector<std::vector<float>> single(batch);
  for (int64_t b = 0; b < batch; ++b) {
    rwkv_session *s = nullptr;
    ASSERT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK);
    single[b].resize(vocab);
    for (int64_t t = 0; t < steps; ++t) {
      int32_t token = kLongPrompt[b + t];
      ASSERT_EQ(rwkv_session_eval(s, &token, single[b].data()), RWKV_OK);
    }
    rwkv_session_free(s);
  }
  rwkv_session *s = nullptr;
  ASSERT_EQ(rwkv_session_create(model, batch, &s), RWKV_OK);
  std::vector<float> logits(batch * vocab);
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<int32_t> tokens(batch);
    for (int64_t b = 0; b < batch; ++b)
      tokens[b] = kLongPrompt[b + t];
    ASSERT_EQ(rwkv_session_eval(s, tokens.data(), logits.data()), RWKV_OK)
        << rwkv_last_error();
  }
  for (int64_t b = 0; b < batch; ++b)
    EXPECT_EQ(maxAbsDiff(std::vector<float>(logits.begin() + b * vocab,
                                            logits.begin() + (b + 1) * vocab),
                         single[b]),
              0.0)
        << "sequence " << b;
  rwkv_session_free(s);
  rwkv_model_free(model);
}

// A weight Q8_0 cannot hold (NaN, Inf, or a block whose scale overflows
// f16) is refused when quantizing at load, naming the tensor; NaN blocks
// mapped in place are named by --check-finite as the values they decode
// to.
TEST(Quantized, NonFiniteWeightsAreNamed) {
  if (!fs::exists(kTiny7))
    GTEST_SKIP() << kTiny7 << " not found (the shared data folder is absent)";
  std::string dir = scratchDir("q8-nan");
  const std::string key = "blocks.0.att.key.weight";
  auto poison = [&](const std::string &name, std::vector<float> &v) {
    if (name == key)
      v[70] = NAN; // row 1, input 6
  };
  int64_t blocks = 0;
  std::string f32bin = dir + "/nan-f32.bin", q8bin = dir + "/nan-q8.bin";
  writeFile(f32bin, toQ8_0(readFile(kTiny7), blocks, poison, false));
  writeFile(q8bin, toQ8_0(readFile(kTiny7), blocks, poison));
  const std::string &q8 = artifactFor(q8Spec("rwkvcpp-tiny-7v0"));

  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load(q8.c_str(), f32bin.c_str(), &model),
            RWKV_ERROR_NUMERIC);
  std::string msg = rwkv_last_error();
  EXPECT_NE(msg.find(f32bin + ": tensor '" + key + "'"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("holds NaN at [1, 6] (of parameter 'att.key' of "
                     "layer 0, read as q8_0"),
            std::string::npos)
      << msg;
  EXPECT_EQ(model, nullptr);

  ASSERT_EQ(rwkv_model_load(q8.c_str(), q8bin.c_str(), &model), RWKV_OK)
      << rwkv_last_error();
  rwkv_session *s = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK);
  ASSERT_EQ(rwkv_session_set_check_finite(s, 1), RWKV_OK);
  std::vector<float> logits(rwkv_model_vocab_size(model));
  EXPECT_EQ(rwkv_session_eval_sequence(s, kPrompt.data(),
                                       static_cast<int64_t>(kPrompt.size()),
                                       logits.data()),
            RWKV_ERROR_NUMERIC);
  msg = rwkv_last_error();
  // The NaN scale spoils its whole block: the first decoded NaN is [1, 0].
  EXPECT_NE(msg.find("its parameter 'att.key' (checkpoint tensor '" + key +
                     "') [64, 64] already holds NaN at [1, 0]"),
            std::string::npos)
      << msg;
  rwkv_session_free(s);
  rwkv_model_free(model);
  fs::remove_all(dir);
}
