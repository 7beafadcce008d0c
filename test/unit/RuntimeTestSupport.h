//===- RuntimeTestSupport.h - helpers of the runtime tests ------*- C++ -*-===//
//
// Compiling specs with the rwkvc binary (once per test process), scratch
// folders, file helpers and logits comparisons shared by the runtime tests.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_TEST_RUNTIMETESTSUPPORT_H
#define RWKV_TEST_RUNTIMETESTSUPPORT_H

#include "rwkv/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace rwkvtest {

namespace fs = std::filesystem;

inline const std::string kData = RWKV_SHARED_DATA "/rwkvcpp-tiny";
inline const std::string kTiny7 = kData + "/tiny-rwkv-7v0-834K-FP32.bin";
inline const std::string kExpected7 = kData + "/expected-logits-7v0-834K.bin";
inline const std::vector<int32_t> kPrompt = {34, 105,
                                             110}; // the bytes of `"in`

inline std::string scratchDir(const std::string &name) {
  fs::path dir =
      fs::temp_directory_path() /
      ("rwkv-runtime-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

/// Runs rwkvc on `spec` into `dir` (x86-64-v3 so the artifact runs on any
/// AVX2 host, plus `flags`); fails the test on error.
inline ::testing::AssertionResult compileSpec(const std::string &spec,
                                              const std::string &dir,
                                              const std::string &flags = "") {
  std::string cmd = std::string(RWKVC_PATH) + " '" + spec +
                    "' --target=x86-64-v3 " + flags + " -o '" + dir + "' 2>&1";
  if (std::system(cmd.c_str()) != 0)
    return ::testing::AssertionFailure() << "rwkvc failed: " << cmd;
  return ::testing::AssertionSuccess();
}

/// The artifact directory that `compile(dir)` fills for `key`, compiled
/// once per test process and removed when it exits.
template <typename Compile>
const std::string &cachedArtifact(const std::string &key,
                                  const std::string &dirName, Compile compile) {
  struct Cache : std::map<std::string, std::string> {
    ~Cache() {
      for (auto &kv : *this)
        fs::remove_all(kv.second);
    }
  };
  static Cache cache;
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  std::string dir = scratchDir(dirName);
  compile(dir);
  return cache.emplace(key, dir).first->second;
}

/// The artifact of `spec` (compiled once per test process, x86-64-v3).
inline const std::string &artifactFor(const std::string &spec) {
  return cachedArtifact(
      "cpu:" + spec, "artifact-" + fs::path(spec).stem().string(),
      [&](const std::string &dir) { EXPECT_TRUE(compileSpec(spec, dir)); });
}

inline std::vector<char> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

inline void writeFile(const std::string &path, const std::vector<char> &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Feeds `tokens` to a fresh batch-1 session; returns the last logits.
inline std::vector<float> run(rwkv_model *model,
                              const std::vector<int32_t> &tokens) {
  rwkv_session *s = nullptr;
  EXPECT_EQ(rwkv_session_create(model, 1, &s), RWKV_OK) << rwkv_last_error();
  std::vector<float> logits(static_cast<size_t>(rwkv_model_vocab_size(model)));
  for (int32_t t : tokens)
    EXPECT_EQ(rwkv_session_eval(s, &t, logits.data()), RWKV_OK)
        << rwkv_last_error();
  rwkv_session_free(s);
  return logits;
}

inline double maxAbsDiff(const std::vector<float> &a,
                         const std::vector<float> &b) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst;
}

inline size_t argmax(const std::vector<float> &v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

} // namespace rwkvtest

#endif // RWKV_TEST_RUNTIMETESTSUPPORT_H
