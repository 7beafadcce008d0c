//===- GpuTests.cpp - GPU artifacts through the C API ---------------------===//
//
// GPU artifacts (rwkvc --target=sm_80,sm_90; building them needs the CUDA
// toolkit, running them a GPU):
//
//  * everywhere the toolkit exists: loading fails with RWKV_ERROR_DEVICE and
//    a message naming the artifact and the missing driver or GPU;
//  * everywhere the toolkit exists: the same artifacts, run by the test
//    driver libfake-cuda.so (FakeCuda.cpp), which executes the kernels'
//    host-compiled twins (rwkvc --gpu-emulation) with one fiber per GPU
//    thread, agree with the CPU artifact for every tiny model. This checks
//    the kernels' logic, the host code and the runtime's GPU sessions
//    without a GPU (not PTX code generation or the hardware);
//  * where a GPU is usable (the CUDA driver loads, cuInit succeeds and a
//    device exists): every tiny model on the GPU agrees with the CPU
//    artifact within 1e-4 (relative to the largest logit), in the
//    recurrent and the parallel form, for a batch of sequences and a ragged
//    batch. Without a GPU these tests are skipped with the reason.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <nlohmann/json.hpp>

using namespace rwkvtest;

namespace {

std::string cudaPath() {
  const char *env = std::getenv("CUDA_HOME");
  return env && *env ? env : "/usr/local/cuda";
}

bool toolkitAvailable() {
  return fs::exists(cudaPath() + "/bin/ptxas") &&
         fs::exists(cudaPath() + "/bin/fatbinary") &&
         fs::exists(cudaPath() + "/nvvm/libdevice/libdevice.10.bc");
}

#define REQUIRE_TOOLKIT()                                                      \
  if (!toolkitAvailable())                                                     \
  GTEST_SKIP() << "no CUDA toolkit at " << cudaPath()                          \
               << " (set CUDA_HOME): GPU artifacts cannot be built"

/// Why no GPU can run the tests ("" if one can): the driver the runtime
/// would load, cuInit and the device count.
std::string gpuUnavailableReason() {
  const char *env = std::getenv("RWKV_CUDA_DRIVER");
  std::string path = env && *env ? env : "libcuda.so.1";
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return "cannot load the CUDA driver " + path;
  auto init = reinterpret_cast<int (*)(unsigned)>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<int (*)(int *)>(dlsym(lib, "cuDeviceGetCount"));
  int n = 0;
  if (!init || !count || init(0) != 0 || count(&n) != 0 || n == 0)
    return "the CUDA driver reports no usable GPU";
  return "";
}

#define REQUIRE_GPU()                                                          \
  REQUIRE_TOOLKIT();                                                           \
  if (std::string why = gpuUnavailableReason(); !why.empty())                  \
  GTEST_SKIP() << "no GPU (" << why << "): GPU numerics are not checked"

/// The artifact rwkvc writes for `spec` with `flags` (a GPU target),
/// compiled once per test process.
const std::string &gpuArtifact(const std::string &spec,
                               const std::string &prefix,
                               const std::string &flags) {
  return cachedArtifact(prefix + spec, prefix + fs::path(spec).stem().string(),
                        [&](const std::string &dir) {
                          std::string cmd = std::string(RWKVC_PATH) + " '" +
                                            spec + "' " + flags +
                                            " --cuda-path='" + cudaPath() +
                                            "' -o '" + dir + "' 2>&1";
                          EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
                        });
}

/// The GPU artifact of `spec` for sm_80 and sm_90, compiled once per test
/// process.
const std::string &gpuArtifactFor(const std::string &spec) {
  return gpuArtifact(spec, "gpu-", "--target=sm_80,sm_90");
}

/// Sets an environment variable for the scope.
struct ScopedEnv {
  ScopedEnv(const char *name, const char *value) : name(name) {
    if (const char *old = std::getenv(name))
      saved = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (saved)
      setenv(name, saved->c_str(), 1);
    else
      unsetenv(name);
  }
  const char *name;
  std::optional<std::string> saved;
};

const std::string kSpec7 = RWKV_SPECS "/rwkvcpp-tiny-7v0.toml";

} // namespace

TEST(GpuArtifacts, LoadingWithoutTheDriverIsADeviceError) {
  REQUIRE_TOOLKIT();
  const std::string &dir = gpuArtifactFor(kSpec7);
  ScopedEnv driver("RWKV_CUDA_DRIVER", "/nonexistent/libcuda.so.1");
  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load_synthetic(dir.c_str(), 1, &model),
            RWKV_ERROR_DEVICE);
  EXPECT_EQ(model, nullptr);
  std::string message = rwkv_last_error();
  EXPECT_NE(message.find(dir + ": this artifact runs on NVIDIA GPUs, but "
                               "cannot load the CUDA driver "
                               "(/nonexistent/libcuda.so.1)"),
            std::string::npos)
      << message;
  // The same with a checkpoint: the device is checked before the weights.
  if (fs::exists(kTiny7)) {
    EXPECT_EQ(rwkv_model_load(dir.c_str(), kTiny7.c_str(), &model),
              RWKV_ERROR_DEVICE);
    EXPECT_NE(
        std::string(rwkv_last_error()).find("cannot load the CUDA driver"),
        std::string::npos);
  }
}

TEST(GpuArtifacts, WithoutAGpuTheDefaultDriverFailsCleanly) {
  REQUIRE_TOOLKIT();
  if (gpuUnavailableReason().empty())
    GTEST_SKIP() << "a GPU is present";
  const std::string &dir = gpuArtifactFor(kSpec7);
  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load_synthetic(dir.c_str(), 1, &model),
            RWKV_ERROR_DEVICE);
  std::string message = rwkv_last_error();
  EXPECT_NE(message.find("this artifact runs on NVIDIA GPUs, but "),
            std::string::npos)
      << message;
}

TEST(GpuArtifacts, ManifestRecordsTheDeviceCode) {
  REQUIRE_TOOLKIT();
  const std::string &dir = gpuArtifactFor(kSpec7);
  std::ifstream in(dir + "/manifest.json");
  nlohmann::json m = nlohmann::json::parse(in);
  EXPECT_EQ(m["abi_version"], RWKV_RUNTIME_ABI_VERSION);
  const nlohmann::json &device = m["device"];
  EXPECT_EQ(device["kind"], "cuda");
  EXPECT_EQ(device["chips"], nlohmann::json({"sm_80", "sm_90"}));
  for (const auto &image : device["images"]) {
    EXPECT_TRUE(fs::exists(dir + "/" + image["ptx"].get<std::string>()));
    EXPECT_GT(fs::file_size(dir + "/" + image["cubin"].get<std::string>()), 0u);
  }
  // Every kernel an entry point launches is described, with the registers
  // ptxas reported for both chips.
  std::map<std::string, nlohmann::json> kernels;
  for (const auto &k : device["kernels"])
    kernels[k["name"]] = k;
  int launches = 0;
  for (auto &[entry, names] : device["launches"].items())
    for (const auto &n : names) {
      ++launches;
      ASSERT_TRUE(kernels.count(n))
          << entry << " launches unknown kernel " << n;
      EXPECT_GT(kernels[n]["registers"]["sm_80"].get<int>(), 0) << n;
      EXPECT_GT(kernels[n]["registers"]["sm_90"].get<int>(), 0) << n;
    }
  EXPECT_GT(launches, 100);
  // The WKV kernel: one block per (head, sequence), a thread per value row.
  const nlohmann::json &wkv = kernels.at("time_mix_1_wkv7");
  EXPECT_EQ(wkv["block"], nlohmann::json({64, 1, 1}));
  EXPECT_EQ(wkv["shared_bytes"], 2 * 5 * 64 * 4);
  EXPECT_EQ(wkv["spill_bytes"]["sm_90"], 0);
}

TEST(GpuArtifacts, CpuArtifactsRunOnTheCpu) {
  const std::string &dir = artifactFor(kSpec7);
  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load_synthetic(dir.c_str(), 1, &model), RWKV_OK)
      << rwkv_last_error();
  EXPECT_STREQ(rwkv_model_device(model), "cpu");
  rwkv_model_free(model);
}

TEST(GpuArtifacts, Version2CpuManifestsStillLoad) {
  const std::string &dir = artifactFor(kSpec7);
  std::string copy = scratchDir("abi2");
  for (const auto &f : fs::directory_iterator(dir))
    fs::copy(f.path(), copy + "/" + f.path().filename().string());
  std::ifstream in(copy + "/manifest.json");
  nlohmann::json m = nlohmann::json::parse(in);
  in.close();
  m["abi_version"] = 2;
  m.erase("device");
  std::ofstream(copy + "/manifest.json") << m.dump(2);
  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load_synthetic(copy.c_str(), 1, &model), RWKV_OK)
      << rwkv_last_error();
  rwkv_model_free(model);

  m["abi_version"] = 3;
  m["device"] = {{"kind", "tpu"}};
  std::ofstream(copy + "/manifest.json") << m.dump(2);
  EXPECT_EQ(rwkv_model_load_synthetic(copy.c_str(), 1, &model),
            RWKV_ERROR_FORMAT);
  EXPECT_NE(std::string(rwkv_last_error())
                .find("manifest field 'device.kind' must be \"cpu\" or "
                      "\"cuda\", not \"tpu\""),
            std::string::npos)
      << rwkv_last_error();
  fs::remove_all(copy);
}

//===----------------------------------------------------------------------===//
// Numerics on a GPU
//===----------------------------------------------------------------------===//

namespace {

double relative(const std::vector<float> &a, const std::vector<float> &b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

struct Outputs {
  std::vector<float> logits, state;
};

/// Runs a batch of `batch` sequences (tokens[b][t]) in `mode` with parallel
/// chunks of `chunk`, in pieces of `piece` tokens.
Outputs runBatch(rwkv_model *model, const std::vector<int32_t> &tokens,
                 int64_t batch, rwkv_mode mode, int64_t chunk, int64_t piece) {
  rwkv_session *s = nullptr;
  Outputs out;
  EXPECT_EQ(rwkv_session_create(model, batch, &s), RWKV_OK)
      << rwkv_last_error();
  if (!s)
    return out;
  EXPECT_EQ(rwkv_session_set_mode(s, mode), RWKV_OK) << rwkv_last_error();
  EXPECT_EQ(rwkv_session_set_chunk_size(s, chunk), RWKV_OK);
  int64_t n = static_cast<int64_t>(tokens.size()) / batch;
  out.logits.resize(static_cast<size_t>(batch * rwkv_model_vocab_size(model)));
  for (int64_t at = 0; at < n; at += piece) {
    int64_t len = std::min(piece, n - at);
    std::vector<int32_t> part;
    for (int64_t b = 0; b < batch; ++b)
      part.insert(part.end(), tokens.begin() + b * n + at,
                  tokens.begin() + b * n + at + len);
    EXPECT_EQ(
        rwkv_session_eval_sequence(s, part.data(), len, out.logits.data()),
        RWKV_OK)
        << rwkv_last_error();
  }
  out.state.resize(static_cast<size_t>(rwkv_session_state_size(s)));
  EXPECT_EQ(rwkv_session_get_state(s, out.state.data()), RWKV_OK);
  rwkv_session_free(s);
  return out;
}

/// A ragged batch: sequence b gets lengths[b] tokens.
Outputs runRagged(rwkv_model *model, const std::vector<int32_t> &tokens,
                  const std::vector<int64_t> &lengths) {
  rwkv_session *s = nullptr;
  Outputs out;
  int64_t batch = static_cast<int64_t>(lengths.size());
  EXPECT_EQ(rwkv_session_create(model, batch, &s), RWKV_OK);
  if (!s)
    return out;
  out.logits.assign(static_cast<size_t>(batch * rwkv_model_vocab_size(model)),
                    0.0f);
  EXPECT_EQ(rwkv_session_eval_ragged(s, tokens.data(), lengths.data(),
                                     out.logits.data()),
            RWKV_OK)
      << rwkv_last_error();
  out.state.resize(static_cast<size_t>(rwkv_session_state_size(s)));
  EXPECT_EQ(rwkv_session_get_state(s, out.state.data()), RWKV_OK);
  rwkv_session_free(s);
  return out;
}

struct TinySpec {
  const char *spec;
  const char *weights;
};

class GpuModels : public ::testing::TestWithParam<TinySpec> {};

} // namespace

namespace {

/// How much checkAgainstCpu runs: sequences, tokens per sequence, the
/// parallel chunk and the piece size of the "parallel in pieces" case, and
/// the ragged batch's lengths.
struct Workload {
  int64_t batch, tokens, chunk, piece;
  std::vector<int64_t> ragged;
};

/// On a GPU.
const Workload kFull{3, 37, 16, 9, {5, 0, 12, 12}};
/// In the emulator (every GPU thread is a fiber): fewer tokens, the same
/// cases (several chunks, pieces that straddle chunks, a skipped sequence).
const Workload kEmulated{2, 9, 4, 3, {3, 0, 4, 4}};

/// Runs the CPU artifact and the GPU artifact `gpuDir` of `spec` on the same
/// batches and checks that they agree.
void checkAgainstCpu(const TinySpec &param, const std::string &gpuDir,
                     const Workload &w) {
  std::string spec = RWKV_SPECS "/" + std::string(param.spec) + ".toml";
  std::string weights = kData + "/" + param.weights;
  const std::string &cpuDir = artifactFor(spec);
  bool trained = *param.weights && fs::exists(weights);
  rwkv_model *cpu = nullptr, *gpu = nullptr;
  auto load = [&](const std::string &dir, rwkv_model **m) {
    return trained ? rwkv_model_load(dir.c_str(), weights.c_str(), m)
                   : rwkv_model_load_synthetic(dir.c_str(), 5, m);
  };
  ASSERT_EQ(load(cpuDir, &cpu), RWKV_OK) << rwkv_last_error();
  ASSERT_EQ(load(gpuDir, &gpu), RWKV_OK) << rwkv_last_error();
  EXPECT_NE(std::string(rwkv_model_device(gpu)).find("cuda:"),
            std::string::npos);
  const int64_t vocab = rwkv_model_vocab_size(cpu);

  const int64_t batch = w.batch, n = w.tokens;
  std::vector<int32_t> tokens(static_cast<size_t>(batch * n));
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  struct Case {
    const char *name;
    rwkv_mode mode;
    int64_t chunk, piece;
  };
  for (Case c :
       {Case{"recurrent", RWKV_MODE_RECURRENT, w.chunk, n},
        Case{"parallel", RWKV_MODE_PARALLEL, w.chunk, n},
        Case{"parallel in pieces", RWKV_MODE_PARALLEL, 4 * w.chunk, w.piece}}) {
    Outputs want = runBatch(cpu, tokens, batch, c.mode, c.chunk, c.piece);
    Outputs got = runBatch(gpu, tokens, batch, c.mode, c.chunk, c.piece);
    ASSERT_EQ(got.logits.size(), want.logits.size());
    EXPECT_LT(relative(got.logits, want.logits), 1e-4) << c.name;
    EXPECT_LT(relative(got.state, want.state), 1e-4) << c.name << " state";
  }
  // A ragged batch: sub-batches address their sequences' state in place.
  const std::vector<int64_t> &lengths = w.ragged;
  int64_t raggedTokens = 0;
  for (int64_t l : lengths)
    raggedTokens += l;
  std::vector<int32_t> ragged(tokens.begin(), tokens.begin() + raggedTokens);
  Outputs want = runRagged(cpu, ragged, lengths);
  Outputs got = runRagged(gpu, ragged, lengths);
  EXPECT_LT(relative(got.logits, want.logits), 1e-4) << "ragged";
  EXPECT_LT(relative(got.state, want.state), 1e-4) << "ragged state";
  rwkv_model_free(gpu);
  rwkv_model_free(cpu);
}

/// The GPU artifact of `spec` for sm_80 with the emulation library.
const std::string &emulatedArtifactFor(const std::string &spec) {
  return gpuArtifact(spec, "emu-", "--target=sm_80 --gpu-emulation");
}

/// Allocations the test driver has not seen freed.
int64_t fakeLiveAllocations() {
  void *lib = dlopen(RWKV_FAKE_CUDA_PATH, RTLD_NOW | RTLD_LOCAL);
  auto fn = lib ? reinterpret_cast<int64_t (*)()>(
                      dlsym(lib, "rwkvFakeCudaLiveAllocations"))
                : nullptr;
  int64_t n = fn ? fn() : -1;
  if (lib)
    dlclose(lib);
  return n;
}

class EmulatedGpuModels : public ::testing::TestWithParam<TinySpec> {};

} // namespace

TEST_P(GpuModels, AgreeWithTheCpuArtifact) {
  REQUIRE_GPU();
  std::string spec = RWKV_SPECS "/" + std::string(GetParam().spec) + ".toml";
  checkAgainstCpu(GetParam(), gpuArtifactFor(spec), kFull);
}

TEST_P(EmulatedGpuModels, AgreeWithTheCpuArtifact) {
  REQUIRE_TOOLKIT();
  std::string spec = RWKV_SPECS "/" + std::string(GetParam().spec) + ".toml";
  const std::string &dir = emulatedArtifactFor(spec);
  std::string kernels = dir + "/kernels.emu.so";
  ScopedEnv driver("RWKV_CUDA_DRIVER", RWKV_FAKE_CUDA_PATH);
  ScopedEnv emulation("RWKV_FAKE_CUDA_KERNELS", kernels.c_str());
  int64_t before = fakeLiveAllocations();
  checkAgainstCpu(GetParam(), dir, kEmulated);
  // Every device buffer of the sessions and the model was freed.
  EXPECT_EQ(fakeLiveAllocations(), before);
}

TEST(EmulatedGpu, DriverWithoutAGpuIsADeviceError) {
  REQUIRE_TOOLKIT();
  const std::string &dir = emulatedArtifactFor(kSpec7);
  ScopedEnv driver("RWKV_CUDA_DRIVER", RWKV_FAKE_CUDA_PATH);
  ScopedEnv devices("RWKV_FAKE_CUDA_DEVICES", "0");
  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load_synthetic(dir.c_str(), 1, &model),
            RWKV_ERROR_DEVICE);
  EXPECT_NE(std::string(rwkv_last_error())
                .find("this artifact runs on NVIDIA GPUs, but the CUDA "
                      "driver reports no GPU"),
            std::string::npos)
      << rwkv_last_error();
}

TEST(EmulatedGpu, GpuWithoutCodeInTheArtifactIsADeviceError) {
  REQUIRE_TOOLKIT();
  const std::string &dir = emulatedArtifactFor(kSpec7);
  ScopedEnv driver("RWKV_CUDA_DRIVER", RWKV_FAKE_CUDA_PATH);
  ScopedEnv cc("RWKV_FAKE_CUDA_CC", "75");
  rwkv_model *model = nullptr;
  EXPECT_EQ(rwkv_model_load_synthetic(dir.c_str(), 1, &model),
            RWKV_ERROR_DEVICE);
  EXPECT_NE(std::string(rwkv_last_error())
                .find("it has code for sm_80 and this GPU is cuda:0 "
                      "rwkv-mlir emulated GPU (sm_75); recompile with rwkvc "
                      "--target=sm_75"),
            std::string::npos)
      << rwkv_last_error();
}

// rwkv_session_set_check_finite on a GPU session: outputs and inputs are
// downloaded to find the first NaN and where it came from, with the message
// of a CPU session.
TEST(EmulatedGpu, CheckFiniteNamesWhereNaNsAppear) {
  REQUIRE_TOOLKIT();
  if (!fs::exists(kTiny7))
    GTEST_SKIP() << "test data not found: " << kTiny7;
  const std::string &dir = emulatedArtifactFor(kSpec7);
  std::string kernels = dir + "/kernels.emu.so";
  ScopedEnv driver("RWKV_CUDA_DRIVER", RWKV_FAKE_CUDA_PATH);
  ScopedEnv emulation("RWKV_FAKE_CUDA_KERNELS", kernels.c_str());
  std::vector<char> bytes = readFile(kTiny7);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bytes.data() + bytes.size() - 4, &nan, 4); // head.weight[255][63]
  std::string path = scratchDir("gpu-nan") + "/nan.bin";
  writeFile(path, bytes);
  rwkv_model *model = nullptr;
  ASSERT_EQ(rwkv_model_load(dir.c_str(), path.c_str(), &model), RWKV_OK)
      << rwkv_last_error();
  rwkv_session *s = nullptr;
  ASSERT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK) << rwkv_last_error();
  ASSERT_EQ(rwkv_session_set_check_finite(s, 1), RWKV_OK);
  ASSERT_EQ(rwkv_session_set_mode(s, RWKV_MODE_RECURRENT), RWKV_OK);
  std::vector<float> logits(256);
  EXPECT_EQ(rwkv_session_eval(s, &kPrompt[0], logits.data()),
            RWKV_ERROR_NUMERIC);
  EXPECT_EQ(std::string(rwkv_last_error()),
            "non-finite value (check-finite): entry point 'head' output "
            "activation 'logits' [1, 1, 256] is NaN at [0, 0, 255] (sequence "
            "0, token position 0 of this evaluation); its parameter 'head' "
            "(checkpoint tensor 'head.weight') [256, 64] already holds NaN at "
            "[255, 63]");
  rwkv_session_free(s);
  rwkv_model_free(model);
  fs::remove_all(fs::path(path).parent_path());
}

const TinySpec kTinySpecs[] = {
    {"rwkvcpp-tiny-4v0", "tiny-rwkv-4v0-660K-FP32.bin"},
    {"rwkvcpp-tiny-5v1", "tiny-rwkv-5v1-730K-FP32.bin"},
    {"rwkvcpp-tiny-5v2", "tiny-rwkv-5v2-730K-FP32.bin"},
    {"rwkvcpp-tiny-6v0-1m", "tiny-rwkv-6v0-1m-FP32.bin"},
    {"rwkvcpp-tiny-6v0-3m", "tiny-rwkv-6v0-3m-Q5_1.bin"},
    {"rwkvcpp-tiny-7v0", "tiny-rwkv-7v0-834K-FP32.bin"},
    // Written in the block language (RMSNorm, SwiGLU): synthetic weights.
    {"examples/rwkv7-transformer-block", ""},
};

/// "6v0_1m" for rwkvcpp-tiny-6v0-1m, "rwkv7_transformer_block" for
/// examples/rwkv7-transformer-block.
std::string tinyName(const ::testing::TestParamInfo<TinySpec> &info) {
  std::string name = info.param.spec;
  for (const char *prefix : {"rwkvcpp-tiny-", "examples/"})
    if (name.rfind(prefix, 0) == 0)
      name = name.substr(std::strlen(prefix));
  for (char &ch : name)
    if (ch == '-' || ch == '/')
      ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(TinyModels, GpuModels, ::testing::ValuesIn(kTinySpecs),
                         tinyName);
INSTANTIATE_TEST_SUITE_P(TinyModels, EmulatedGpuModels,
                         ::testing::ValuesIn(kTinySpecs), tinyName);
