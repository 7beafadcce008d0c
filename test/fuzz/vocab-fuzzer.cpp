//===- vocab-fuzzer.cpp - libFuzzer harness for the World vocab reader ----===//
//
// Feeds arbitrary bytes as a World vocabulary file (`<id> <Python str or
// bytes literal> <length>` lines) to Tokenizer::loadWorld, then encodes the
// input itself with any vocabulary it accepts and decodes the result and
// every id. A hostile vocabulary may only produce an Error.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Tokenizer.h"

#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path =
      "/tmp/rwkv-vocab-fuzz-" + std::to_string(::getpid());
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    auto tok = rwkvrt::Tokenizer::loadWorld(path);
    std::string_view text(reinterpret_cast<const char *>(data), size);
    std::vector<int32_t> ids = tok->encode(text);
    (void)tok->decode(ids);
    for (int64_t id = 0; id < tok->vocabSize() && id < 4096; ++id)
      (void)tok->tokenBytes(static_cast<int32_t>(id));
  } catch (const rwkvrt::Error &) {
  }
  return 0;
}
