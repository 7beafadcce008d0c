//===- manifest-fuzzer.cpp - libFuzzer harness for manifest.json ----------===//
//
// Feeds arbitrary bytes as an artifact's manifest.json to readManifest (JSON
// parsing and every field's validation) and rebuilds the shape table of a
// manifest it accepts. A hostile manifest may only produce an Error: any
// crash, sanitizer report, hang or other exception is a bug.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Manifest.h"

#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string dir = [] {
    std::string d = "/tmp/rwkv-manifest-fuzz-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  std::FILE *f = std::fopen((dir + "/manifest.json").c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    rwkvrt::Manifest m = rwkvrt::readManifest(dir);
    (void)rwkvrt::shapeTable(m);
  } catch (const rwkvrt::Error &) {
  }
  return 0;
}
