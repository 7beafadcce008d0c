//===- state-fuzzer.cpp - libFuzzer harness for the state-file reader -----===//
//
// Feeds arbitrary bytes as a saved state (rwkv_session_save_state's format,
// runtime.h) to readStateFile for a fixed small model: 2 layers, states
// att_shift [4] and wkv [1, 2, 2], batch 1. A hostile state file may only
// produce an Error. The seed (corpus/state/) is a valid file for this model.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Manifest.h"
#include "Model.h"

#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const rwkvrt::Manifest model = [] {
    rwkvrt::Manifest m;
    m.path = "fuzz/manifest.json";
    m.specName = "state-fuzz";
    m.specSha256 = std::string(64, '0');
    m.nLayer = 2;
    rwkvrt::StateSpec shift, wkv;
    shift.name = "att_shift";
    shift.shape = {4};
    wkv.name = "wkv";
    wkv.shape = {1, 2, 2};
    m.states = {shift, wkv};
    return m;
  }();
  static const std::string path =
      "/tmp/rwkv-state-fuzz-" + std::to_string(::getpid());
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    (void)rwkvrt::readStateFile(path, model, /*batch=*/1, /*stateValues=*/16);
  } catch (const rwkvrt::Error &) {
  }
  return 0;
}
