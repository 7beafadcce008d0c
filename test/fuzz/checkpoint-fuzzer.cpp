//===- checkpoint-fuzzer.cpp - libFuzzer harness for the weight readers ---===//
//
// Feeds arbitrary bytes to Checkpoint::open (format detection, the rwkv.cpp
// .bin reader, the zip + restricted unpickler of .pth files, safetensors)
// and decodes every tensor it accepts. Any crash, sanitizer report, hang or
// uncaught exception is a bug: a hostile file may only produce an Error.
// Built and run by scripts/fuzz-checkpoint.sh (not part of ctest: it needs a
// clang with libFuzzer and AddressSanitizer).
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Checkpoint::open maps a file: write the input to one per process.
  static const std::string path =
      "/tmp/rwkv-checkpoint-fuzz-" + std::to_string(::getpid());
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    auto ck = rwkvrt::Checkpoint::open(path);
    for (auto &kv : ck->tensors())
      if (kv.second.elements() <= (int64_t{1} << 20)) // bound the memory
        ck->readF32(kv.second);
  } catch (const rwkvrt::Error &) {
  }
  return 0;
}
