//===- WeightFormatTests.cpp - .pth and safetensors through the C API -----===//
//
// The tiny trained RWKV-7 model of rwkv.cpp, rewritten by write-checkpoint.py
// (Python standard library only) as a BlinkDL .pth in the official layout
// and as fla-named safetensors, in f32, f16 and bf16. Each file must give
// the logits of the rwkv.cpp .bin it came from; foreign pickles and damaged
// files must be refused with errors that name the problem.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <sstream>

using namespace rwkvtest;

namespace {

const std::string kWriter = RWKV_TEST_TOOLS "/write-checkpoint.py";

/// A tiny model's [model] ... [channel_mix] tables (those of `base`, a
/// spec in specs/) followed by everything of `checkpointFrom` from its
/// first [sizes], [block.*] or [checkpoint] table on (none: the default
/// names): a real model's checkpoint mapping applied to the tiny model.
std::string
tinySpecWithCheckpoint(const std::string &name,
                       const std::string &checkpointFrom,
                       const std::string &base = "rwkvcpp-tiny-7v0") {
  std::vector<char> tinyBytes =
      readFile(std::string(RWKV_SPECS) + "/" + base + ".toml");
  std::string tiny(tinyBytes.begin(), tinyBytes.end());
  std::string model = tiny.substr(0, tiny.find("\n[checkpoint]") + 1);
  std::string oldName = "name = \"" + base + "\"";
  size_t at = model.find(oldName);
  model.replace(at, oldName.size(), "name = \"" + name + "\"");
  std::string checkpoint = "[checkpoint]\nformat = \"pth\"\n";
  if (!checkpointFrom.empty()) {
    std::vector<char> bytes = readFile(checkpointFrom);
    std::string text(bytes.begin(), bytes.end());
    size_t cut = text.find("\n[checkpoint]");
    for (const char *table : {"\n[sizes]", "\n[block."})
      cut = std::min(cut, text.find(table));
    checkpoint = text.substr(cut + 1);
  }
  static std::string dir = scratchDir("weight-format-specs");
  std::string path = dir + "/" + name + ".toml";
  std::ofstream(path) << model << checkpoint;
  return path;
}

/// Runs write-checkpoint.py on `from` (the tiny 7v0 .bin by default);
/// `args` are its options.
::testing::AssertionResult writeCheckpoint(const std::string &out,
                                           const std::string &args,
                                           const std::string &from = kTiny7) {
  std::string cmd = std::string(RWKV_PYTHON3) + " '" + kWriter + "' '" + from +
                    "' '" + out + "' " + args + " 2>&1";
  if (std::system(cmd.c_str()) != 0)
    return ::testing::AssertionFailure() << "failed: " << cmd;
  return ::testing::AssertionSuccess();
}

struct Loaded {
  rwkv_status status;
  std::string error;
  std::vector<float> logits;
  int64_t mappedBytes = 0;
};

Loaded load(const std::string &artifact, const std::string &weights) {
  Loaded r;
  rwkv_model *model = nullptr;
  r.status = rwkv_model_load(artifact.c_str(), weights.c_str(), &model);
  if (r.status != RWKV_OK) {
    r.error = rwkv_last_error();
    return r;
  }
  r.logits = run(model, kPrompt);
  r.mappedBytes = rwkv_model_mapped_weight_bytes(model);
  rwkv_model_free(model);
  return r;
}

class WeightFormats : public ::testing::Test {
protected:
  void SetUp() override {
    if (!fs::exists(kTiny7))
      GTEST_SKIP() << "test data not found: " << kTiny7
                   << " (the shared data folder is absent)";
    dir = scratchDir("weight-formats");
    rwkvcpp = artifactFor(RWKV_SPECS "/rwkvcpp-tiny-7v0.toml");
    official = artifactFor(tinySpecWithCheckpoint("tiny-7v0-official", ""));
    fla = artifactFor(tinySpecWithCheckpoint("tiny-7v0-fla", RWKV_SPECS
                                             "/rwkv7-goose-0.1b-fla.toml"));
    Loaded bin = load(rwkvcpp, kTiny7);
    ASSERT_EQ(bin.status, RWKV_OK) << bin.error;
    reference = bin.logits;
  }
  void TearDown() override { fs::remove_all(dir); }

  /// Writes a checkpoint with `args` (from `from`) and loads it into
  /// `artifact`.
  Loaded write(const std::string &file, const std::string &args,
               const std::string &artifact, const std::string &from = kTiny7) {
    std::string path = dir + "/" + file;
    EXPECT_TRUE(writeCheckpoint(path, args, from));
    return load(artifact, path);
  }

  std::string dir, rwkvcpp, official, fla;
  std::vector<float> reference; ///< logits from the rwkv.cpp .bin
};

TEST_F(WeightFormats, OfficialPthInF32MatchesTheBin) {
  Loaded pth = write("f32.pth", "--layout=official --dtype=f32", official);
  ASSERT_EQ(pth.status, RWKV_OK) << pth.error;
  EXPECT_LE(maxAbsDiff(pth.logits, reference), 1e-5);
  // torch aligns storages to 64 bytes: f32 tensors are used in place.
  EXPECT_GT(pth.mappedBytes, 0);
}

TEST_F(WeightFormats, StridedViewInPthIsGathered) {
  Loaded pth =
      write("strided.pth", "--layout=official --dtype=f32 --strided", official);
  ASSERT_EQ(pth.status, RWKV_OK) << pth.error;
  EXPECT_LE(maxAbsDiff(pth.logits, reference), 1e-5);
}

TEST_F(WeightFormats, RwkvCppNamesInPthAndSafetensors) {
  for (const char *format : {"pth", "safetensors"}) {
    Loaded l =
        write(std::string("rwkvcpp.") + format,
              std::string("--layout=rwkvcpp --format=") + format, rwkvcpp);
    ASSERT_EQ(l.status, RWKV_OK) << format << ": " << l.error;
    EXPECT_LE(maxAbsDiff(l.logits, reference), 1e-5) << format;
  }
}

// A checkpoint that numbers its blocks from 1 (rwkv1.*, ffn1.*, ln1a for
// block 0) binds through `{layer+1}` templates (the manifest lists each
// layer's tensor name; the runtime does no template arithmetic).
TEST_F(WeightFormats, BlocksNumberedFromOneBindThroughLayerExpressions) {
  std::string from1 = artifactFor(RWKV_TEST_INPUTS "/tiny-7v0-from1.toml");
  Loaded st =
      write("from1.safetensors", "--format=safetensors --layout=from1", from1);
  ASSERT_EQ(st.status, RWKV_OK) << st.error;
  EXPECT_LE(maxAbsDiff(st.logits, reference), 1e-5);
  // The same file under the official names does not fit that spec.
  Loaded wrong = write("official.safetensors",
                       "--format=safetensors --layout=official", from1);
  EXPECT_NE(wrong.status, RWKV_OK);
  EXPECT_NE(wrong.error.find("no tensor 'ln0.weight'"), std::string::npos)
      << wrong.error;
}

TEST_F(WeightFormats, FlaSafetensorsMatchTheBin) {
  Loaded st =
      write("fla.safetensors", "--format=safetensors --layout=fla", fla);
  ASSERT_EQ(st.status, RWKV_OK) << st.error;
  EXPECT_LE(maxAbsDiff(st.logits, reference), 1e-5);
  EXPECT_GT(st.mappedBytes, 0);
}

// bf16 files. The tiny model was trained in bf16, so its f32 values are
// bf16-exact; --jitter moves every weight by up to 2^-10 (relative) first so
// that bf16 rounding changes them. The runtime widens bf16 to f32 exactly,
// so a bf16 file must give bit for bit the logits of an f32 file holding
// the same bf16-rounded values: that is the whole error of the bf16 path.
// Against the unrounded weights, rounding enters to first order, so the
// logit error scales with the unit roundoff: 2^-8 for bf16 (8 significand
// bits) versus 2^-11 for f16 (11 bits), a factor of 8. The bound below is
// that factor times the measured f16 error, with a margin of 4 for the
// randomness of individual rounding errors.
TEST_F(WeightFormats, Bf16IsExactlyTheRoundedWeights) {
  const std::string jit = "--layout=official --jitter --dtype=";
  Loaded f32 = write("jitter-f32.pth", jit + "f32", official);
  Loaded rounded = write("jitter-rounded.pth", jit + "f32-bf16", official);
  Loaded pth = write("jitter-bf16.pth", jit + "bf16", official);
  Loaded st =
      write("jitter-bf16.safetensors",
            "--format=safetensors --layout=fla --jitter --dtype=bf16", fla);
  Loaded f16 = write("jitter-f16.pth", jit + "f16", official);
  for (Loaded *l : {&f32, &rounded, &pth, &st, &f16})
    ASSERT_EQ(l->status, RWKV_OK) << l->error;
  EXPECT_EQ(pth.logits, rounded.logits);
  EXPECT_EQ(st.logits, rounded.logits);
  EXPECT_EQ(pth.mappedBytes, 0); // bf16 is widened at load

  double errBf16 = maxAbsDiff(pth.logits, f32.logits);
  double errF16 = maxAbsDiff(f16.logits, f32.logits);
  double bound = 4 * 8 * errF16;
  RecordProperty("bf16_max_abs_error", std::to_string(errBf16));
  RecordProperty("f16_max_abs_error", std::to_string(errF16));
  EXPECT_GT(errBf16, 0.0) << "bf16 rounding should change the jittered "
                             "weights";
  EXPECT_LE(errBf16, bound) << "f16 error " << errF16;
  EXPECT_EQ(argmax(pth.logits), argmax(f32.logits));
  // The unjittered bf16 file is the .bin exactly (bf16-exact weights).
  Loaded plain = write("bf16.pth", "--layout=official --dtype=bf16", official);
  ASSERT_EQ(plain.status, RWKV_OK) << plain.error;
  EXPECT_LE(maxAbsDiff(plain.logits, reference), 1e-5);
}

// Kernels that read bf16 projection weights (precision.weights = "bf16"):
// a bf16 file is used in place, an f32 file is rounded to bf16 at load, and
// since the kernels widen bf16 exactly and accumulate in f32 in the same
// order, the logits equal the f32 kernels' on the same rounded values, bit
// for bit.
TEST_F(WeightFormats, Bf16KernelsReadBf16WeightsInPlace) {
  std::vector<char> bytes = readFile(RWKV_SPECS "/rwkvcpp-tiny-7v0.toml");
  std::string text(bytes.begin(), bytes.end());
  size_t at = text.find("weights = \"f32\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::strlen("weights = \"f32\""), "weights = \"bf16\"");
  at = text.find("name = \"rwkvcpp-tiny-7v0\"");
  text.replace(at, std::strlen("name = \"rwkvcpp-tiny-7v0\""),
               "name = \"tiny-7v0-bf16\"");
  std::string spec = dir + "/tiny-7v0-bf16.toml";
  std::ofstream(spec) << text;
  std::string bf16Artifact = scratchDir("artifact-bf16");
  ASSERT_TRUE(compileSpec(spec, bf16Artifact));

  // The tiny model's weights are bf16-exact: the logits of the f32 kernels,
  // up to summation order (see below).
  Loaded bin = load(bf16Artifact, kTiny7);
  ASSERT_EQ(bin.status, RWKV_OK) << bin.error;
  EXPECT_LE(maxAbsDiff(bin.logits, reference), 2e-6);
  Loaded st =
      write("rwkvcpp-bf16.safetensors",
            "--layout=rwkvcpp --format=safetensors --dtype=bf16", bf16Artifact);
  ASSERT_EQ(st.status, RWKV_OK) << st.error;
  EXPECT_EQ(st.logits, bin.logits);
  // Every projection matrix is mapped (the vectors stay f32, converted).
  EXPECT_GT(st.mappedBytes, 0);

  // Jittered (no longer bf16-exact) weights: rounding at load is rounding
  // the projection matrices in the file. Not bit for bit: the one-token bf16
  // kernels keep 4 partial sums along K where the f32 kernels keep one, so
  // the same products are added in another order (f32 roundoff, ~1e-7 here,
  // against ~1e-3 for the bf16 rounding itself).
  Loaded loadRounded =
      write("jitter-f32.safetensors",
            "--layout=rwkvcpp --format=safetensors --jitter", bf16Artifact);
  Loaded fileRounded =
      write("jitter-rounded.safetensors",
            "--layout=rwkvcpp --format=safetensors --jitter --round-matrices",
            rwkvcpp);
  Loaded unrounded =
      write("jitter-f32-ref.safetensors",
            "--layout=rwkvcpp --format=safetensors --jitter", rwkvcpp);
  ASSERT_EQ(loadRounded.status, RWKV_OK) << loadRounded.error;
  ASSERT_EQ(fileRounded.status, RWKV_OK) << fileRounded.error;
  ASSERT_EQ(unrounded.status, RWKV_OK) << unrounded.error;
  EXPECT_LE(maxAbsDiff(loadRounded.logits, fileRounded.logits), 2e-6);
  EXPECT_GT(maxAbsDiff(loadRounded.logits, unrounded.logits), 1e-4)
      << "rounding had no effect";
  fs::remove_all(bf16Artifact);
}

TEST_F(WeightFormats, ForeignPicklesAreRefused) {
  struct Case {
    const char *evil, *expected;
  } cases[] = {
      {"global", "global 'os.system' is not allowed in a state_dict"},
      {"opcode", "pickle opcode 0x47 (BINFLOAT) is not allowed"},
      {"storage", "tensor storage type 'torch.DoubleStorage' is not "
                  "supported"},
  };
  struct Sizes {
    const char *evil, *expected;
    rwkv_status status = RWKV_ERROR_FORMAT;
  } sizes[] = {
      // Byte counts that overflow 64 bits are named, not wrapped.
      {"numel", ": storage 'archive/data/0' claims 4611686018427387904 f32 "
                "elements"},
      {"shape", ": tensor 'x' [4611686018427387904, 4611686018427387904] f32 "
                "has more bytes than fit in 64 bits"},
      // Refused by its size before 2^40 elements are gathered.
      {"broadcast",
       ": tensor 'emb.weight' [1099511627776] f32 does not fit "
       "parameter 'emb': expected [256, 64]",
       RWKV_ERROR_MISMATCH},
  };
  for (const Sizes &c : sizes) {
    std::string path = dir + "/evil-" + c.evil + ".pth";
    std::string cmd = std::string(RWKV_PYTHON3) + " '" + kWriter + "' '" +
                      path + "' --evil=" + c.evil;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Loaded l = load(official, path);
    EXPECT_EQ(l.status, c.status) << c.evil;
    EXPECT_NE(l.error.find(path + c.expected), std::string::npos)
        << c.evil << ": " << l.error;
  }
  for (const Case &c : cases) {
    std::string path = dir + "/evil-" + c.evil + ".pth";
    std::string cmd = std::string(RWKV_PYTHON3) + " '" + kWriter + "' '" +
                      path + "' --evil=" + c.evil;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Loaded l = load(official, path);
    EXPECT_EQ(l.status, RWKV_ERROR_FORMAT) << c.evil;
    EXPECT_NE(l.error.find(c.expected), std::string::npos)
        << c.evil << ": " << l.error;
    EXPECT_NE(l.error.find(path + ": archive/data.pkl at byte "),
              std::string::npos)
        << l.error;
  }
}

TEST_F(WeightFormats, DamagedFilesAreRefused) {
  std::string pth = dir + "/cut.pth", st = dir + "/cut.safetensors";
  ASSERT_TRUE(writeCheckpoint(pth, "--layout=official"));
  ASSERT_TRUE(writeCheckpoint(st, "--format=safetensors --layout=fla"));
  std::vector<char> bytes = readFile(pth);
  // Without its end the archive has no central directory.
  writeFile(pth, std::vector<char>(bytes.begin(), bytes.end() - 500));
  Loaded l = load(official, pth);
  EXPECT_EQ(l.status, RWKV_ERROR_FORMAT);
  EXPECT_NE(l.error.find(pth + ": zip archive: no end-of-central-directory"),
            std::string::npos)
      << l.error;

  bytes = readFile(st);
  writeFile(st, std::vector<char>(bytes.begin(), bytes.end() - 1000));
  l = load(fla, st);
  EXPECT_EQ(l.status, RWKV_ERROR_FORMAT);
  EXPECT_NE(l.error.find("truncated: tensor 'lm_head.weight' [256, 64] f32"),
            std::string::npos)
      << l.error;

  // A header that is not JSON (byte 8 opens the object).
  bytes[9] = '#';
  writeFile(st, bytes);
  l = load(fla, st);
  EXPECT_EQ(l.status, RWKV_ERROR_FORMAT);
  EXPECT_NE(l.error.find("safetensors header is not valid JSON"),
            std::string::npos)
      << l.error;

  // The right format with the wrong names: the spec's template is named.
  ASSERT_TRUE(writeCheckpoint(st, "--format=safetensors --layout=fla"));
  l = load(official, st);
  EXPECT_EQ(l.status, RWKV_ERROR_MISMATCH);
  EXPECT_NE(l.error.find("no tensor 'emb.weight'"), std::string::npos)
      << l.error;
}

/// Rewrites the safetensors file `path`: `edit` changes its header, which is
/// written back padded with spaces to a multiple of 8 bytes plus 8 (so a
/// length one byte short still ends in padding), with the length field
/// `lengthDelta` off; the data is kept.
void rewriteSafetensors(const std::string &path,
                        const std::function<void(nlohmann::json &)> &edit,
                        int64_t lengthDelta = 0) {
  std::vector<char> bytes = readFile(path);
  uint64_t len;
  std::memcpy(&len, bytes.data(), 8);
  nlohmann::json header =
      nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + len);
  edit(header);
  std::string text = header.dump();
  text += std::string(8 + (8 - (8 + text.size()) % 8) % 8, ' ');
  uint64_t newLen = text.size() + lengthDelta;
  std::vector<char> out(8);
  std::memcpy(out.data(), &newLen, 8);
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), bytes.begin() + 8 + len, bytes.end());
  writeFile(path, out);
}

// Damaged safetensors that once loaded and ran: a header length one byte
// off (every tensor shifted by a byte: all logits NaN), tensors that
// overlap, tensors that all start at offset 0. The safetensors rules (the
// data is tiled by the tensors, in order, without holes or overlaps) refuse
// each with a message naming the file and the tensors.
TEST_F(WeightFormats, DamagedSafetensorsHeadersAreRefused) {
  std::string st = dir + "/damaged.safetensors";
  auto expectRefused = [&](const std::string &what, const std::string &text) {
    Loaded l = load(fla, st);
    EXPECT_EQ(l.status, RWKV_ERROR_FORMAT) << what;
    EXPECT_EQ(l.error.rfind(st + ": ", 0), 0u) << what << ": " << l.error;
    EXPECT_NE(l.error.find(text), std::string::npos) << what << ": " << l.error;
  };
  auto fresh = [&] {
    ASSERT_TRUE(writeCheckpoint(st, "--format=safetensors --layout=fla"));
  };
  // The rewritten (re-padded) file itself loads and matches.
  fresh();
  rewriteSafetensors(st, [](nlohmann::json &) {});
  Loaded ok = load(fla, st);
  ASSERT_EQ(ok.status, RWKV_OK) << ok.error;
  EXPECT_LE(maxAbsDiff(ok.logits, reference), 1e-5);

  fresh();
  rewriteSafetensors(
      st, [](nlohmann::json &) {}, -1);
  expectRefused("length - 1", "safetensors tensors cover ");
  expectRefused("length - 1", "(1 unindexed bytes at the end: is the header "
                              "length at bytes 0-7 wrong?)");
  fresh();
  rewriteSafetensors(
      st, [](nlohmann::json &) {}, +1);
  expectRefused("length + 1", "safetensors header (bytes 8-");
  expectRefused("length + 1", "must be a JSON object padded with spaces, but "
                              "its last non-space byte");

  // lm_head.weight moved 4 bytes back, into the tensor before it.
  fresh();
  std::string before;
  rewriteSafetensors(st, [&](nlohmann::json &h) {
    nlohmann::json &o = h["lm_head.weight"]["data_offsets"];
    uint64_t begin = o[0].get<uint64_t>();
    for (auto &item : h.items())
      if (item.key() != "__metadata__" &&
          item.value()["data_offsets"][1].get<uint64_t>() == begin)
        before = item.key();
    o = {begin - 4, o[1].get<uint64_t>() - 4};
  });
  ASSERT_FALSE(before.empty());
  expectRefused("overlap", "safetensors tensors overlap: 'lm_head.weight' [");
  expectRefused("overlap", "] begins inside '" + before + "' [");

  // Every tensor at offset 0.
  fresh();
  rewriteSafetensors(st, [](nlohmann::json &h) {
    for (auto &item : h.items())
      if (item.key() != "__metadata__") {
        nlohmann::json &o = item.value()["data_offsets"];
        o = {0, o[1].get<uint64_t>() - o[0].get<uint64_t>()};
      }
  });
  expectRefused("all at 0", "safetensors tensors overlap: ");
  expectRefused("all at 0", " begins inside ");
}

} // namespace

namespace {

/// Little-endian stores into a byte buffer.
template <typename T> void poke(std::vector<char> &bytes, size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof(T));
}
template <typename T> T peek(const std::vector<char> &bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof(T));
  return v;
}

} // namespace

// GGUF files written by write-checkpoint.py (GGUF v3, the .bin's tensor
// names, 32-byte alignment) give the .bin's logits; aligned f32 tensors are
// used in place from the mapped file.
TEST_F(WeightFormats, GgufMatchesTheBin) {
  Loaded f32 = write("f32.gguf", "--layout=rwkvcpp --format=gguf", rwkvcpp);
  ASSERT_EQ(f32.status, RWKV_OK) << f32.error;
  EXPECT_LE(maxAbsDiff(f32.logits, reference), 1e-5);
  EXPECT_GT(f32.mappedBytes, 0);
  // bf16 tensors widen to exactly the rounded values.
  Loaded bf16 = write("bf16.gguf",
                      "--layout=rwkvcpp --format=gguf --dtype=bf16", rwkvcpp);
  Loaded rounded =
      write("f32-bf16.gguf", "--layout=rwkvcpp --format=gguf --dtype=f32-bf16",
            rwkvcpp);
  ASSERT_EQ(bf16.status, RWKV_OK) << bf16.error;
  ASSERT_EQ(rounded.status, RWKV_OK) << rounded.error;
  EXPECT_LE(maxAbsDiff(bf16.logits, rounded.logits), 1e-6);
  Loaded f16 =
      write("f16.gguf", "--layout=rwkvcpp --format=gguf --dtype=f16", rwkvcpp);
  ASSERT_EQ(f16.status, RWKV_OK) << f16.error;
  EXPECT_LE(maxAbsDiff(f16.logits, reference), 1e-2);
  EXPECT_GT(maxAbsDiff(f16.logits, reference), 0.0) << "f16 was not decoded";
}

// llama.cpp's RWKV-7 GGUF layout (token_embd, blk.N.time_mix_*, the six
// mixes fused in time_mix_lerp_fused, r_k flattened, dummy v LoRA in block
// 0) binds through the checkpoint table of specs/rwkv7-goose-0.1b-gguf.toml
// applied to the tiny model. F32 gives the .bin's logits; Q8_0 and Q4_0
// files give exactly the logits of an f32 file holding the values their
// blocks decode to, and stay within the bounds stated here of the f32
// model (measured: 0.012 and 0.196 on logits of magnitude up to 4.3).
TEST_F(WeightFormats, LlamaCppRwkv7GgufMatchesTheBin) {
  std::string gguf = artifactFor(tinySpecWithCheckpoint(
      "tiny-7v0-gguf", RWKV_SPECS "/rwkv7-goose-0.1b-gguf.toml"));
  const std::string layout = "--layout=llamacpp --format=gguf";
  Loaded f32 = write("l7.gguf", layout, gguf);
  ASSERT_EQ(f32.status, RWKV_OK) << f32.error;
  EXPECT_LE(maxAbsDiff(f32.logits, reference), 1e-5);
  EXPECT_GT(f32.mappedBytes, 0);
  Loaded f16 = write("l7-f16.gguf", layout + " --dtype=f16", gguf);
  ASSERT_EQ(f16.status, RWKV_OK) << f16.error;
  EXPECT_LE(maxAbsDiff(f16.logits, reference), 1e-2);

  struct {
    const char *type;
    double bound;
  } quantized[] = {{"q8_0", 0.03}, {"q4_0", 0.4}};
  for (auto [type, bound] : quantized) {
    std::string q = std::string(" --quantize=") + type;
    Loaded blocks =
        write(std::string("l7-") + type + ".gguf", layout + q, gguf);
    Loaded widened = write(std::string("l7-") + type + "-f32.gguf",
                           layout + q + " --dequantized", gguf);
    ASSERT_EQ(blocks.status, RWKV_OK) << type << ": " << blocks.error;
    ASSERT_EQ(widened.status, RWKV_OK) << type << ": " << widened.error;
    EXPECT_LE(maxAbsDiff(blocks.logits, widened.logits), 1e-5) << type;
    double d = maxAbsDiff(blocks.logits, reference);
    EXPECT_LE(d, bound) << type;
    EXPECT_GT(d, 0.0) << type << " was not quantized";
  }

  // A q8_0 artifact (precision.weights) reads the Q8_0 file's blocks in
  // place (more of the file mapped than by the f32 artifact, which widens
  // them) and its kernels decode them as ggml does: the f32 file of the
  // decoded values through the f32 artifact, up to summation order.
  std::string q8Spec = tinySpecWithCheckpoint("tiny-7v0-gguf-q8_0", RWKV_SPECS
                                              "/rwkv7-goose-0.1b-gguf.toml");
  {
    std::vector<char> bytes = readFile(q8Spec);
    std::string text(bytes.begin(), bytes.end());
    const std::string f32Weights = "weights = \"f32\"";
    text.replace(text.find(f32Weights), f32Weights.size(),
                 "weights = \"q8_0\"");
    std::ofstream(q8Spec) << text;
  }
  std::string q8 = artifactFor(q8Spec);
  Loaded inPlace = load(q8, dir + "/l7-q8_0.gguf");
  Loaded widenedF32 = load(gguf, dir + "/l7-q8_0-f32.gguf");
  Loaded widenedBlocks = load(gguf, dir + "/l7-q8_0.gguf");
  ASSERT_EQ(inPlace.status, RWKV_OK) << inPlace.error;
  ASSERT_EQ(widenedF32.status, RWKV_OK) << widenedF32.error;
  EXPECT_LE(maxAbsDiff(inPlace.logits, widenedF32.logits), 1e-5);
  EXPECT_GT(inPlace.mappedBytes, widenedBlocks.mappedBytes);
}

// llama.cpp's RWKV-6 GGUF layout, from the tiny 6v0 .bin, with the
// rescaling llama.cpp's converter bakes in (time_mix_output and
// channel_mix_value of block b divided by 2^(b // 6)): the spec's block
// halves h after every 6th block, as llama.cpp does, which gives the .bin's
// logits up to the layer norms' eps (measured 4.8e-4 on logits up to 17.6).
// [checkpoint.metadata] refuses files converted without or with another
// rescaling, and files of another family.
TEST_F(WeightFormats, LlamaCppRwkv6GgufUndoesTheRescaling) {
  const std::string tiny6 = kData + "/tiny-rwkv-6v0-1m-FP32.bin";
  std::string bin6 = artifactFor(RWKV_SPECS "/rwkvcpp-tiny-6v0-1m.toml");
  Loaded bin = load(bin6, tiny6);
  ASSERT_EQ(bin.status, RWKV_OK) << bin.error;
  std::string gguf6 = artifactFor(tinySpecWithCheckpoint(
      "tiny-6v0-gguf", RWKV_SPECS "/rwkv6-finch-1b6-gguf.toml",
      "rwkvcpp-tiny-6v0-1m"));
  const std::string layout = "--layout=llamacpp --format=gguf";
  Loaded ok = write("l6.gguf", layout + " --rescale-every=6", gguf6, tiny6);
  ASSERT_EQ(ok.status, RWKV_OK) << ok.error;
  EXPECT_LE(maxAbsDiff(ok.logits, bin.logits), 2e-3);

  Loaded none = write("l6-none.gguf", layout, gguf6, tiny6);
  EXPECT_EQ(none.status, RWKV_ERROR_MISMATCH);
  EXPECT_NE(none.error.find("l6-none.gguf: no metadata "
                            "'rwkv6.rescale_every_n_layers', but the model "
                            "compiled from spec 'tiny-6v0-gguf' expects 6 "
                            "(an integer)"),
            std::string::npos)
      << none.error;
  Loaded three =
      write("l6-3.gguf", layout + " --rescale-every=3", gguf6, tiny6);
  EXPECT_EQ(three.status, RWKV_ERROR_MISMATCH);
  EXPECT_NE(three.error.find("metadata 'rwkv6.rescale_every_n_layers' is 3 "
                             "(an integer), but the model compiled from spec "
                             "'tiny-6v0-gguf' expects 6 (an integer)"),
            std::string::npos)
      << three.error;

  std::string gguf7 = artifactFor(tinySpecWithCheckpoint(
      "tiny-7v0-gguf", RWKV_SPECS "/rwkv7-goose-0.1b-gguf.toml"));
  Loaded family = load(gguf7, dir + "/l6.gguf");
  EXPECT_EQ(family.status, RWKV_ERROR_MISMATCH);
  EXPECT_NE(family.error.find("metadata 'general.architecture' is 'rwkv6' (a "
                              "string), but the model compiled from spec "
                              "'tiny-7v0-gguf' expects 'rwkv7' (a string)"),
            std::string::npos)
      << family.error;
}

TEST_F(WeightFormats, DamagedGgufIsRefused) {
  std::string path = dir + "/good.gguf";
  ASSERT_TRUE(writeCheckpoint(path, "--layout=rwkvcpp --format=gguf"));
  const std::vector<char> good = readFile(path);
  // The writer's layout: header (24 bytes), general.alignment (key at 24,
  // value at 53), general.architecture, then the tensor infos at 102.
  const size_t infos = 102;
  uint64_t nameLen = peek<uint64_t>(good, infos);
  size_t rankAt = infos + 8 + nameLen;
  uint32_t rank = peek<uint32_t>(good, rankAt);
  size_t typeAt = rankAt + 4 + 8 * rank, offsetAt = typeAt + 4;
  ASSERT_EQ(peek<uint32_t>(good, 53), 32u);
  ASSERT_EQ(peek<uint64_t>(good, offsetAt), 0u);

  auto expectRefused = [&](const std::function<void(std::vector<char> &)> &edit,
                           const std::string &message) {
    std::vector<char> bytes = good;
    edit(bytes);
    std::string bad = dir + "/bad.gguf";
    writeFile(bad, bytes);
    Loaded l = load(rwkvcpp, bad);
    EXPECT_EQ(l.status, RWKV_ERROR_FORMAT) << message;
    EXPECT_NE(l.error.find(bad + ": "), std::string::npos) << l.error;
    EXPECT_NE(l.error.find(message), std::string::npos) << l.error;
  };
  expectRefused([](auto &b) { poke<uint32_t>(b, 4, 1); },
                "GGUF version 1 at byte 4; expected 2 or 3");
  expectRefused([](auto &b) { poke<uint64_t>(b, 8, uint64_t(1) << 40); },
                "more than a file of");
  expectRefused([](auto &b) { poke<uint64_t>(b, 24, uint64_t(1) << 40); },
                "the key of metadata pair 0 at byte 24 has a length of "
                "1099511627776 bytes, past the end of the file");
  expectRefused([](auto &b) { poke<uint32_t>(b, 53, 3); },
                "'general.alignment' (byte 24) is 3; expected a power of two");
  expectRefused([](auto &b) { b.resize(90); },
                "339 tensors and 2 metadata pairs (bytes 8-23), more than a "
                "file of 90 bytes can hold");
  expectRefused([](auto &b) { b.resize(b.size() / 2); }, "truncated: tensor");
  expectRefused([&](auto &b) { poke<uint32_t>(b, typeAt, 12); },
                "has ggml type 12 (q4_K); supported: f32, f16, bf16");
  expectRefused([&](auto &b) { poke<uint32_t>(b, rankAt, 5); },
                "5 dimensions; expected 1 to 4");
  expectRefused([&](auto &b) { poke<uint64_t>(b, offsetAt, 4); },
                "data offset 4, not a multiple of the alignment 32");
  expectRefused([&](auto &b) { poke<uint64_t>(b, offsetAt, 32); }, "overlap");
  expectRefused(
      [&](auto &b) { poke<uint64_t>(b, offsetAt, uint64_t(1) << 62); },
      "truncated: tensor");
  // An array count the file cannot hold (here 2^62 f64 elements), as the
  // only metadata pair of a header with no tensors.
  expectRefused(
      [](auto &b) {
        b.assign(49, 0);
        std::memcpy(b.data(), "GGUF", 4);
        poke<uint32_t>(b, 4, 3);
        poke<uint64_t>(b, 16, 1);
        poke<uint64_t>(b, 24, 1);
        b[32] = 'x';
        poke<uint32_t>(b, 33, 9);
        poke<uint32_t>(b, 37, 12);
        poke<uint64_t>(b, 41, uint64_t(1) << 62);
      },
      "metadata 'x' at byte 24 is an array of 4611686018427387904 elements "
      "of type 12, more than the 0 bytes left in the file can hold");
}
